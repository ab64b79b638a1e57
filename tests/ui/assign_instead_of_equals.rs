sluice::pipeline! {
    query Zero from Rate {
        where value % 5 = 0;
    }
}

fn main() {}
