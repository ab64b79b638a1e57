//! Checkpoints: what makes a query restartable without losing or doubling anything (Spark's
//! `checkpointLocation`).
//!
//! Layout of a checkpoint directory (documented in `docs/checkpoint.md`):
//!
//! ```text
//! metadata                 query id, pipeline name, plan fingerprint (JSON)
//! offsets/<batch>          the batch's source range, watermarks and timestamp — written
//!                          before the batch runs (JSON)
//! commits/<batch>          written after the sink accepted the batch: the watermark for the
//!                          next batch (JSON)
//! state/<batch>.snapshot   the pipeline's state after the batch, every N batches (binary,
//!                          versioned, checksummed)
//! sources/0/metadata       what the source needs to resume (the rate source's start time)
//! sinks/0/                 what the sink needs to resume (the file sink's batch numbering)
//! lock                     who runs the query now: one process at a time (see [`lock`])
//! ```
//!
//! Every file is written atomically: a temporary file in the same directory, `fsync`, rename,
//! `fsync` of the directory. A batch is committed once `commits/<batch>` exists. On restart the
//! latest snapshot at or before the last committed batch is restored, the committed batches
//! after it are replayed from their recorded offsets (their output is not sent again), and a
//! batch that was planned but not committed is re-run with exactly its recorded offsets,
//! watermark and timestamp, so a deterministic pipeline re-emits the same rows under the same
//! batch id.

pub(crate) mod consistency;
pub mod lock;

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::durable_file;
use crate::error::{Error, Result};
use crate::pipeline::PipelineInfo;

use consistency::Listing;
use lock::CheckpointLock;

/// The format version of every checkpoint file Sluice writes.
pub const CHECKPOINT_VERSION: u32 = 2;

const SNAPSHOT_MAGIC: &[u8; 8] = b"SLUICESN";
const SNAPSHOT_HEADER: usize = 8 + 4 + 8 + 8 + 4 + 4 + 8 + 4;

/// Checkpoint options of a query.
#[derive(Debug, Clone)]
pub struct CheckpointConfig {
    /// The checkpoint directory (created if missing).
    pub location: PathBuf,
    /// Write a state snapshot every this many batches (at least 1). Batches since the last
    /// snapshot are replayed from their recorded offsets on restart.
    pub snapshot_interval: u64,
    /// How many batches of offset and commit logs to keep (Spark's `minBatchesToRetain`).
    pub retain_batches: u64,
    /// The state partitions a new checkpoint gets (Spark's `spark.sql.shuffle.partitions`): the
    /// unit of state snapshots, and the most threads (or processes) a stateful query's reduce
    /// side can use. An existing checkpoint keeps the number it was created with.
    pub state_partitions: usize,
}

impl CheckpointConfig {
    /// A checkpoint at `location` with the defaults: a snapshot every 10 batches, 100 batches of
    /// logs kept.
    pub fn new(location: impl Into<PathBuf>) -> Self {
        CheckpointConfig {
            location: location.into(),
            snapshot_interval: 10,
            retain_batches: 100,
            state_partitions: crate::operator::aggregate::DEFAULT_STATE_PARTITIONS,
        }
    }
}

/// `metadata`: who wrote this checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueryMetadata {
    pub(crate) version: u32,
    pub(crate) id: Uuid,
    pub(crate) pipeline: String,
    pub(crate) fingerprint: String,
    /// The state partitions, fixed when the checkpoint was created (Spark's
    /// `spark.sql.shuffle.partitions`, recorded in its offset log's metadata).
    pub(crate) state_partitions: usize,
}

/// `offsets/<batch>`: what a batch reads and runs under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OffsetRecord {
    pub(crate) version: u32,
    pub(crate) batch_id: u64,
    /// The end offset of the previous batch (`null` for the first).
    pub(crate) start: Option<serde_json::Value>,
    /// The end offset of this batch.
    pub(crate) end: serde_json::Value,
    /// Whether the batch reads new data (false: Spark's no-data batch).
    pub(crate) has_data: bool,
    /// The watermark the batch runs under (µs).
    pub(crate) watermark_us: Option<i64>,
    /// The watermark the previous batch ran under (µs): the late-row threshold.
    pub(crate) late_watermark_us: Option<i64>,
    /// The batch's processing time (µs): `current_timestamp()`.
    pub(crate) batch_timestamp_us: i64,
}

