sluice::pipeline! {
    query Readings from Rate {
        select timestamp, temperature = value % 30;
    }

    query Hot from Readings {
        where temprature > 25;
    }
}

fn main() {}
