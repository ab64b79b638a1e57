use sluice::prelude::*;

sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String }

    query Unique from Reading {
        watermark ts delay 10 seconds;
        drop duplicates (device, ts);
    }
}

fn main() {
    let _ = Unique::read_stream(MemoryStream::<Reading>::new())
        .write_stream()
        .output_mode(Complete);
}
