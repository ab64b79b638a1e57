sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64 }
    table Device { id: String, room: String }

    query FromTable from Device {
        select id;
    }
}

fn main() {}
