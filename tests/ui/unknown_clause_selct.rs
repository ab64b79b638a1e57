sluice::pipeline! {
    query Numbers from Rate {
        selct value;
    }
}

fn main() {}
