sluice::pipeline! {
    query Windows from Rate {
        watermark timestamp delay 30 secnds;
        group by window(timestamp, 10 seconds);
        aggregate n = count();
    }
}

fn main() {}
