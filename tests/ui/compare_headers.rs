sluice::pipeline! {
    query Same from Kafka {
        where headers == headers;
    }
}

fn main() {}
