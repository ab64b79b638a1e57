sluice::pipeline! {
    query Late from Rate {
        watermark timestamp;
        group by window(timestamp, 10 seconds);
        aggregate n = count();
    }
}

fn main() {}
