sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temp: Option<f64> }

    query Readings from Kafka {
        group by topic;
        aggregate n = count();
        parse value as json Reading;
    }
}

fn main() {}
