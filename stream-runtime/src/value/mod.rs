//! Spark SQL types at the edges of a pipeline: [`DataType`], [`Schema`], the dynamic [`Value`]
//! used by sinks, sources and the console, and [`ColumnType`], which ties each Rust column type
//! to its Spark type.
//!
//! The hot path never sees a [`Value`]: generated pipelines work on typed struct fields. Values
//! appear only where rows cross a boundary (printing, files, checkpoints).

use std::cmp::Ordering;
use std::fmt;

use crate::time::{Timestamp, Window};

/// A Spark SQL data type, as far as Sluice supports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `boolean` — Rust `bool`.
    Boolean,
    /// `int` (32-bit) — Rust `i32`.
    Int,
    /// `long` / `bigint` (64-bit) — Rust `i64`.
    Long,
    /// `double` — Rust `f64`.
    Double,
    /// `string` — Rust `String`.
    String,
    /// `timestamp` — [`Timestamp`].
    Timestamp,
    /// `struct<start: timestamp, end: timestamp>` — [`Window`].
    Window,
    /// `array<string>` — Rust `Vec<String>` (what `split` returns).
    StringArray,
    /// `binary` — Rust `Vec<u8>` (a Kafka record's key and value).
    Binary,
    /// `array<struct<key: string, value: binary>>` — Rust `Vec<Header>` (a Kafka record's
    /// headers).
    Headers,
}

impl DataType {
    /// Spark's simple name for the type (`long`, `double`, `timestamp`, ...), as printed by
    /// `printSchema`.
    pub const fn simple_name(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Int => "integer",
            DataType::Long => "long",
            DataType::Double => "double",
            DataType::String => "string",
            DataType::Timestamp => "timestamp",
            DataType::Window => "struct",
            DataType::StringArray | DataType::Headers => "array",
            DataType::Binary => "binary",
        }
    }

    /// Spark's SQL name (`BIGINT`, `STRING`, ...), as used in error messages.
    pub const fn sql_name(self) -> &'static str {
        match self {
            DataType::Boolean => "BOOLEAN",
            DataType::Int => "INT",
            DataType::Long => "BIGINT",
            DataType::Double => "DOUBLE",
            DataType::String => "STRING",
            DataType::Timestamp => "TIMESTAMP",
            DataType::Window => "STRUCT<start: TIMESTAMP, end: TIMESTAMP>",
            DataType::StringArray => "ARRAY<STRING>",
            DataType::Binary => "BINARY",
            DataType::Headers => "ARRAY<STRUCT<key: STRING, value: BINARY>>",
        }
    }

    /// The type name in Spark's JSON schema form (`StructType.jsonValue()`).
    pub const fn json_name(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Int => "integer",
            DataType::Long => "long",
            DataType::Double => "double",
            DataType::String => "string",
            DataType::Timestamp => "timestamp",
            DataType::Window => "struct",
            DataType::StringArray | DataType::Headers => "array",
            DataType::Binary => "binary",
        }
    }
}

/// One column of a [`Schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: &'static str,
    /// Spark type.
    pub data_type: DataType,
    /// Whether the column may hold null (the Rust field is an `Option`).
    pub nullable: bool,
}

impl Field {
    /// A field description.
    pub const fn new(name: &'static str, data_type: DataType, nullable: bool) -> Self {
        Field {
            name,
            data_type,
            nullable,
        }
    }
}

/// The columns of a row type: Spark's `StructType`.
///
/// ```
/// use sluice::value::{DataType, Field, Schema};
/// static FIELDS: [Field; 2] = [
///     Field::new("timestamp", DataType::Timestamp, false),
///     Field::new("value", DataType::Long, false),
/// ];
/// let schema = Schema::new(&FIELDS);
/// assert_eq!(
///     schema.tree_string(),
///     "root\n |-- timestamp: timestamp (nullable = false)\n |-- value: long (nullable = false)\n"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    fields: &'static [Field],
}

