sluice::pipeline! {
    query Rooms from Rate {
        group by room = value % 5;
        aggregate n = count(), same_room = room;
    }
}

fn main() {}
