sluice::pipeline! {
    schema Click { ts: Timestamp, user: String }

    query AllSessions from Click {
        watermark ts delay 10 seconds;
        group by session_window(ts, 30 seconds);
        aggregate clicks = count(*);
    }
}

fn main() {}