impl Schema {
    /// A schema over a static list of fields.
    pub const fn new(fields: &'static [Field]) -> Self {
        Schema { fields }
    }

    /// The columns, in order.
    pub const fn fields(&self) -> &'static [Field] {
        self.fields
    }

    /// Number of columns.
    pub const fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the schema has no columns.
    pub const fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }

    /// The index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Spark's `printSchema()` text (`root` then ` |-- name: type (nullable = ...)` lines).
    pub fn tree_string(&self) -> String {
        let mut out = String::from("root\n");
        for f in self.fields {
            out.push_str(&format!(
                " |-- {}: {} (nullable = {})\n",
                f.name,
                f.data_type.simple_name(),
                f.nullable
            ));
            match f.data_type {
                DataType::Window => {
                    out.push_str(" |    |-- start: timestamp (nullable = true)\n");
                    out.push_str(" |    |-- end: timestamp (nullable = true)\n");
                }
                DataType::StringArray => {
                    out.push_str(" |    |-- element: string (containsNull = false)\n");
                }
                DataType::Headers => {
                    out.push_str(" |    |-- element: struct (containsNull = false)\n");
                    out.push_str(" |    |    |-- key: string (nullable = false)\n");
                    out.push_str(" |    |    |-- value: binary (nullable = true)\n");
                }
                _ => {}
            }
        }
        out
    }

    /// Prints [`Schema::tree_string`] to stdout followed by an empty line, as Spark's
    /// `printSchema()` does (`println(schema.treeString)`).
    pub fn print_tree(&self) {
        println!("{}", self.tree_string());
    }

    /// The schema in Spark's JSON form (`StructType.jsonValue()`).
    pub fn to_json(&self) -> serde_json::Value {
        let fields: Vec<serde_json::Value> = self
            .fields
            .iter()
            .map(|f| {
                let ty = match f.data_type {
                    DataType::Window => serde_json::json!({
                        "type": "struct",
                        "fields": [
                            {"name": "start", "type": "timestamp", "nullable": true, "metadata": {}},
                            {"name": "end", "type": "timestamp", "nullable": true, "metadata": {}},
                        ]
                    }),
                    DataType::StringArray => serde_json::json!({
                        "type": "array", "elementType": "string", "containsNull": false
                    }),
                    DataType::Headers => serde_json::json!({
                        "type": "array",
                        "elementType": {"type": "struct", "fields": [
                            {"name": "key", "type": "string", "nullable": false, "metadata": {}},
                            {"name": "value", "type": "binary", "nullable": true, "metadata": {}},
                        ]},
                        "containsNull": false
                    }),
                    other => serde_json::Value::String(other.json_name().to_string()),
                };
                serde_json::json!({"name": f.name, "type": ty, "nullable": f.nullable, "metadata": {}})
            })
            .collect();
        serde_json::json!({"type": "struct", "fields": fields})
    }
}

/// A single dynamically typed value, used where rows cross a boundary (console, files,
/// memory tables, checkpoints). `Display` prints it as Spark's `show()` does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// SQL `NULL` (printed `NULL`).
    #[default]
    Null,
    /// A `boolean`.
    Boolean(bool),
    /// An `int`.
    Int(i32),
    /// A `long`.
    Long(i64),
    /// A `double`.
    Double(f64),
    /// A `string`.
    String(String),
    /// A `timestamp`.
    Timestamp(Timestamp),
    /// A window struct.
    Window(Window),
    /// An `array<string>`.
    StringArray(Vec<String>),
    /// A `binary` (printed as Spark prints bytes: `[68 65 6C 6C 6F]`).
    Binary(Vec<u8>),
    /// Kafka record headers: `array<struct<key: string, value: binary>>`.
    Headers(Vec<Header>),
}

/// One Kafka record header: Spark's `struct<key: string, value: binary>` (the value may be
/// null).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Header {
    /// The header's name.
    pub key: String,
    /// Its bytes; `None` for a header without a value.
    pub value: Option<Vec<u8>>,
}

