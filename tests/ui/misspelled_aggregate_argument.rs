// One mistake, one error: the misspelled column inside `max(...)`. The query's other columns,
// and the aggregate itself (typed as `max(reading)`, the column meant), still exist for the
// code that uses them.
use sluice::prelude::*;

sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, reading: f64 }

    query DeviceMax from Reading {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), device;
        aggregate n = count(), max_reading = max(readng);
        select device, start = window.start, n, max_reading;
    }
}

fn main() {
    let source: MemoryStream<Reading> = MemoryStream::new();
    let _query = DeviceMax::read_stream(source)
        .write_stream()
        .output_mode(Append)
        .foreach_batch(|_, rows: Vec<DeviceMaxRow>| {
            for row in rows {
                let _: (&str, Timestamp, i64, f64) = (&row.device, row.start, row.n, row.max_reading);
            }
        })
        .start();
}
