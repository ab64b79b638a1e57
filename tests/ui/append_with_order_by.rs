use sluice::prelude::*;

sluice::pipeline! {
    query Ranked from Rate {
        watermark timestamp delay 10 seconds;
        group by window(timestamp, 10 seconds);
        aggregate n = count();
        order by n desc;
    }
}

fn main() {
    let _ = Ranked::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Append);
}
