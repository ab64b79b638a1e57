sluice::pipeline! {
    query Counts from Rate {
        groupBy value % 5;
        aggregate n = count();
    }
}

fn main() {}
