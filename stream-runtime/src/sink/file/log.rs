//! The file sink's metadata log, in Spark's format: `_spark_metadata/<batchId>` lists the files
//! the batch committed (`v1`, then one `SinkFileStatus` JSON object per line). A batch's files
//! are output once, and only once, its entry exists; readers go through the log, never through
//! a directory listing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable_file;
use crate::error::{Error, Result};

/// The metadata log's directory inside the output directory (Spark's name).
pub const METADATA_DIR: &str = "_spark_metadata";
const LOG_VERSION: &str = "v1";

/// One line of a metadata log entry: Spark's `SinkFileStatus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SinkFileStatus {
    path: String,
    size: u64,
    is_dir: bool,
    modification_time: i64,
    block_replication: u32,
    block_size: u64,
    action: String,
}

/// One batch's entry of the metadata log.
#[derive(Debug)]
pub(super) struct LogEntry {
    pub(super) batch_id: u64,
    /// Spark compacts the log every few batches into `<batch>.compact`, which lists every file
    /// committed up to that batch.
    pub(super) compact: bool,
    files: Vec<SinkFileStatus>,
}

/// The metadata log of the sink output in `dir`, by batch id; empty if there is none.
pub(super) fn read_log(dir: &Path) -> Result<Vec<LogEntry>> {
    let metadata = dir.join(METADATA_DIR);
    let entries = match std::fs::read_dir(&metadata) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot list {}", metadata.display()), e)),
    };
    let mut log = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (number, compact) = match name.strip_suffix(".compact") {
            Some(n) => (n, true),
            None => (name.as_str(), false),
        };
        // Anything else (temporary files of an interrupted write) is not part of the log.
        let Ok(batch_id) = number.parse::<u64>() else {
            continue;
        };
        let path = entry.path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let mut lines = text.lines();
        if lines.next() != Some(LOG_VERSION) {
            return Err(Error::Checkpoint {
                path,
                message: format!("file sink log entry does not start with `{LOG_VERSION}`"),
            });
        }
        let files = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| Error::Checkpoint {
                    path: path.clone(),
                    message: format!("unreadable file sink log entry: {e}"),
                })
            })
            .collect::<Result<_>>()?;
        log.push(LogEntry {
            batch_id,
            compact,
            files,
        });
    }
    log.sort_by_key(|e| (e.batch_id, !e.compact));
    Ok(log)
}

/// The committed files of the sink output in `dir`, in the order they were committed, or
/// `None` if `dir` holds no metadata log.
pub(super) fn committed(dir: &Path) -> Result<Option<Vec<PathBuf>>> {
    if !dir.join(METADATA_DIR).is_dir() {
        return Ok(None);
    }
    let mut files: Vec<String> = Vec::new();
    for entry in read_log(dir)? {
        if entry.compact {
            files.clear();
        }
        for status in entry.files {
            match status.action.as_str() {
                "delete" => files.retain(|f| *f != status.path),
                _ => files.push(status.path),
            }
        }
    }
    Ok(Some(files.iter().map(|uri| resolve(dir, uri)).collect()))
}

/// A `file://` URI for a path, as Spark records paths in the log.
fn file_uri(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:=,+@".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// A logged path, resolved inside `dir` so that a moved output directory still reads: the
/// recorded path if it still exists, else the file of that name in `dir`.
fn resolve(dir: &Path, uri: &str) -> PathBuf {
    let raw = uri
        .strip_prefix("file://")
        .or_else(|| uri.strip_prefix("file:"))
        .unwrap_or(uri);
    let decoded = percent_decode(raw);
    let recorded = PathBuf::from(&decoded);
    if recorded.is_file() {
        return recorded;
    }
    let name = decoded.rsplit('/').next().unwrap_or(&decoded);
    dir.join(name)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl SinkFileStatus {
    /// The status of a file a batch added.
    pub(super) fn added(path: &Path, size: u64, modification_time: i64) -> Self {
        SinkFileStatus {
            path: file_uri(path),
            size,
            is_dir: false,
            modification_time,
            block_replication: 1,
            block_size: 32 * 1024 * 1024,
            action: "add".to_string(),
        }
    }
}

/// Commits a batch: writes its entry atomically, after its files.
pub(super) fn write_entry(dir: &Path, batch_id: u64, files: &[SinkFileStatus]) -> Result<()> {
    let mut entry = String::from(LOG_VERSION);
    for status in files {
        entry.push('\n');
        entry.push_str(&serde_json::to_string(status).expect("a file status serialises"));
    }
    durable_file::write_file(
        &dir.join(METADATA_DIR).join(batch_id.to_string()),
        entry.as_bytes(),
    )
}
