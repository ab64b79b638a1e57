sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String }

    query Unique from Reading {
        drop duplicates (devise, ts);
    }
}

fn main() {}
