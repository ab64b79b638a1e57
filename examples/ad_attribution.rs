//! Ad impressions joined with clicks: a stream-stream join. Each click is attributed to the
//! impression of the same ad it followed within 20 seconds; both streams carry a 30-second
//! watermark, which bounds how long each side's rows are kept.
//!
//! - `Attributed` is an inner join: one row per (impression, click) pair, emitted in the batch
//!   where the second of the two arrives.
//! - `Reach` is a left outer join: every impression once — with its click, or, when none came
//!   within 20 seconds, alone (`click_time` null) as soon as the watermark guarantees none can
//!   still arrive.
//!
//! ```sh
//! cargo run --release --example ad_attribution                 # runs for 10 seconds
//! cargo run --release --example ad_attribution -- --seconds 3
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// An ad shown to a user.
    pub schema Impression { shown_at: Timestamp, ad: String, user: String }
    /// A click on an ad.
    pub schema Click { clicked_at: Timestamp, ad: String, user: String }

    /// `impressions.withWatermark("shown_at", "30 seconds")`
    pub query Shown from Impression {
        watermark shown_at delay 30 seconds;
        select shown_at, ad, viewer = user;
    }

    /// `clicks.withWatermark("clicked_at", "30 seconds")`
    pub query Clicked from Click {
        watermark clicked_at delay 30 seconds;
        select clicked_at, clicked_ad = ad, clicker = user;
    }

    /// `shown.join(clicked, expr("ad = clicked_ad AND viewer = clicker AND clicked_at >=
    /// shown_at AND clicked_at <= shown_at + interval 20 seconds"))`
    pub query Attributed from Shown join Clicked
        on ad == clicked_ad and viewer == clicker
        and clicked_at >= shown_at and clicked_at <= shown_at + interval 20 seconds {
        select ad, viewer, shown_at, clicked_at;
    }

    /// The same join, `"left_outer"`: every impression, clicked or not.
    pub query Reach from Shown left join Clicked
        on ad == clicked_ad and viewer == clicker
        and clicked_at >= shown_at and clicked_at <= shown_at + interval 20 seconds {
        select ad, viewer, shown_at, click_time = clicked_at, clicked = clicked_at is not null;
    }
}

const ADS: [&str; 3] = ["shoes", "phone", "tea"];
const USERS: [&str; 4] = ["ann", "bob", "cho", "dee"];

/// Second `second`'s impressions (one per user, of one ad each: `<product>-<second>`) and the
/// clicks on the impressions of `second - 5`: every other user clicks, 5 seconds after seeing
/// the ad, except on tea, whose clicks come 25 seconds late (too late to be attributed).
fn traffic(second: i64) -> (Vec<Impression>, Vec<Click>) {
    let base = Timestamp::parse("2024-01-01T10:00:00Z").expect("a valid timestamp");
    let at = |s: i64| base.plus_micros(s * 1_000_000);
    let ad = |s: i64, u: usize| format!("{}-{s}", ADS[(s as usize + u) % ADS.len()]);
    let impressions = USERS
        .iter()
        .enumerate()
        .map(|(u, user)| Impression {
            shown_at: at(second),
            ad: ad(second, u),
            user: user.to_string(),
        })
        .collect();
    let mut clicks = Vec::new();
    for (u, user) in USERS.iter().enumerate().filter(|(u, _)| u % 2 == 0) {
        let shown = second - 5;
        if shown >= 0 {
            let ad = ad(shown, u);
            let delay = if ad.starts_with("tea") { 25 } else { 5 };
            clicks.push(Click {
                clicked_at: at(shown + delay),
                ad,
                user: user.to_string(),
            });
        }
    }
    (impressions, clicks)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(10);
    let impressions = MemoryStream::<Impression>::new();
    let clicks = MemoryStream::<Click>::new();

    let attributed = Attributed::read_streams(impressions.clone(), clicks.clone())
        .write_stream()
        .format(ConsoleSink::new().truncate(false))
        .query_name("attributed")
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    let reach = Reach::read_streams(impressions.clone(), clicks.clone())
        .write_stream()
        .format(ConsoleSink::new().truncate(false))
        .query_name("reach")
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    println!("Attributing clicks to impressions...");

    // Four event-time seconds per second of wall time, then one far-future impression and
    // click that move both watermarks past everything, so every impression is reported.
    let event_seconds = seconds as i64 * 4;
    for second in 0..event_seconds {
        let (shown, clicked) = traffic(second);
        impressions.add_data(shown);
        clicks.add_data(clicked);
        if second % 4 == 3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let (mut last_shown, mut last_clicked) = traffic(event_seconds + 3600);
    last_shown.truncate(1);
    last_clicked.truncate(1);
    impressions.add_data(last_shown);
    clicks.add_data(last_clicked);
    for query in [&attributed, &reach] {
        query.process_all_available().await?;
        // One more trigger: the no-data batch that runs under the last watermark.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        query.process_all_available().await?;
        query.stop().await;
    }

    let rows = |q: &StreamingQuery| -> u64 {
        q.recent_progress()
            .iter()
            .map(|p| p.sink.num_output_rows)
            .sum()
    };
    let shown = event_seconds as u64 * USERS.len() as u64;
    println!("\nAd attribution stopped.");
    println!(
        "Impressions: {shown}, attributed clicks: {}, impressions reported: {}",
        rows(&attributed),
        rows(&reach)
    );
    if rows(&reach) == shown {
        println!("Every impression was reported exactly once.");
    } else {
        println!("Some impressions were not reported (or twice)!");
    }
    Ok(())
}
