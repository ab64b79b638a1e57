sluice::pipeline! {
    query Distinct from Rate {
        group by room = value % 5;
        aggregate n = count_distinct(value);
    }
}

fn main() {}
