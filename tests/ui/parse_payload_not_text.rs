sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temp: Option<f64> }

    query Readings from Kafka {
        parse partition as json Reading;
        select room, temp;
    }
}

fn main() {}
