sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temp: Option<f64> }

    query Readings from Kafka {
        parse value as json Reading mode FAILFAST;
        select room, temp;
    }
}

fn main() {}
