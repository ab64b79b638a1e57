sluice::pipeline! {
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    query Counts from Event {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count(*);
        select start = window.start, key, count;
    }

    query Totals from Counts {
        group by window(start, 20 seconds);
        aggregate n = sum(count);
    }
}

fn main() {}
