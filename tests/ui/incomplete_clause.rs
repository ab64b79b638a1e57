sluice::pipeline! {
    query Big from Rate {
        where value >;
    }
}

fn main() {}
