//! Message payloads (a Kafka record's value, a socket line) decoded into a declared schema's
//! columns: what a `parse <payload> as json|csv <Schema>` clause of a pipeline runs, once per
//! row. It reuses the file formats' record parsers and their malformed-record policy
//! ([`ParseMode`]), so a payload and a file line read the same way.

use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::pipeline::BatchContext;
use crate::value::{ColumnType, Schema, Value};

use super::malformed::{ReadContext, corrupt_column_index};
use super::{FileFormat, ParseMode, PreparedFormat, csv, json};

/// The longest part of a malformed record an error message quotes.
const QUOTED_RECORD_CHARS: usize = 200;

/// Decodes payloads into the columns of a schema: Spark's `from_json(payload, schema,
/// options)` and `from_csv(...)`.
///
/// Every column comes out nullable: a record that is not valid JSON, or a field that does not
/// parse, gives nulls in [`ParseMode::Permissive`] (the default, as Spark's `from_json`), drops
/// the row in [`ParseMode::DropMalformed`], and fails the query in [`ParseMode::FailFast`]. A
/// field missing from the record is null; in a column the schema declares without `Option`
/// that makes the record malformed too. A null payload (a Kafka tombstone) gives nulls and is
/// not malformed. Every malformed record is counted in the batch's
/// [`BatchContext::malformed_records`].
///
/// ```
/// use stream_runtime::format::{Json, ParseMode, PayloadDecoder};
/// use stream_runtime::pipeline::{BatchContext, OutputMode};
/// use stream_runtime::time::Timestamp;
/// use stream_runtime::value::{DataType, Field, Schema, Value};
///
/// static FIELDS: [Field; 2] = [
///     Field::new("room", DataType::String, false),
///     Field::new("temp", DataType::Double, true),
/// ];
/// let decoder =
///     PayloadDecoder::new(Json::new(), Schema::new(&FIELDS), ParseMode::Permissive, "value")?;
/// let mut ctx = BatchContext::new(0, OutputMode::Append, None, None, Timestamp::EPOCH, 0);
/// let row = decoder.decode(Some(br#"{"room":"a","temp":21.5}"#), &mut ctx)?;
/// assert_eq!(
///     row,
///     Some(vec![Value::String("a".into()), Value::Double(21.5)])
/// );
/// // Not JSON: nulls, counted.
/// let row = decoder.decode(Some(b"oops"), &mut ctx)?;
/// assert_eq!(row, Some(vec![Value::Null, Value::Null]));
/// assert_eq!(ctx.malformed_records(), 1);
/// # Ok::<(), stream_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct PayloadDecoder {
    format: PreparedFormat,
    schema: Schema,
    mode: ParseMode,
    column: &'static str,
    corrupt_column: Option<usize>,
}

impl PayloadDecoder {
    /// A decoder of payloads in `format` (JSON or CSV, with their options) into `schema`'s
    /// columns, under `mode`. `column` names the payload in error messages. A nullable string
    /// column named `_corrupt_record` receives the text of malformed records, as with files.
    pub fn new(
        format: impl Into<FileFormat>,
        schema: Schema,
        mode: ParseMode,
        column: &'static str,
    ) -> Result<Self> {
        let format = format.into();
        if !matches!(format, FileFormat::Json(_) | FileFormat::Csv(_)) {
            return Err(Error::InvalidArgument(format!(
                "a payload is parsed as JSON or CSV, not {}",
                format.short_name()
            )));
        }
        Ok(PayloadDecoder {
            format: format.prepare(schema)?,
            schema,
            mode,
            column,
            corrupt_column: corrupt_column_index(schema, "_corrupt_record")?,
        })
    }

