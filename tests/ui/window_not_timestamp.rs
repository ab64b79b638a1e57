sluice::pipeline! {
    query Windows from Rate {
        group by window(value, 10 seconds);
        aggregate n = count();
    }
}

fn main() {}
