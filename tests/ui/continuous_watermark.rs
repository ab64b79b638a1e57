use sluice::prelude::*;

sluice::pipeline! {
    query Recent from Rate {
        watermark timestamp delay 10 seconds;
        where value > 3;
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Recent::read_stream(RateSource::new())
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
