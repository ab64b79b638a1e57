//! Grouping by a string (or string array) computed per row, which the optimizer cannot store as
//! a cheaper value: the group key is looked up by a borrowed view of the computed value.

use std::sync::{Arc, Mutex};

use sluice::pipeline::SupportsComplete;
use sluice::prelude::*;

sluice::pipeline! {
    /// `concat` of a cast: an owned, non-null string key (the seed's `room_name`).
    pub query ByCastConcat from Rate {
        select timestamp, value, room_id = cast(value % 3 as string);
        with room_name = concat("Room_", room_id);
        group by room_name;
        aggregate n = count(*), total = sum(value);
    }

    /// An owned, nullable string key.
    pub query ByNullableString from Rate {
        group by tag = case when value % 2 == 0 then concat("even_", cast(value % 4 as string)) end;
        aggregate n = count(*);
    }

    /// An owned string-array key.
    pub query ByStringArray from Rate {
        group by parts = split(concat("p,", cast(value % 2 as string)), ",");
        aggregate n = count(*);
    }
}

fn rows(values: &[i64]) -> Vec<RateRow> {
    values
        .iter()
        .map(|&value| RateRow {
            timestamp: Timestamp::from_secs(value),
            value,
        })
        .collect()
}

/// Runs `P` in complete mode over two batches and returns each batch's rows as sorted text.
async fn run<P: Pipeline<Input = RateRow> + SupportsComplete + Default>() -> Vec<Vec<String>> {
    let stream = MemoryStream::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let query = P::read_stream(stream.clone())
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(move |_, rows: Vec<P::Output>| {
            let mut lines: Vec<String> = rows
                .iter()
                .map(|r| {
                    r.to_values()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            lines.sort();
            sink.lock().unwrap().push(lines);
        })
        .start()
        .unwrap();
    stream.add_data(rows(&[0, 1, 2, 3, 4]));
    query.process_all_available().await.unwrap();
    stream.add_data(rows(&[5, 6]));
    query.process_all_available().await.unwrap();
    query.stop().await;
    Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
}

#[tokio::test]
async fn owned_string_key() {
    assert_eq!(
        run::<ByCastConcat>().await,
        vec![
            vec!["Room_0 | 2 | 3", "Room_1 | 2 | 5", "Room_2 | 1 | 2"],
            vec!["Room_0 | 3 | 9", "Room_1 | 2 | 5", "Room_2 | 2 | 7"],
        ]
    );
}

#[tokio::test]
async fn owned_nullable_string_key() {
    assert_eq!(
        run::<ByNullableString>().await,
        vec![
            vec!["NULL | 2", "even_0 | 2", "even_2 | 1"],
            vec!["NULL | 3", "even_0 | 2", "even_2 | 2"],
        ]
    );
}

#[tokio::test]
async fn owned_string_array_key() {
    assert_eq!(
        run::<ByStringArray>().await,
        vec![
            vec!["[p, 0] | 3", "[p, 1] | 2"],
            vec!["[p, 0] | 4", "[p, 1] | 3"],
        ]
    );
}
