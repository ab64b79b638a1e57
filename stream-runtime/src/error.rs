//! The runtime's error type. Messages keep Spark's error classes (`[DIVIDE_BY_ZERO]`,
//! `[STREAMING_OUTPUT_MODE.INVALID]`, ...) so that a Spark user recognises them.

use std::path::PathBuf;

/// Result alias for the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong defining, starting or running a streaming query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query was rejected before it ran (Spark's `AnalysisException`).
    #[error("{0}")]
    Analysis(String),

    /// An invalid argument or option (Spark's `IllegalArgumentException`).
    #[error("{0}")]
    InvalidArgument(String),

    /// An expression failed while the query ran, with Spark's error class
    /// (`DIVIDE_BY_ZERO`, `ARITHMETIC_OVERFLOW`, `CAST_INVALID_INPUT`, ...).
    #[error("[{class}] {message}")]
    Execution {
        /// Spark's error class.
        class: &'static str,
        /// What happened.
        message: String,
    },

    /// A source failed to plan or read a batch.
    #[error("source {source_name}: {message}")]
    Source {
        /// The source's description.
        source_name: String,
        /// What happened.
        message: String,
    },

    /// An input record could not be parsed and the source runs in `FAILFAST` mode.
    #[error(
        "[MALFORMED_RECORD_IN_PARSING] malformed record in {file}, line {line}{}: {message}",
        field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default()
    )]
    MalformedRecord {
        /// The file (or stream) the record came from.
        file: String,
        /// 1-based line number.
        line: u64,
        /// The field that failed, when known.
        field: Option<String>,
        /// What was wrong.
        message: String,
    },

    /// A message payload (a Kafka record's value, ...) could not be parsed by a `parse`
    /// clause running in `fail_fast` mode.
    #[error(
        "[MALFORMED_RECORD_IN_PARSING] malformed {format} record in `{column}`{}: {message}; the record: {record}. Parse mode: fail_fast (permissive would give nulls, drop_malformed would drop the row).",
        field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default()
    )]
    MalformedPayload {
        /// The payload column (`value`).
        column: String,
        /// `JSON` or `CSV`.
        format: String,
        /// The record's text (its first 200 characters).
        record: String,
        /// The field that failed, when known.
        field: Option<String>,
        /// What was wrong.
        message: String,
    },

    /// A sink failed to accept a batch.
    #[error("sink {sink_name}: {message}")]
    Sink {
        /// The sink's description.
        sink_name: String,
        /// What happened.
        message: String,
    },

    /// The checkpoint directory is unusable (corrupt, incompatible, unreadable).
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// Another process holds the checkpoint's lock: it runs a query on the same checkpoint.
    #[error("checkpoint {}: {message}", path.display())]
    CheckpointInUse {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, and what to do.
        message: String,
    },

    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What the runtime was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Spark's `[DIVIDE_BY_ZERO]`: a `/` or `%` whose divisor is zero (ANSI mode, Spark 4's
    /// default).
    #[cold]
    pub fn divide_by_zero() -> Self {
        Error::Execution {
            class: "DIVIDE_BY_ZERO",
            message: "Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead.".into(),
        }
    }

    /// Spark's `[ARITHMETIC_OVERFLOW]` for an integer operation (ANSI mode).
    #[cold]
    pub fn arithmetic_overflow(type_name: &str) -> Self {
        Error::Execution {
            class: "ARITHMETIC_OVERFLOW",
            message: format!(
                "{type_name} overflow. Use 'try_add' / 'try_multiply' to tolerate overflow and return NULL instead."
            ),
        }
    }

    /// Spark's `[CAST_INVALID_INPUT]`: a string that does not parse as the target type.
    #[cold]
    pub fn cast_invalid_input(value: &str, from: &str, to: &str) -> Self {
        Error::Execution {
            class: "CAST_INVALID_INPUT",
            message: format!(
                "The value '{value}' of the type \"{from}\" cannot be cast to \"{to}\" because it is malformed. Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead."
            ),
        }
    }

    /// Spark's `[CAST_OVERFLOW]`: a numeric value out of the target type's range.
    #[cold]
    pub fn cast_overflow(value: &str, from: &str, to: &str) -> Self {
        Error::Execution {
            class: "CAST_OVERFLOW",
            message: format!(
                "The value {value} of the type \"{from}\" cannot be cast to \"{to}\" due to an overflow. Use `try_cast` to tolerate overflow and return NULL instead."
            ),
        }
    }

    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Spark's error class, when the error has one.
    pub fn error_class(&self) -> Option<&str> {
        match self {
            Error::Execution { class, .. } => Some(class),
            Error::MalformedRecord { .. } | Error::MalformedPayload { .. } => {
                Some("MALFORMED_RECORD_IN_PARSING")
            }
            Error::Analysis(msg) | Error::InvalidArgument(msg) => msg
                .strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .map(|(class, _)| class),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_spark_error_classes() {
        let e = Error::divide_by_zero();
        assert!(
            e.to_string()
                .starts_with("[DIVIDE_BY_ZERO] Division by zero.")
        );
        assert_eq!(e.error_class(), Some("DIVIDE_BY_ZERO"));
        let e = Error::Analysis(
            "[STREAMING_OUTPUT_MODE.INVALID] Invalid streaming output mode: foo.".into(),
        );
        assert_eq!(e.error_class(), Some("STREAMING_OUTPUT_MODE.INVALID"));
        let e = Error::MalformedRecord {
            file: "in.csv".into(),
            line: 3,
            field: Some("value".into()),
            message: "cannot parse `x` as a double".into(),
        };
        assert_eq!(
            e.to_string(),
            "[MALFORMED_RECORD_IN_PARSING] malformed record in in.csv, line 3, field `value`: cannot parse `x` as a double"
        );
    }
}
