sluice::pipeline! {
    query Totals from Rate {
        select total = sum(value);
    }
}

fn main() {}
