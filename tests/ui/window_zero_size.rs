sluice::pipeline! {
    query Windows from Rate {
        group by window(timestamp, 0 seconds);
        aggregate n = count();
    }
}

fn main() {}