    /// Decodes one payload: its values in schema order, or `None` when the row is dropped
    /// (a malformed record under [`ParseMode::DropMalformed`]).
    pub fn decode(
        &self,
        payload: Option<&[u8]>,
        batch: &mut BatchContext,
    ) -> Result<Option<Vec<Value>>> {
        let Some(payload) = payload else {
            return Ok(Some(vec![Value::Null; self.schema.len()]));
        };
        let ctx =
            ReadContext::for_payload(self.column, self.schema, self.mode, self.corrupt_column);
        let ts = self.format.timestamp_format.as_ref();
        let result = match self.format.format() {
            FileFormat::Csv(c) => csv::read_one(c, ts, payload, &ctx),
            // The JVM decodes invalid UTF-8 as U+FFFD, and so does Spark's `from_json`.
            FileFormat::Json(_) => {
                json::read_record(&String::from_utf8_lossy(payload), 1, ts, &ctx)
            }
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => unreachable!("checked by `new`"),
        };
        batch.add_malformed_records(ctx.counts().malformed);
        result.map_err(|e| match e {
            Error::MalformedRecord { field, message, .. } => Error::MalformedPayload {
                column: self.column.to_string(),
                format: self.format.format().short_name().to_uppercase(),
                record: quote_record(payload),
                field,
                message,
            },
            other => other,
        })
    }

    /// [`PayloadDecoder::decode`] through a lazily built decoder, as generated code keeps it
    /// (a `static` built on first use; its options were checked when the pipeline compiled).
    #[doc(hidden)]
    pub fn decode_lazy(
        decoder: &LazyLock<Result<PayloadDecoder>>,
        payload: Option<&[u8]>,
        batch: &mut BatchContext,
    ) -> Result<Option<Vec<Value>>> {
        match &**decoder {
            Ok(d) => d.decode(payload, batch),
            Err(e) => Err(Error::InvalidArgument(e.to_string())),
        }
    }
}

/// Takes column `index` of a decoded record as a nullable column value (`None` for a dropped
/// record, a null, or — never, by construction — a value of another type).
#[doc(hidden)]
pub fn take_decoded<T: ColumnType>(record: &mut Option<Vec<Value>>, index: usize) -> Option<T> {
    let value = record
        .as_mut()
        .and_then(|values| values.get_mut(index))
        .map(std::mem::take)?;
    Option::<T>::from_value(value).ok().flatten()
}

