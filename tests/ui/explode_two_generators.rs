sluice::pipeline! {
    schema Post { id: i64, tags: Vec<String>, words: Vec<String> }

    query Pairs from Post {
        select id, tag = explode(tags), word = explode(words);
    }
}

fn main() {}
