sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64, floor: i64 }
    table Device { id: String, room: String, level: String }

    query Enriched from Reading join Device on device == id and floor == level {
        select ts, room, temp;
    }
}

fn main() {}
