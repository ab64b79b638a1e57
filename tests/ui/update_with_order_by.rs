use sluice::prelude::*;

sluice::pipeline! {
    query Ranked from Rate {
        group by room = value % 5;
        aggregate n = count();
        order by n desc;
    }
}

fn main() {
    let _ = Ranked::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Update);
}
