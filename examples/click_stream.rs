//! The seed's exercise 1 solution, "Click Stream Analysis": the rate source (10 rows per
//! second) as click events, with two queries running together: actions counted per page in
//! 30-second windows (update mode) and the purchases as they happen (append mode), both on the
//! console (`truncate = false`).
//!
//! ```sh
//! cargo run --release --example click_stream                 # runs for 1 minute
//! cargo run --release --example click_stream -- --seconds 10
//! ```

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

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(60);

    // Window aggregation: count actions per page in 30-second windows.
    let agg_query = ClickAgg::read_stream(RateSource::new().rows_per_second(10))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    // Filter for purchases.
    let purchase_query = Purchases::read_stream(RateSource::new().rows_per_second(10))
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!(
        "Click stream analysis started. Running for {}...\n",
        common::run_time(seconds)
    );
    common::sleep(seconds).await;

    agg_query.stop().await;
    purchase_query.stop().await;
    println!("\nClick stream queries stopped.");
    Ok(())
}
