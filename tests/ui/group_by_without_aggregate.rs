sluice::pipeline! {
    query Rooms from Rate {
        group by room = value % 5;
        select room;
    }
}

fn main() {}
