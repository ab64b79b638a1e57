sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64 }
    table Device { id: String, max_temp: f64 }

    query Enriched from Reading join Device on temp > max_temp {
        select device, temp;
    }
}

fn main() {}
