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

    query Matched from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select *;
    }
}

fn main() {
    use sluice::prelude::*;
    let _ = Matched::read_streams(MemoryStream::<Event>::new(), MemoryStream::<Event>::new())
        .write_stream()
        .output_mode(Update);
}
