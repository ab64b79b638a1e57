sluice::pipeline! {
    query Totals from Rate {
        group by room = value % 5;
        aggregate n = sum(count());
    }
}

fn main() {}
