sluice::pipeline! {
    schema Line { text: String }

    query Words from Line {
        group by text;
        aggregate n = count(*);
        select word = explode(split(text, " ")), n;
    }
}

fn main() {}
