sluice::pipeline! {
    schema Trip { start: Timestamp, stop: Timestamp, car: String }

    query Unique from Trip {
        watermark start delay 10 seconds;
        watermark stop delay 10 seconds;
        drop duplicates (car);
    }
}

fn main() {}
