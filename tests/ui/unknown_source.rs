sluice::pipeline! {
    query Numbers from Rte {
        select value;
    }
}

fn main() {}
