sluice::pipeline! {
    query Readings from Rate {
        select timestamp, room = concat("Room_", value % 5), temperature = 20 + value % 10;
    }

    query Hot from Readings {
        where temprature > 25;
        selct room;
    }

    query Windows from Readings {
        watermark room delay 30 seconds;
        group by window(timestamp, 10 seconds, 20 seconds), room;
        aggregate n = count(), avg = avg(room);
    }
}

fn main() {}
