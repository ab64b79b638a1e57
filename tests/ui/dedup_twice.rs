sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String }

    query Unique from Reading {
        drop duplicates (device);
        drop duplicates (ts);
    }
}

fn main() {}
