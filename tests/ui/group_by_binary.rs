sluice::pipeline! {
    query PerKey from Kafka {
        group by key;
        aggregate n = count();
    }
}

fn main() {}
