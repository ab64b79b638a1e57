//! A static table read once from a file: Spark's `spark.read.format(...).load(path)` with the
//! file formats Sluice has (CSV, JSON lines, Parquet), in `PERMISSIVE` mode as a batch read is
//! by default (an unparsable field becomes null, the row is kept).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{FileFormat, ParseMode, ReadContext};
use crate::row::Row;

/// Reads the rows of `path` — one file, or every file of a directory in name order, skipping
/// the names Spark skips (starting with `_` or `.`) — in `format`.
pub fn read_table<R: Row>(format: impl Into<FileFormat>, path: impl AsRef<Path>) -> Result<Vec<R>> {
    let format = format.into().prepare(R::SCHEMA)?;
    let path = path.as_ref();
    let io = |e: std::io::Error| Error::Source {
        source_name: path.display().to_string(),
        message: format!("cannot read the static table: {e}"),
    };
    let mut rows = Vec::new();
    for file in table_files(path)? {
        let bytes = std::fs::read(&file).map_err(io)?;
        let name = file.display().to_string();
        let ctx = ReadContext::new(&name, R::SCHEMA, ParseMode::Permissive, "_corrupt_record")?;
        rows.extend(format.read::<R>(&bytes, &ctx)?);
    }
    Ok(rows)
}

/// The files of a table at `path`: the file itself, or every file of the directory in name
/// order, without the names Spark skips (starting with `_` or `.`).
pub(super) fn table_files(path: &Path) -> Result<Vec<PathBuf>> {
    let io = |e: std::io::Error| Error::Source {
        source_name: path.display().to_string(),
        message: format!("cannot read the static table: {e}"),
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()).map_err(io))
            .collect::<Result<_>>()?;
        files.retain(|f| {
            f.is_file()
                && f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('_') && !n.starts_with('.'))
        });
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Csv, Json};
    use crate::row::RateRow;
    use crate::time::Timestamp;

    #[test]
    fn a_file_and_a_directory_of_files_are_read_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.csv"), "1970-01-01T00:00:02Z,2\n").unwrap();
        std::fs::write(dir.path().join("a.csv"), "1970-01-01T00:00:01Z,1\nbad,x\n").unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        let one: Vec<RateRow> = read_table(Csv::new(), dir.path().join("b.csv")).unwrap();
        assert_eq!(
            one,
            [RateRow {
                timestamp: Timestamp::from_micros(2_000_000),
                value: 2
            }]
        );
        // The unparsable record's non-nullable columns cannot hold null: PERMISSIVE drops it.
        let all: Vec<RateRow> = read_table(Csv::new(), dir.path()).unwrap();
        let values: Vec<i64> = all.iter().map(|r| r.value).collect();
        assert_eq!(values, [1, 2]);
        let json: Vec<RateRow> = {
            std::fs::write(
                dir.path().join("t.json"),
                "{\"timestamp\":\"1970-01-01T00:00:03Z\",\"value\":3}\n",
            )
            .unwrap();
            read_table(Json::new(), dir.path().join("t.json")).unwrap()
        };
        assert_eq!(json[0].value, 3);
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn a_parquet_file_is_read_whole() {
        use crate::format::Parquet;
        let rows: Vec<RateRow> = (0..3)
            .map(|i| RateRow {
                timestamp: Timestamp::from_micros(i * 1_000_000),
                value: i,
            })
            .collect();
        let format = FileFormat::from(Parquet::new())
            .prepare(RateRow::SCHEMA)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, format.write(&rows).unwrap()).unwrap();
        let read: Vec<RateRow> = read_table(Parquet::new(), &path).unwrap();
        assert_eq!(read, rows);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = read_table::<RateRow>(Csv::new(), "/nonexistent/devices.csv").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("source /nonexistent/devices.csv: cannot read the static table:"),
            "{err}"
        );
    }
}
