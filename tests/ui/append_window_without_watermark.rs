use sluice::prelude::*;

sluice::pipeline! {
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    query WindowCounts from Event {
        group by window(ts, 10 seconds), key;
        aggregate count = count(*);
    }
}

fn main() {
    let _ = WindowCounts::read_stream(FileSource::<Event>::csv("input"))
        .write_stream()
        .output_mode(Append);
}
