sluice::pipeline! {
    schema Post { id: i64, tags: Vec<String> }

    query Tagged from Post {
        where explode(tags) == "rust";
    }
}

fn main() {}
