use sluice::prelude::*;

sluice::pipeline! {
    query PerRoom from Rate {
        group by room = value % 5;
        aggregate n = count();
    }
}

fn main() {
    let _ = PerRoom::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Append);
}
