sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String }

    query Fresh from Reading {
        drop duplicates within watermark (device);
    }
}

fn main() {}
