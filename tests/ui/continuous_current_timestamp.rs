use sluice::prelude::*;

sluice::pipeline! {
    query Stamped from Rate {
        select value, seen_at = current_timestamp();
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Stamped::read_stream(RateSource::new())
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