/// `commits/<batch>`: the batch is done; the watermark the next batch runs under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CommitRecord {
    pub(crate) version: u32,
    pub(crate) batch_id: u64,
    /// The global watermark after this batch (µs).
    pub(crate) next_watermark_us: Option<i64>,
    /// Each watermark node's own watermark after this batch (ms), for the `min` policy.
    pub(crate) node_watermarks_ms: Vec<Option<i64>>,
}

/// What a restarting query finds in its checkpoint.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    /// The last committed batch, its offsets and commit record.
    pub(crate) committed: Option<(OffsetRecord, CommitRecord)>,
    /// A state snapshot at or before the last committed batch: `(batch, one payload per state
    /// partition)`.
    pub(crate) snapshot: Option<(u64, Vec<Vec<u8>>)>,
    /// Committed batches after the snapshot, to replay in order.
    pub(crate) replay: Vec<OffsetRecord>,
    /// A batch planned but not committed: re-run it first, exactly.
    pub(crate) pending: Option<OffsetRecord>,
}

/// An open checkpoint directory.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    dir: PathBuf,
    config: CheckpointConfig,
    fingerprint: u64,
    /// The state partitions (from the checkpoint's metadata once it exists).
    state_partitions: usize,
    /// Whether the query has state: a stateless query writes no snapshots, and a restart needs
    /// only its last batch's logs.
    stateful: bool,
    last_snapshot: Option<u64>,
    /// Held while the query runs; released when the checkpoint is dropped.
    _lock: CheckpointLock,
}

fn checkpoint_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    checkpoint_error(path, format!("{what}: {e}"))
}

/// Writes `bytes` to `path` atomically (see [`crate::durable_file`]), as a checkpoint error if it fails.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, || ())
}

fn write_atomic_with(path: &Path, bytes: &[u8], before_rename: impl FnOnce()) -> Result<()> {
    durable_file::write_file_with(path, bytes, before_rename)
        .map_err(|e| checkpoint_error(path, e.to_string()))
}

/// A recorded offset as the source's offset type.
pub(crate) fn decode_offset<O: DeserializeOwned>(value: &serde_json::Value) -> Result<O> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Checkpoint {
        path: "offsets".into(),
        message: format!("recorded offset {value} does not fit this source: {e}"),
    })
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| io_error(path, "cannot read", e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| checkpoint_error(path, format!("corrupt or truncated file: {e}")))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).expect("checkpoint records serialise");
    write_atomic(path, &bytes)
}

/// The directory of state partition `partition`'s snapshots (operator 0: a query has one
/// stateful operator).
pub(crate) fn snapshot_dir(checkpoint: &Path, partition: usize) -> PathBuf {
    checkpoint
        .join("state")
        .join("0")
        .join(partition.to_string())
}

