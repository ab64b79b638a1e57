// The slide error only: `window.start` and `window.end` after it still resolve.
sluice::pipeline! {
    query Windows from Rate {
        group by window(timestamp, 10 seconds, 20 seconds);
        aggregate n = count();
        select start = window.start, end = window.end, n;
    }
}

fn main() {}
