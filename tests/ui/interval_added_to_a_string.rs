sluice::pipeline! {
    schema Event { ts: Timestamp, key: String, value: f64 }

    query Later from Event {
        select later = key + interval 20 seconds;
    }
}

fn main() {}
