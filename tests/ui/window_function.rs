sluice::pipeline! {
    query Numbered from Rate {
        select value, rn = row_number();
    }
}

fn main() {}
