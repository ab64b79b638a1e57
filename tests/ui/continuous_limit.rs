use sluice::prelude::*;

sluice::pipeline! {
    query FirstFive from Rate {
        select value;
        limit 5;
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = FirstFive::read_stream(RateSource::new())
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
