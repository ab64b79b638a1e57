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

    query Counts from Event {
        group by key;
        aggregate n = count(*);
    }

    query Joined from Counts join Clicks on key == click_ad {
        select key, n, click_ts;
    }
}

fn main() {}
