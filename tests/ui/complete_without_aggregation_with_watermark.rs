use sluice::prelude::*;

sluice::pipeline! {
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    query Projected from Event {
        watermark ts delay 30 seconds;
        select ts, key;
    }
}

fn main() {
    let _ = Projected::read_stream(FileSource::<Event>::csv("input"))
        .write_stream()
        .output_mode(Complete);
}
