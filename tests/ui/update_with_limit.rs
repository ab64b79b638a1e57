use sluice::prelude::*;

sluice::pipeline! {
    query FirstRooms from Rate {
        group by room = value % 5;
        aggregate n = count();
        limit 3;
    }
}

fn main() {
    let _ = FirstRooms::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Update);
}
