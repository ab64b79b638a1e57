use sluice::prelude::*;

sluice::pipeline! {
    qurey Numbers from Rate {
        select value;
    }

    query Evens from Rate {
        where value % 2 == 0;
    }
}

// The misspelled item is reported; the items after it are still compiled.
fn main() {
    let _ = Evens::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Append);
}
