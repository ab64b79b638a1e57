sluice::pipeline! {
    schema Post { id: i64, tags: Vec<String> }

    query Positions from Post {
        select id, tag = posexplode(tags);
    }
}

fn main() {}
