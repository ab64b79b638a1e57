sluice::pipeline! {
    query Rooms from Rate {
        with room = value % 5;
        group by room;
        aggregate n = count(), last = value;
    }
}

fn main() {}
