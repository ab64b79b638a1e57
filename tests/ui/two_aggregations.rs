sluice::pipeline! {
    query Counts from Rate {
        group by room = value % 5;
        aggregate n = count();
        group by n;
        aggregate rooms = count();
    }
}

fn main() {}
