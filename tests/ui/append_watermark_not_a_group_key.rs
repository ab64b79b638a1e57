use sluice::prelude::*;

sluice::pipeline! {
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    query KeyCounts from Event {
        watermark ts delay 30 seconds;
        group by key;
        aggregate count = count(*);
    }
}

fn main() {
    let _ = KeyCounts::read_stream(FileSource::<Event>::csv("input"))
        .write_stream()
        .output_mode(Append);
}
