sluice::pipeline! {
    query Numbers from Rate {
        where value > 10;
        select value
    }
}

fn main() {}