fn quote_record(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let mut chars = text.chars();
    let quoted: String = chars.by_ref().take(QUOTED_RECORD_CHARS).collect();
    if chars.next().is_some() {
        format!("{quoted}...")
    } else {
        quoted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Csv, Json};
    use crate::pipeline::OutputMode;
    use crate::time::Timestamp;
    use crate::value::{DataType, Field};

    static FIELDS: [Field; 3] = [
        Field::new("ts", DataType::Timestamp, false),
        Field::new("room", DataType::String, true),
        Field::new("temp", DataType::Double, true),
    ];

    fn ctx() -> BatchContext {
        BatchContext::new(0, OutputMode::Append, None, None, Timestamp::EPOCH, 0)
    }

    fn decoder(format: impl Into<FileFormat>, mode: ParseMode) -> PayloadDecoder {
        PayloadDecoder::new(format, Schema::new(&FIELDS), mode, "value").unwrap()
    }

    #[test]
    fn json_payloads_may_span_lines() {
        let d = decoder(Json::new(), ParseMode::FailFast);
        let mut ctx = ctx();
        let row = d
            .decode(
                Some(b"{\n  \"ts\": \"2024-01-01T10:00:05Z\",\n  \"room\": \"a\"\n}"),
                &mut ctx,
            )
            .unwrap();
        assert_eq!(
            row,
            Some(vec![
                Value::Timestamp(Timestamp::parse("2024-01-01T10:00:05Z").unwrap()),
                Value::String("a".into()),
                Value::Null,
            ])
        );
        assert_eq!(ctx.malformed_records(), 0);
    }

    #[test]
    fn policies_for_malformed_payloads() {
        // A field that does not parse: the others are kept (Spark 3+'s partial results).
        let bad_field = br#"{"ts":"2024-01-01T10:00:05Z","room":"a","temp":"warm"}"#;
        // A required (non-`Option`) field missing.
        let missing = br#"{"room":"b","temp":1.5}"#;
        let mut ctx = ctx();
        let permissive = decoder(Json::new(), ParseMode::Permissive);
        assert_eq!(
            permissive.decode(Some(bad_field), &mut ctx).unwrap(),
            Some(vec![
                Value::Timestamp(Timestamp::parse("2024-01-01T10:00:05Z").unwrap()),
                Value::String("a".into()),
                Value::Null,
            ])
        );
        assert_eq!(
            permissive.decode(Some(missing), &mut ctx).unwrap(),
            Some(vec![
                Value::Null,
                Value::String("b".into()),
                Value::Double(1.5)
            ])
        );
        // A null payload is no record at all: nulls, not malformed.
        assert_eq!(
            permissive.decode(None, &mut ctx).unwrap(),
            Some(vec![Value::Null; 3])
        );
        assert_eq!(ctx.malformed_records(), 2);

        let dropping = decoder(Json::new(), ParseMode::DropMalformed);
        assert_eq!(dropping.decode(Some(missing), &mut ctx).unwrap(), None);
        assert_eq!(ctx.malformed_records(), 3);

        let failing = decoder(Json::new(), ParseMode::FailFast);
        let e = failing.decode(Some(bad_field), &mut ctx).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[MALFORMED_RECORD_IN_PARSING] malformed JSON record in `value`, field `temp`: cannot convert a string \"warm\" to double; the record: {\"ts\":\"2024-01-01T10:00:05Z\",\"room\":\"a\",\"temp\":\"warm\"}. Parse mode: fail_fast (permissive would give nulls, drop_malformed would drop the row)."
        );
        assert_eq!(e.error_class(), Some("MALFORMED_RECORD_IN_PARSING"));
        assert_eq!(ctx.malformed_records(), 4);
    }

    #[test]
    fn csv_payloads_are_one_record() {
        let d = decoder(Csv::new().sep(';'), ParseMode::Permissive);
        let mut ctx = ctx();
        assert_eq!(
            d.decode(Some(b"2024-01-01 10:00:05;a;21.5\n"), &mut ctx)
                .unwrap(),
            Some(vec![
                Value::Timestamp(Timestamp::parse("2024-01-01T10:00:05Z").unwrap()),
                Value::String("a".into()),
                Value::Double(21.5),
            ])
        );
        assert_eq!(ctx.malformed_records(), 0);
        // Two records in one payload, and an empty payload, are malformed.
        let failing = decoder(Csv::new(), ParseMode::FailFast);
        assert_eq!(
            failing
                .decode(Some(b"2024-01-01,a,1\n2024-01-02,b,2"), &mut ctx)
                .unwrap_err()
                .to_string(),
            "[MALFORMED_RECORD_IN_PARSING] malformed CSV record in `value`: expected one CSV record, found more; the record: 2024-01-01,a,1\n2024-01-02,b,2. Parse mode: fail_fast (permissive would give nulls, drop_malformed would drop the row)."
        );
        assert_eq!(
            d.decode(Some(b""), &mut ctx).unwrap(),
            Some(vec![Value::Null; 3])
        );
        assert_eq!(ctx.malformed_records(), 2);
    }

    #[test]
    fn only_text_formats_decode_payloads() {
        // CSV cannot hold binary columns, as Spark's CSV source cannot.
        static BIN: [Field; 1] = [Field::new("b", DataType::Binary, true)];
        let e = PayloadDecoder::new(
            Csv::new(),
            Schema::new(&BIN),
            ParseMode::Permissive,
            "value",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The CSV datasource doesn't support the column `b` of the type \"BINARY\"."
        );
        let json = PayloadDecoder::new(
            Json::new(),
            Schema::new(&BIN),
            ParseMode::Permissive,
            "value",
        )
        .unwrap();
        let mut ctx = ctx();
        assert_eq!(
            json.decode(Some(br#"{"b":"aGk="}"#), &mut ctx).unwrap(),
            Some(vec![Value::Binary(b"hi".to_vec())])
        );
    }
}
