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

    // Nothing bounds how late a click can match an impression: the state would grow forever
    // and an unmatched impression could never be emitted.
    query Attributed from Impressions left outer join Clicks on ad == click_ad and click_ts >= imp_ts {
        select ad, imp_ts, click_ts;
    }
}

fn main() {}
