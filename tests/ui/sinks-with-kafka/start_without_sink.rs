use sluice::prelude::*;

sluice::pipeline! {
    query Values from Rate {
        select value;
    }
}

fn main() {
    let _ = Values::read_stream(RateSource::new()).write_stream().start();
}
