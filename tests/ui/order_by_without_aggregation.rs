sluice::pipeline! {
    query Sorted from Rate {
        select timestamp, value;
        order by value desc;
    }
}

fn main() {}
