//! The live page (cargo feature `ui`): three queries run at once and the page shows them, with
//! Spark UI's streaming-tab charts for each, its JSON API and Prometheus `/metrics`.
//!
//! The queries: the seed's click-stream exercise (actions per page in 30-second windows, and
//! the purchases; two queries at once), and the seed's sensor stream in 10-second windows per
//! room under a 10-second watermark, so the page has state, a watermark gap and evictions to
//! show. Each runs a batch every second and drops its rows (the page is the point).
//!
//! ```sh
//! cargo run --release --features ui --example live_page                 # 2 minutes on http://127.0.0.1:4040/
//! cargo run --release --features ui --example live_page -- --seconds 600
//! SLUICE_UI_ADDRESS=0.0.0.0:8080 cargo run --release --features ui --example live_page
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sluice::pipeline! {
    /// The seed's `click_stream`: user, page and action of each click event.
    pub query ClickStream from Rate {
        select timestamp,
               user_id = value % 100,
               page = case when value % 5 == 0 then "home"
                           when value % 5 == 1 then "products"
                           when value % 5 == 2 then "cart"
                           when value % 5 == 3 then "checkout"
                           else "about" end,
               action = case when value % 10 < 6 then "view"
                             when value % 10 < 9 then "click"
                             else "purchase" end;
    }

    /// The seed's `click_agg`: actions per page in 30-second windows.
    pub query ClickAgg from ClickStream {
        group by window(timestamp, 30 seconds), page, action;
        aggregate count = count();
        select window_start = window.start, page, action, count;
    }

    /// The seed's `purchases`: the purchase events.
    pub query Purchases from ClickStream {
        where action == "purchase";
        select timestamp, user_id, page;
    }
}

sensor_pipeline! {
    /// Readings per room in 10-second windows, final 10 seconds after a window ends.
    pub query RoomWindows from SensorStream {
        watermark timestamp delay 10 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate readings = count(), avg_temp = avg(temperature), max_temp = max(temperature);
        select room_name, start = window.start, readings, avg_temp, max_temp;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(120);
    let address =
        std::env::var("SLUICE_UI_ADDRESS").unwrap_or_else(|_| "127.0.0.1:4040".to_string());
    // The one line that turns the page on.
    let ui = sluice::ui::serve(&address)?;

    let every_second = || Trigger::processing_time("1 second");
    let clicks = ClickAgg::read_stream(RateSource::new().rows_per_second(10))
        .write_stream()
        .output_mode(Update)
        .query_name("click_agg")
        .trigger(every_second()?)
        .foreach_batch(|_, _| ())
        .start()?;
    let purchases = Purchases::read_stream(RateSource::new().rows_per_second(10))
        .write_stream()
        .output_mode(Append)
        .query_name("purchases")
        .trigger(every_second()?)
        .foreach_batch(|_, _| ())
        .start()?;
    let rooms = RoomWindows::read_stream(RateSource::new().rows_per_second(50))
        .write_stream()
        .output_mode(Append)
        .query_name("room_windows")
        .trigger(every_second()?)
        .foreach_batch(|_, _| ())
        .start()?;

    println!("Live page: {}", ui.url());
    for q in [&clicks, &purchases, &rooms] {
        println!(
            "  {:<13} {}queries/{}",
            q.name().unwrap_or_default(),
            ui.url(),
            q.id()
        );
    }
    println!(
        "JSON API: {}api/queries   Prometheus: {}metrics",
        ui.url(),
        ui.url()
    );
    println!("Running for {}...\n", common::run_time(seconds));
    common::sleep(seconds).await;

    for q in [&clicks, &purchases, &rooms] {
        q.stop().await;
    }
    println!("{}", rooms.explain());
    let last = rooms.last_progress().expect("a batch ran");
    println!(
        "room_windows: {} batches, watermark {}",
        last.batch_id + 1,
        last.watermark()
            .map_or("none".to_string(), |w| w.to_string())
    );
    ui.shutdown();
    println!("Live page stopped.");
    Ok(())
}
