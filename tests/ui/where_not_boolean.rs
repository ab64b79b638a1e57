sluice::pipeline! {
    query Odd from Rate {
        where value % 2;
    }
}

fn main() {}
