use sluice::prelude::*;

sluice::pipeline! {
    query Distinct from Rate {
        select value;
        drop duplicates (value);
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Distinct::read_stream(RateSource::new())
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
