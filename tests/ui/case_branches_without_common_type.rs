sluice::pipeline! {
    query Labels from Rate {
        select label = case when value % 2 == 0 then "even" else 1 end;
    }
}

fn main() {}