impl Header {
    /// A header with a value.
    pub fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Header {
            key: key.into(),
            value: Some(value.into()),
        }
    }
}

/// Appends bytes as Spark's `show()` prints a binary value: upper-case hex pairs separated by
/// spaces, in brackets (`[68 69]`).
///
/// ```
/// let mut s = String::new();
/// stream_runtime::value::push_binary_display(b"hi", &mut s);
/// assert_eq!(s, "[68 69]");
/// ```
pub fn push_binary_display(bytes: &[u8], out: &mut String) {
    use std::fmt::Write;
    out.push('[');
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02X}");
    }
    out.push(']');
}

/// Bytes as base64 text (standard alphabet, padded), as Spark's JSON writer writes binary.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 text back to bytes (standard alphabet, padding optional); `None` if it is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

impl Value {
    /// Whether this is SQL `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value's type, `None` for null.
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => DataType::Boolean,
            Value::Int(_) => DataType::Int,
            Value::Long(_) => DataType::Long,
            Value::Double(_) => DataType::Double,
            Value::String(_) => DataType::String,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::Window(_) => DataType::Window,
            Value::StringArray(_) => DataType::StringArray,
            Value::Binary(_) => DataType::Binary,
            Value::Headers(_) => DataType::Headers,
        })
    }

    /// Spark's ordering for sorting (`ORDER BY ... ASC NULLS FIRST`): nulls first, NaN greater
    /// than every other double, `-0.0 == 0.0`. Values of different types compare by type.
    pub fn spark_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Boolean(a), Boolean(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Long(a), Long(b)) => a.cmp(b),
            (Int(a), Long(b)) => i64::from(*a).cmp(b),
            (Long(a), Int(b)) => a.cmp(&i64::from(*b)),
            (Double(a), Double(b)) => crate::double::cmp_f64(*a, *b),
            (String(a), String(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (Window(a), Window(b)) => a.cmp(b),
            (StringArray(a), StringArray(b)) => a.cmp(b),
            // Spark compares binary as unsigned bytes, lexicographically: as Rust's `[u8]`.
            (Binary(a), Binary(b)) => a.cmp(b),
            (Headers(a), Headers(b)) => a.cmp(b),
            (a, b) => a.type_rank().cmp(&b.type_rank()),
        }
    }

    fn type_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Boolean(_) => 1,
            Value::Int(_) => 2,
            Value::Long(_) => 3,
            Value::Double(_) => 4,
            Value::String(_) => 5,
            Value::Timestamp(_) => 6,
            Value::Window(_) => 7,
            Value::StringArray(_) => 8,
            Value::Binary(_) => 9,
            Value::Headers(_) => 10,
        }
    }

    /// The value as JSON, in the form Spark's JSON writer and the oracle files use: timestamps
    /// as RFC 3339 text, windows as `{"start":..,"end":..}`, NaN as the string `"NaN"`,
    /// binary as base64 text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Boolean(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Long(i) => J::from(*i),
            Value::Double(d) if d.is_finite() => J::from(*d),
            Value::Double(d) => J::String(format_double(*d)),
            Value::String(s) => J::String(s.clone()),
            Value::Timestamp(t) => J::String(t.to_rfc3339()),
            Value::Window(w) => {
                serde_json::json!({"start": w.start.to_rfc3339(), "end": w.end.to_rfc3339()})
            }
            Value::StringArray(v) => J::Array(v.iter().map(|s| J::String(s.clone())).collect()),
            Value::Binary(b) => J::String(base64_encode(b)),
            Value::Headers(headers) => J::Array(headers.iter().map(header_json).collect()),
        }
    }
}

