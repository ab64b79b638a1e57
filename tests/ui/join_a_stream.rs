sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64 }
    table Device { id: String, room: String }

    query Joined from Reading join Reading on device == device {
        select ts;
    }

    query FromTable from Device {
        select id;
    }
}

fn main() {}
