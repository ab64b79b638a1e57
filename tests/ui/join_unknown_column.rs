sluice::pipeline! {
    schema Reading { ts: Timestamp, device: String, temp: f64 }
    table Device { id: String, room: String }

    query Enriched from Reading join Device on device == Device.ident {
        select ts, room, temp;
    }

    query Misspelt from Reading join Device on device == id {
        select ts, rooms, temp;
    }
}

fn main() {}
