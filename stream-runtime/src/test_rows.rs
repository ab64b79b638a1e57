//! Row types for the runtime's own tests (the `pipeline!` macro writes these for users).

use crate::time::{Timestamp, Window};

macro_rules! test_row {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)*
        }

        impl crate::row::Row for $name {
            const SCHEMA: crate::value::Schema = {
                const FIELDS: &[crate::value::Field] = &[$(crate::value::Field::new(
                    stringify!($field),
                    <$ty as crate::value::ColumnType>::DATA_TYPE,
                    <$ty as crate::value::ColumnType>::NULLABLE,
                )),*];
                crate::value::Schema::new(FIELDS)
            };

            fn to_values(&self) -> Vec<crate::value::Value> {
                vec![$(crate::value::ColumnType::to_value(&self.$field)),*]
            }

            fn from_values(values: Vec<crate::value::Value>) -> Result<Self, crate::row::RowError> {
                crate::row::check_arity(&values, [$(stringify!($field)),*].len())?;
                let mut values = values.into_iter();
                Ok($name { $($field: crate::row::take_column(&mut values, stringify!($field))?,)* })
            }

            // As `pipeline!` generates it.
            fn from_columns(
                columns: crate::columns::Columns<'_>,
                out: &mut Vec<Self>,
            ) -> Result<(), crate::row::RowError> {
                use crate::columns::ColumnReader;
                let len = columns.len();
                let mut columns = columns.into_columns();
                $(let mut $field =
                    crate::columns::column_reader::<$ty>(&mut columns, stringify!($field))?;)*
                out.reserve(len);
                for i in 0..len {
                    out.push($name { $($field: ColumnReader::<$ty>::get(&mut $field, i),)* });
                }
                Ok(())
            }
        }
    };
}

#[cfg(feature = "parquet")]
pub(crate) use test_row;

test_row!(Event {
    ts: Option<Timestamp>,
    key: Option<String>,
    value: Option<f64>,
});

test_row!(JoinedEvents {
    l_ts: Option<Timestamp>,
    l_key: Option<String>,
    r_ts: Option<Timestamp>,
    r_key: Option<String>,
});

test_row!(EventWithCorrupt {
    ts: Option<Timestamp>,
    key: Option<String>,
    value: Option<f64>,
    _corrupt_record: Option<String>,
});

test_row!(StrictEvent {
    ts: Timestamp,
    key: Option<String>,
    value: Option<f64>,
});

test_row!(AllTypes {
    b: Option<bool>,
    i: Option<i32>,
    l: i64,
    d: Option<f64>,
    s: Option<String>,
    t: Option<Timestamp>,
});

test_row!(Windowed {
    window: Window,
    key: String,
    count: i64,
    avg: Option<f64>,
});

test_row!(Tags {
    key: String,
    tags: Option<Vec<String>>,
});

/// `2024-01-01T10:00:00Z` plus `millis`.
pub(crate) fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(1_704_103_200_000 + millis)
}

pub(crate) fn event(millis: i64, key: Option<&str>, value: Option<f64>) -> Event {
    Event {
        ts: Some(at(millis)),
        key: key.map(str::to_string),
        value,
    }
}
