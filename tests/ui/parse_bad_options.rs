sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temp: Option<f64> }

    query Readings from Kafka {
        parse value as csv(separator = ";", quote = "''") Reading;
        select room, temp;
    }

    query Xml from Kafka {
        parse value as xml Reading;
    }
}

fn main() {}
