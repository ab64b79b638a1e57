sluice::pipeline! {
    query Rooms from Rate {
        with room = concat("Room_", value % 5);
        where room == value;
    }
}

fn main() {}
