sluice::pipeline! {
    query Readings from Rate {
        select timestamp, value, value = value * 2;
    }
}

fn main() {}
