sluice::pipeline! {
    schema Click { ts: Timestamp, user: String }

    query UserSessions from Click {
        group by window(ts, 1 minute), session_window(ts, 30 seconds), user;
        aggregate clicks = count(*);
    }
}

fn main() {}
