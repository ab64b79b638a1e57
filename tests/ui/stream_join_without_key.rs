sluice::pipeline! {
    schema Event { ts: Timestamp, key: String, value: f64 }

    query Impressions from Event {
        watermark ts delay 30 seconds;
        select imp_ts = ts, ad = key;
    }
    query Clicks from Event {
        watermark ts delay 30 seconds;
        select click_ts = ts, click_ad = key;
    }

    query Any from Impressions join Clicks on click_ts >= imp_ts {
        select ad, click_ad;
    }
}

// The query has an error, so its stand-in is generated: the code starting it still compiles,
// and the only error is the one above.
fn main() {
    use sluice::prelude::*;
    let _ = Any::read_streams(MemoryStream::<Event>::new(), MemoryStream::<Event>::new())
        .write_stream()
        .format(ConsoleSink::new())
        .start();
}
