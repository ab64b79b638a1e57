sluice::pipeline! {
    query Late from Rate {
        watermark value delay 30 seconds;
        select value;
    }
}

fn main() {}
