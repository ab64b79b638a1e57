sluice::pipeline! {
    query Rooms from Rate {
        with room = concat("Room_", value % 5);
        group by window(timestamp, 10 seconds);
        aggregate mean_room = avg(room);
    }
}

fn main() {}
