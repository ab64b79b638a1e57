sluice::pipeline! {
    query Rooms from Rate {
        select room = lowr(concat("Room_", value % 5));
    }
}

fn main() {}
