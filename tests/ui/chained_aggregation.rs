sluice::pipeline! {
    query PerRoom from Rate {
        group by room = value % 5;
        aggregate n = count();
    }

    query RoomsPerCount from PerRoom {
        group by n;
        aggregate rooms = count();
    }
}

fn main() {}
