use sluice::prelude::*;

sluice::pipeline! {
    schema Reading {
        ts: Timestamp,
        sensor: String,
        value: f32,
    }

    query Readings from Reading {
        select ts, value;
    }
}

// Only the schema's error is reported: `Reading` and `Readings` still exist for this code.
fn main() {
    let input = MemoryStream::<Reading>::new();
    input.add_data([Reading {
        ts: Timestamp::EPOCH,
        sensor: "a".into(),
        value: 1.5,
    }]);
    let _ = Readings::read_stream(input)
        .write_stream()
        .output_mode(Append);
}
