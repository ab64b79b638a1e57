sluice::pipeline! {
    schema Post { id: i64, tags: Vec<String> }

    query Lengths from Post {
        select id, n = length(explode(tags));
    }
}

fn main() {}
