// An unknown function is reported as one, with the closest name, not as its argument being
// neither a key nor aggregated.
sluice::pipeline! {
    schema Reading { device: String, reading: f64 }

    query Averages from Reading {
        group by device;
        aggregate avg_reading = average(reading);
    }
}

fn main() {
    let _ = |row: AveragesRow| -> f64 { row.avg_reading };
}
