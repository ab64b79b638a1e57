sluice::pipeline! {
    query Windows from Rate {
        group by window(timestamp, 10 seconds);
        aggregate n = count();
        select begin = window.begin, n;
    }
}

fn main() {}
