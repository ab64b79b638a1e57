sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64 }
    table Device { id: String, room: String }

    query Enriched from Reading right outer join Device on device == id {
        select ts, room, temp;
    }
}

fn main() {}
