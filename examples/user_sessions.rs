//! User sessions of a click stream: per user, a session is a run of clicks with less than 30
//! seconds between one and the next (Spark's `session_window(ts, "30 seconds")`); under a
//! 10-second watermark, a session is printed once (append mode), when the watermark passes its
//! end — 30 seconds after its last click, plus the delay.
//!
//! The clicks are three users browsing in bursts, replayed forty times faster than real time
//! (a batch every second).
//!
//! ```sh
//! cargo run --release --example user_sessions                 # runs for 30 seconds
//! cargo run --release --example user_sessions -- --seconds 5
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// A page view.
    pub schema Click { ts: Timestamp, user: String, page: String }

    /// `withWatermark("ts", "10 seconds").groupBy(session_window("ts", "30 seconds"), "user")`
    pub query UserSessions from Click {
        watermark ts delay 10 seconds;
        group by session_window(ts, 30 seconds), user;
        aggregate clicks = count(*), first_page = min(page), last_page = max(page);
        with active_seconds =
            cast(session_window.end as bigint) - cast(session_window.start as bigint) - 30;
        select user, session_start = session_window.start, session_end = session_window.end,
               clicks, active_seconds;
    }
}

const USERS: [&str; 3] = ["ada", "grace", "linus"];
const PAGES: [&str; 4] = ["home", "search", "product", "cart"];

/// The clicks of one second of event time (10:00:00 + `second`): each user browses in bursts —
/// a click every few seconds for a while, then a pause longer than the session gap.
fn clicks(second: i64) -> Vec<Click> {
    let base = Timestamp::parse("2024-01-01T10:00:00Z").expect("a valid timestamp");
    USERS
        .iter()
        .enumerate()
        .filter(|&(u, _)| {
            let u = u as i64;
            // User `u` clicks every 3 + u seconds for 20 + 5u seconds out of every 60 + 10u.
            let cycle = 60 + 10 * u;
            (second % cycle) < 20 + 5 * u && (second + u) % (3 + u) == 0
        })
        .map(|(u, user)| Click {
            ts: base.plus_micros(second * 1_000_000),
            user: user.to_string(),
            page: PAGES[((second + u as i64) % 4) as usize].to_string(),
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(30);
    let stream = MemoryStream::<Click>::new();
    let query = UserSessions::read_stream(stream.clone())
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    println!(
        "Sessionizing the clicks of {} users (30-second gap)...",
        USERS.len()
    );

    // Forty seconds of clicks per second of wall time, four seconds every 100 ms.
    for tick in 0..seconds as i64 * 10 {
        stream.add_data((tick * 4..tick * 4 + 4).flat_map(clicks));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    query.process_all_available().await?;
    query.stop().await;

    let progress = query.recent_progress();
    let sessions: u64 = progress.iter().map(|p| p.sink.num_output_rows).sum();
    let open = progress
        .last()
        .and_then(|p| p.state_operators.first())
        .map_or(0, |op| op.num_rows_total);
    println!("\nUser sessions query stopped.");
    println!("Sessions closed and printed: {sessions}; still open: {open}");
    Ok(())
}
