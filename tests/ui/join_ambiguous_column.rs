sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64 }
    table Device { id: String, ts: Timestamp }

    query Enriched from Reading join Device on device == id {
        select ts, temp;
    }
}

fn main() {}
