use sluice::prelude::*;

sluice::pipeline! {
    schema Click { ts: Timestamp, user: String }

    query UserSessions from Click {
        group by session_window(ts, 30 seconds), user;
        aggregate clicks = count(*);
    }
}

fn main() {
    let _ = UserSessions::read_stream(MemoryStream::<Click>::new())
        .write_stream()
        .output_mode(Append);
}