/// A header as JSON, `{"key": .., "value": <base64>}`; a null value is left out, as Spark's
/// JSON writer leaves out null fields.
pub(crate) fn header_json(h: &Header) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("key".into(), serde_json::Value::String(h.key.clone()));
    if let Some(v) = &h.value {
        object.insert("value".into(), serde_json::Value::String(base64_encode(v)));
    }
    serde_json::Value::Object(object)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Long(i) => write!(f, "{i}"),
            Value::Double(d) => f.write_str(&format_double(*d)),
            Value::String(s) => f.write_str(s),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::Window(w) => write!(f, "{w}"),
            Value::StringArray(v) => write!(f, "[{}]", v.join(", ")),
            Value::Binary(b) => {
                let mut s = String::new();
                push_binary_display(b, &mut s);
                f.write_str(&s)
            }
            Value::Headers(headers) => {
                // Spark's `show()` of an array of structs: `[{k, [76]}, {k2, NULL}]`.
                let mut s = String::from("[");
                for (i, h) in headers.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    s.push('{');
                    s.push_str(&h.key);
                    s.push_str(", ");
                    match &h.value {
                        Some(v) => push_binary_display(v, &mut s),
                        None => s.push_str("NULL"),
                    }
                    s.push('}');
                }
                s.push(']');
                f.write_str(&s)
            }
        }
    }
}

pub use crate::double::format_double;

/// An error converting a [`Value`] into a typed column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("expected a value of type {expected}, found {found}")]
pub struct ValueTypeError {
    /// The Spark type the column has.
    pub expected: &'static str,
    /// What was found instead.
    pub found: String,
}

/// A Rust type that can be a column: ties it to its Spark [`DataType`] and converts it to and
/// from [`Value`]. Implemented for `bool`, `i32`, `i64`, `f64`, `String`, [`Timestamp`],
/// [`Window`], `Vec<String>`, `Vec<u8>` (binary), `Vec<Header>`, and `Option<T>` of each (a
/// nullable column).
pub trait ColumnType: Sized {
    /// The Spark type.
    const DATA_TYPE: DataType;
    /// Whether the column is nullable (`Option<T>`).
    const NULLABLE: bool = false;
    /// Converts to a dynamic value.
    fn to_value(&self) -> Value;
    /// Converts from a dynamic value.
    fn from_value(value: Value) -> Result<Self, ValueTypeError>;
}

fn type_error(expected: DataType, found: &Value) -> ValueTypeError {
    ValueTypeError {
        expected: expected.sql_name(),
        found: match found.data_type() {
            Some(t) => t.sql_name().to_string(),
            None => "NULL".to_string(),
        },
    }
}

macro_rules! column_type {
    ($ty:ty, $variant:ident, $dt:expr) => {
        impl ColumnType for $ty {
            const DATA_TYPE: DataType = $dt;
            fn to_value(&self) -> Value {
                Value::$variant(self.clone())
            }
            fn from_value(value: Value) -> Result<Self, ValueTypeError> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(type_error($dt, &other)),
                }
            }
        }
    };
}

column_type!(bool, Boolean, DataType::Boolean);
column_type!(i32, Int, DataType::Int);
column_type!(f64, Double, DataType::Double);
column_type!(String, String, DataType::String);
column_type!(Timestamp, Timestamp, DataType::Timestamp);
column_type!(Window, Window, DataType::Window);
column_type!(Vec<String>, StringArray, DataType::StringArray);
column_type!(Vec<u8>, Binary, DataType::Binary);
column_type!(Vec<Header>, Headers, DataType::Headers);

impl ColumnType for i64 {
    const DATA_TYPE: DataType = DataType::Long;
    fn to_value(&self) -> Value {
        Value::Long(*self)
    }
    fn from_value(value: Value) -> Result<Self, ValueTypeError> {
        match value {
            Value::Long(v) => Ok(v),
            // An int widens to a long without loss.
            Value::Int(v) => Ok(i64::from(v)),
            other => Err(type_error(DataType::Long, &other)),
        }
    }
}

impl<T: ColumnType> ColumnType for Option<T> {
    const DATA_TYPE: DataType = T::DATA_TYPE;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
    fn from_value(value: Value) -> Result<Self, ValueTypeError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests;
