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

    query PerAd from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        group by ad;
        aggregate clicks = count(*);
    }
}

fn main() {}
