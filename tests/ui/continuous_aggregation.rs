use sluice::prelude::*;

sluice::pipeline! {
    query PerRoom from Rate {
        group by room = value % 5;
        aggregate n = count();
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = PerRoom::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