/// The batch ids present in a log directory (files named by their batch id), ascending.
fn batch_ids(dir: &Path, suffix: &str) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(io_error(dir, "cannot list", e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "cannot list", e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(id) = name
            .strip_suffix(suffix)
            .and_then(|n| n.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

impl Checkpoint {
    /// Opens (or creates) the checkpoint for a query running `info`. Refuses a checkpoint
    /// written by a different plan. Returns the query id to use (the one recorded, or a new one)
    /// and what a restart must recover.
    pub(crate) fn open(
        config: CheckpointConfig,
        info: &PipelineInfo,
    ) -> Result<(Checkpoint, Uuid, Recovery)> {
        let dir = config.location.clone();
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "cannot create", e))?;
        // Nothing is read before the lock is held: another process may be writing.
        let lock = CheckpointLock::acquire(&dir)?;
        for sub in ["offsets", "commits", "state", "sources/0", "sinks/0"] {
            fs::create_dir_all(dir.join(sub))
                .map_err(|e| io_error(&dir.join(sub), "cannot create", e))?;
        }
        let fingerprint = format!("{:016x}", info.fingerprint);
        let meta_path = dir.join("metadata");
        let listing = Listing {
            has_metadata: meta_path.exists(),
            offsets: batch_ids(&dir.join("offsets"), "")?,
            commits: batch_ids(&dir.join("commits"), "")?,
            snapshots: batch_ids(&snapshot_dir(&dir, 0), ".snapshot")?,
        };
        consistency::check_logs(&dir, &listing)?;
        let (id, state_partitions) = if listing.has_metadata {
            let meta: QueryMetadata = read_json(&meta_path)?;
            if meta.version != CHECKPOINT_VERSION {
                let which = if meta.version > CHECKPOINT_VERSION {
                    "a newer"
                } else {
                    "an earlier"
                };
                return Err(checkpoint_error(
                    &meta_path,
                    format!(
                        "written by {which} Sluice (format version {}; this one reads version {CHECKPOINT_VERSION}): start from a new checkpoint location",
                        meta.version
                    ),
                ));
            }
            if meta.fingerprint != fingerprint {
                return Err(checkpoint_error(
                    &meta_path,
                    format!(
                        "written by a different query (pipeline `{}`, plan fingerprint {}); this query is `{}` with plan fingerprint {fingerprint}. \
                         Restarting from it would mix incompatible state: use a new checkpoint location",
                        meta.pipeline, meta.fingerprint, info.name
                    ),
                ));
            }
            if meta.state_partitions != config.state_partitions {
                tracing::warn!(
                    "{}: the checkpoint was created with {} state partitions; the query keeps them (it was asked for {})",
                    dir.display(),
                    meta.state_partitions,
                    config.state_partitions,
                );
            }
            (meta.id, meta.state_partitions.max(1))
        } else {
            let meta = QueryMetadata {
                version: CHECKPOINT_VERSION,
                id: Uuid::new_v4(),
                pipeline: info.name.to_string(),
                fingerprint: fingerprint.clone(),
                state_partitions: config.state_partitions.max(1),
            };
            write_json(&meta_path, &meta)?;
            (meta.id, meta.state_partitions)
        };
        let mut checkpoint = Checkpoint {
            dir,
            config,
            fingerprint: info.fingerprint,
            state_partitions,
            stateful: info.is_stateful(),
            last_snapshot: None,
            _lock: lock,
        };
        let recovery = checkpoint.recover(&listing)?;
        Ok((checkpoint, id, recovery))
    }

    fn offsets_path(&self, batch: u64) -> PathBuf {
        self.dir.join("offsets").join(batch.to_string())
    }

    fn commits_path(&self, batch: u64) -> PathBuf {
        self.dir.join("commits").join(batch.to_string())
    }

    fn snapshot_path(&self, batch: u64, partition: usize) -> PathBuf {
        snapshot_dir(&self.dir, partition).join(format!("{batch}.snapshot"))
    }

    /// The state partitions of this checkpoint.
    pub(crate) fn state_partitions(&self) -> usize {
        self.state_partitions
    }

    fn recover(&mut self, listing: &Listing) -> Result<Recovery> {
        let mut records = listing
            .offsets
            .iter()
            .map(|&id| Ok((id, read_json::<OffsetRecord>(&self.offsets_path(id))?)))
            .collect::<Result<Vec<_>>>()?;
        let mut commits = listing
            .commits
            .iter()
            .map(|&id| Ok((id, read_json::<CommitRecord>(&self.commits_path(id))?)))
            .collect::<Result<Vec<_>>>()?;
        consistency::check_records(&self.dir, &records, &commits)?;
        // `check_logs` made sure that every planned batch but the last is committed.
        let last_commit = commits.last().map(|(id, _)| *id);
        let pending = match (records.last(), last_commit) {
            (Some((planned, _)), Some(c)) if *planned <= c => None,
            (Some(_), _) => records.pop().map(|(_, r)| r),
            (None, _) => None,
        };
        let (Some(last_commit), Some((_, commit))) = (last_commit, commits.pop()) else {
            return Ok(Recovery {
                pending,
                ..Recovery::default()
            });
        };
        // The latest readable snapshot at or before the last commit; a corrupt one is skipped
        // for an earlier one, whose later batches are then replayed.
        let mut snapshot = None;
        let mut corrupt = Vec::new();
        for &id in listing.snapshots.iter().rev() {
            if id > last_commit {
                continue;
            }
            match self.read_snapshot(id) {
                Ok(bytes) => {
                    snapshot = Some((id, bytes));
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        "{e}; restoring the state from an earlier snapshot and replaying the \
                         batches after it instead"
                    );
                    corrupt.push(e.to_string());
                }
            }
        }
        // A stateless query has nothing to rebuild: it resumes after its last commit.
        let replay_from = match &snapshot {
            _ if !self.stateful => last_commit + 1,
            Some((id, _)) => id + 1,
            None => 0,
        };
        let first_logged = records.first().map_or(last_commit + 1, |(id, _)| *id);
        if replay_from < first_logged {
            let why = if corrupt.is_empty() {
                "no state snapshot covers the batches before it".to_string()
            } else {
                format!(
                    "the state snapshots that would cover it are unusable ({})",
                    corrupt.join("; ")
                )
            };
            return Err(checkpoint_error(
                &self.offsets_path(replay_from),
                format!(
                    "offsets of batch {replay_from} were purged and {why}: the state cannot be \
                     rebuilt. Restore the snapshots from a backup, or start from a new \
                     checkpoint location"
                ),
            ));
        }
        let committed_offsets = records
            .last()
            .map(|(_, r)| r.clone())
            .expect("check_logs: the last committed batch is logged");
        let replay: Vec<OffsetRecord> = records
            .into_iter()
            .filter(|(id, _)| *id >= replay_from)
            .map(|(_, r)| r)
            .collect();
        self.last_snapshot = snapshot.as_ref().map(|(id, _)| *id);
        Ok(Recovery {
            committed: Some((committed_offsets, commit)),
            snapshot,
            replay,
            pending,
        })
    }

    /// Records the plan of a batch before it runs.
    pub(crate) fn write_offsets(&self, record: &OffsetRecord) -> Result<()> {
        write_json(&self.offsets_path(record.batch_id), record)
    }

    /// Whether batch `batch` should leave a state snapshot.
    pub(crate) fn snapshot_due(&self, batch: u64) -> bool {
        self.last_snapshot
            .is_none_or(|last| batch >= last + self.config.snapshot_interval.max(1))
    }

    /// Writes the state after batch `batch`: one file per state partition, each replaced
    /// atomically. Partition 0 is written last, so a snapshot is listed only once the others
    /// are on disk; a crash in between leaves files a restart ignores.
    pub(crate) fn write_snapshot(&mut self, batch: u64, parts: &[Vec<u8>]) -> Result<()> {
        assert_eq!(
            parts.len(),
            self.state_partitions,
            "one payload per state partition"
        );
        for partition in (0..parts.len()).rev() {
            let payload = &parts[partition];
            let mut bytes = Vec::with_capacity(SNAPSHOT_HEADER + payload.len());
            bytes.extend_from_slice(SNAPSHOT_MAGIC);
            bytes.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
            bytes.extend_from_slice(&self.fingerprint.to_le_bytes());
            bytes.extend_from_slice(&batch.to_le_bytes());
            bytes.extend_from_slice(&(partition as u32).to_le_bytes());
            bytes.extend_from_slice(&(parts.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            bytes.extend_from_slice(payload);
            let path = self.snapshot_path(batch, partition);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| io_error(dir, "cannot create", e))?;
            }
            write_atomic_with(&path, &bytes, || {
                if partition == 0 {
                    crate::failpoint::hit("mid_snapshot", batch)
                }
            })?;
        }
        self.last_snapshot = Some(batch);
        Ok(())
    }

    /// Reads and verifies a snapshot's payloads, one per state partition.
    fn read_snapshot(&self, batch: u64) -> Result<Vec<Vec<u8>>> {
        (0..self.state_partitions)
            .map(|partition| self.read_snapshot_partition(batch, partition))
            .collect()
    }

    fn read_snapshot_partition(&self, batch: u64, partition: usize) -> Result<Vec<u8>> {
        let path = self.snapshot_path(batch, partition);
        let bytes = fs::read(&path).map_err(|e| io_error(&path, "cannot read", e))?;
        let corrupt = |why: &str| checkpoint_error(&path, format!("corrupt state snapshot: {why}"));
        if bytes.len() < SNAPSHOT_HEADER || &bytes[..8] != SNAPSHOT_MAGIC {
            return Err(corrupt("not a Sluice state snapshot, or truncated"));
        }
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let version = u32_at(8);
        if version != CHECKPOINT_VERSION {
            return Err(corrupt(&format!(
                "format version {version}, expected {CHECKPOINT_VERSION}"
            )));
        }
        if u64_at(12) != self.fingerprint {
            return Err(corrupt("written by a different plan"));
        }
        if u64_at(20) != batch {
            return Err(corrupt("batch id does not match its file name"));
        }
        if u32_at(28) as usize != partition || u32_at(32) as usize != self.state_partitions {
            return Err(corrupt(&format!(
                "partition {} of {}, expected partition {partition} of {}",
                u32_at(28),
                u32_at(32),
                self.state_partitions
            )));
        }
        let len = u64_at(36) as usize;
        let payload = &bytes[SNAPSHOT_HEADER..];
        if payload.len() != len {
            return Err(corrupt(&format!(
                "truncated: {} of {len} payload bytes",
                payload.len()
            )));
        }
        if crc32fast::hash(payload) != u32_at(44) {
            return Err(corrupt("checksum mismatch"));
        }
        Ok(payload.to_vec())
    }

    /// Marks a batch committed.
    pub(crate) fn write_commit(&self, record: &CommitRecord) -> Result<()> {
        write_json(&self.commits_path(record.batch_id), record)
    }

    /// Deletes logs older than the retention and snapshots no restart can need.
    pub(crate) fn purge(&self, committed: u64) -> Result<()> {
        let keep_from = committed.saturating_sub(self.config.retain_batches.saturating_sub(1));
        // Snapshots: keep the newest two (the newest may be unreadable after a crash of the
        // disk), and never delete the logs a restart from the older one would replay.
        let snapshots = batch_ids(&snapshot_dir(&self.dir, 0), ".snapshot")?;
        let oldest_kept_snapshot = snapshots.iter().rev().nth(1).copied();
        // A stateless query replays nothing on restart: only the retention bounds its logs.
        let logs_from = match oldest_kept_snapshot {
            _ if !self.stateful => keep_from,
            Some(s) => keep_from.min(s + 1),
            None => 0,
        };
        if let Some(oldest) = oldest_kept_snapshot {
            for partition in 0..self.state_partitions {
                let dir = snapshot_dir(&self.dir, partition);
                for id in batch_ids(&dir, ".snapshot")? {
                    if id < oldest {
                        let _ = fs::remove_file(dir.join(format!("{id}.snapshot")));
                    }
                }
            }
        }
        for (dir, ids) in [
            ("offsets", batch_ids(&self.dir.join("offsets"), "")?),
            ("commits", batch_ids(&self.dir.join("commits"), "")?),
        ] {
            for id in ids.into_iter().filter(|id| *id < logs_from) {
                let _ = fs::remove_file(self.dir.join(dir).join(id.to_string()));
            }
        }
        Ok(())
    }

    /// The source's saved metadata, if any.
    pub(crate) fn source_metadata(&self) -> Result<Option<serde_json::Value>> {
        let path = self.dir.join("sources/0/metadata");
        if path.exists() {
            read_json(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Saves the source's metadata (once, when the query first starts).
    pub(crate) fn write_source_metadata(&self, value: &serde_json::Value) -> Result<()> {
        write_json(&self.dir.join("sources/0/metadata"), value)
    }

    /// The directory a source may keep its own files in (`sources/0`).
    pub(crate) fn source_dir(&self) -> PathBuf {
        self.dir.join("sources/0")
    }

    /// The directory a sink may keep its own files in (`sinks/0`).
    pub(crate) fn sink_dir(&self) -> PathBuf {
        self.dir.join("sinks/0")
    }

    /// The checkpoint directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests;
