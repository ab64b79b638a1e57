sluice::pipeline! {
    query Windows from Rate {
        group by window(timestamp, 10 seconds, 0s);
        aggregate n = count();
    }
}

fn main() {}
