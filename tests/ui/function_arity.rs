sluice::pipeline! {
    query Parts from Rate {
        select part = substring(concat("Room_", value), 1);
    }
}

fn main() {}
