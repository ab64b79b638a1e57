sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String }

    query Counts from Reading {
        group by device;
        aggregate n = count(*);
        drop duplicates (n);
    }
}

fn main() {}
