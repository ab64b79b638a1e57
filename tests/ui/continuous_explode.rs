use sluice::prelude::*;

sluice::pipeline! {
    query Digits from Rate {
        select timestamp, digit = explode(split("1 2 3", " "));
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Digits::read_stream(RateSource::new())
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
