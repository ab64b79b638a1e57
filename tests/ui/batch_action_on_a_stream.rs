use sluice::prelude::*;

sluice::pipeline! {
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    query Events from Event {
        select *;
    }
}

fn main() {
    let frame = Events::read_stream(FileSource::<Event>::csv("input"));
    let _ = frame.count();
    let _ = frame.collect();
}
