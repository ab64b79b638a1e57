use sluice::prelude::*;

sluice::pipeline! {
    query Readings from Rate {
        select timestamp, room = concat("Room_", value % 5), temperature = 20 + value % 10;
    }

    query Hot from Readings {
        where temperature > 25;
    }

    query PerRoom from Readings {
        group by room;
        aggregate n = count(), hottest = max(temprature);
    }
}

// One error, in `PerRoom`: the other queries compile, and the code using `PerRoom` does not
// add "cannot find type" errors.
fn main() {
    let _hot = Hot::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Append)
        .format(MemorySink::<HotRow>::new());
    let _per_room = PerRoom::read_stream(RateSource::new())
        .write_stream()
        .output_mode(Update)
        .format(MemorySink::<PerRoomRow>::new());
}
