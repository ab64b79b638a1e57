use sluice::prelude::*;

sluice::pipeline! {
    query Values from Rate {
        select timestamp, value;
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Values::read_stream(RateSource::new())
        .write_stream()
        .foreach_batch(|_batch_id, _rows| ())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
