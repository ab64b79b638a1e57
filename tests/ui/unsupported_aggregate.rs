sluice::pipeline! {
    query Spread from Rate {
        group by room = value % 5;
        aggregate spread = stddev(value);
    }
}

fn main() {}
