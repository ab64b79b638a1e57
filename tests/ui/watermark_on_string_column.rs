sluice::pipeline! {
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    query Counts from Event {
        watermark key delay 30 seconds;
        group by window(ts, 10 seconds);
        aggregate count = count(*);
    }
}

fn main() {}
