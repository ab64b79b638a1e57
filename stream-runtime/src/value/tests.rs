use super::*;

#[test]
fn doubles_print_like_the_jvm() {
    assert_eq!(format_double(16.25), "16.25");
    assert_eq!(format_double(110.00000000000001), "110.00000000000001");
    assert_eq!(format_double(-3.0), "-3.0");
    assert_eq!(format_double(9_999_999.0), "9999999.0");
    assert_eq!(format_double(12_345_678.9), "1.23456789E7");
    assert_eq!(format_double(0.001), "0.001");
    assert_eq!(format_double(0.000_999), "9.99E-4");
    assert_eq!(format_double(1e300), "1.0E300");
    assert_eq!(format_double(f64::INFINITY), "Infinity");
    assert_eq!(format_double(-0.0), "-0.0");
}

#[test]
fn values_display_like_spark_show() {
    assert_eq!(Value::Null.to_string(), "NULL");
    assert_eq!(Value::Double(f64::NAN).to_string(), "NaN");
    assert_eq!(Value::Boolean(true).to_string(), "true");
    assert_eq!(
        Value::StringArray(vec!["a".into(), "b".into()]).to_string(),
        "[a, b]"
    );
    // Spark's `show()` of `cast('hello' as binary)` and of Kafka headers.
    assert_eq!(
        Value::Binary(b"hello".to_vec()).to_string(),
        "[68 65 6C 6C 6F]"
    );
    assert_eq!(Value::Binary(Vec::new()).to_string(), "[]");
    assert_eq!(
        Value::Headers(vec![
            Header::new("k", *b"v1"),
            Header {
                key: "n".into(),
                value: None
            }
        ])
        .to_string(),
        "[{k, [76 31]}, {n, NULL}]"
    );
}

#[test]
fn binary_is_base64_in_json_as_spark_writes_it() {
    assert_eq!(
        Value::Binary(b"hello".to_vec()).to_json(),
        serde_json::json!("aGVsbG8=")
    );
    assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
    assert_eq!(base64_decode("aGVsbG8"), Some(b"hello".to_vec()));
    assert_eq!(base64_decode("not base64!"), None);
    assert_eq!(
        Value::Headers(vec![Header::new("k", *b"v1")]).to_json(),
        serde_json::json!([{"key": "k", "value": "djE="}])
    );
    // Unsigned, lexicographic: as Spark orders binary.
    assert_eq!(
        Value::Binary(vec![0x80]).spark_cmp(&Value::Binary(vec![0x7f, 0xff])),
        Ordering::Greater
    );
}

#[test]
fn spark_ordering_puts_nulls_first_and_nan_last() {
    let mut v = [
        Value::Double(f64::NAN),
        Value::Double(1.0),
        Value::Null,
        Value::Double(-5.0),
    ];
    v.sort_by(Value::spark_cmp);
    assert_eq!(v[0], Value::Null);
    assert_eq!(v[1], Value::Double(-5.0));
    assert_eq!(v[2], Value::Double(1.0));
    assert!(matches!(v[3], Value::Double(d) if d.is_nan()));
}

#[test]
fn column_types_round_trip() {
    assert_eq!(Option::<i64>::from_value(Value::Null), Ok(None));
    assert_eq!(i64::from_value(Value::Int(3)), Ok(3));
    assert!(String::from_value(Value::Long(3)).is_err());
    assert_eq!(<Option<String> as ColumnType>::DATA_TYPE, DataType::String);
    const { assert!(<Option<String> as ColumnType>::NULLABLE) };
}
