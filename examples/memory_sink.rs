//! The seed's section 9, "Memory Sink for Testing": per-room statistics written in complete
//! mode to an in-memory table named `room_stats_table`, which the program reads twice while the
//! query runs (`SELECT * FROM room_stats_table ORDER BY room_name`, shown like
//! `show(truncate=False)`).
//!
//! ```sh
//! cargo run --release --example memory_sink                  # 10 seconds, then 5 more
//! cargo run --release --example memory_sink -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;
use sluice::sink::memory;

sensor_pipeline! {
    /// The seed's `memory_stream`: statistics per room for the memory table.
    pub query RoomStatsTable from SensorStream {
        group by room_name;
        aggregate total_readings = count(*),
                  avg_temp = avg(temperature),
                  avg_humidity = avg(humidity);
    }
}

/// The memory table's rows ordered by room name, as `show(truncate=False)` prints them.
pub fn show_sorted_by_room(
    table: &MemoryTable<RoomStatsTableRow>,
) -> Result<String, sluice::Error> {
    let rows = table.rows_sorted_by_column("room_name")?;
    Ok(MemoryTable::show_rows_string(&rows, 20, false))
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let first_wait = common::seconds(10);
    let second_wait = common::seconds(5);
    let memory_query = RoomStatsTable::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Complete)
        .format(MemorySink::new())
        .query_name("room_stats_table")
        .start()?;

    println!("Memory sink query started. Letting it accumulate data...");
    common::sleep(first_wait).await;

    // Query the in-memory table, by the query's name.
    let table = memory::table::<RoomStatsTableRow>("room_stats_table")
        .expect("the memory sink registers its table when the query starts");
    println!("\nQuerying the in-memory table:");
    println!("{}", show_sorted_by_room(&table)?);

    // Wait and query again to see updates.
    common::sleep(second_wait).await;
    println!("\nQuerying again after {} more seconds:", second_wait);
    println!("{}", show_sorted_by_room(&table)?);

    memory_query.stop().await;
    println!("\nMemory query stopped.");
    Ok(())
}
