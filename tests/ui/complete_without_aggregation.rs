use sluice::prelude::*;

sluice::pipeline! {
    query Even from Rate {
        where value % 2 == 0;
    }
}

fn main() {
    let _ = Even::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Complete);
}
