sluice::pipeline! {
    schema Line { text: String }

    query Words from Line {
        select word = explode(text);
    }
}

fn main() {}
