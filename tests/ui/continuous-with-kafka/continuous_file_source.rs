use sluice::prelude::*;

sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temperature: f64 }

    query Hot from Reading {
        where temperature > 25;
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Hot::read_stream(FileSource::<Reading>::csv("readings"))
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
