sluice::pipeline! {
    query Labels from Rate {
        select label = cast(value as strng);
    }
}

fn main() {}
