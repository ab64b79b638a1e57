sluice::pipeline! {
    schema Click { ts: Timestamp, user: String }

    query UserSessions from Click {
        group by session_window(ts, 0 seconds), user;
        aggregate clicks = count(*);
    }
}

fn main() {}
