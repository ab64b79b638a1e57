sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String }

    query Counts from Reading {
        drop duplicates (device, ts);
        group by device;
        aggregate n = count(*);
    }
}

fn main() {}
