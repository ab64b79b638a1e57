use super::*;

#[test]
fn readers_take_cells_typed_with_nulls_and_defaults() {
    let bits = [0b0000_0101u8];
    let longs = Column::Long(Values::with_nulls(
        vec![7i64, 8, 9],
        Some(Nulls::Bitmap {
            bits: &bits,
            offset: 0,
        }),
    ));
    let mut r = <Option<i64> as FromColumn>::reader(longs.clone(), "n").unwrap();
    let got: Vec<Option<i64>> = (0..3).map(|i| r.get(i)).collect();
    assert_eq!(got, [Some(7), None, Some(9)]);
    // A column that is not nullable reads the stored value (readers drop rows whose cell
    // there is null before rows are built).
    let mut r = <i64 as FromColumn>::reader(longs, "n").unwrap();
    assert_eq!(ColumnReader::<i64>::get(&mut r, 2), 9);

    let data = b"abcd";
    let strings = Column::String(Bytes::Buffers {
        offsets: &[0, 1, 1, 4],
        data,
        nulls: Some(Nulls::Flags(vec![true, false, true])),
    });
    let mut r = <Option<String> as FromColumn>::reader(strings, "s").unwrap();
    let got: Vec<Option<String>> = (0..3).map(|i| r.get(i)).collect();
    assert_eq!(got, [Some("a".into()), None, Some("bcd".into())]);

    let mut absent = <Timestamp as FromColumn>::reader(Column::Absent, "t").unwrap();
    assert_eq!(
        ColumnReader::<Timestamp>::get(&mut absent, 0),
        Timestamp::EPOCH
    );
    let mut absent = <Option<Vec<String>> as FromColumn>::reader(Column::Absent, "a").unwrap();
    assert_eq!(
        ColumnReader::<Option<Vec<String>>>::get(&mut absent, 0),
        None
    );

    let err = <f64 as FromColumn>::reader(Column::Int(Values::new(vec![1])), "d").unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `d`: expected a value of type DOUBLE, found INT"
    );
}
