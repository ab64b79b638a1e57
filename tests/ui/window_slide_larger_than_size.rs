sluice::pipeline! {
    query Windows from Rate {
        group by window(timestamp, 10 seconds, 20 seconds);
        aggregate n = count();
    }
}

fn main() {}
