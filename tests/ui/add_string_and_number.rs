sluice::pipeline! {
    query Labels from Rate {
        select label = "a" + 1;
    }
}

fn main() {}
