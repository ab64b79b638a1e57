//! Sources: where a query's rows come from, in offset ranges (Spark's `MicroBatchStream`).
//!
//! The engine asks a source for its latest offset, plans a batch as the range from the last
//! committed offset to that one, reads the range, and commits it once the sink accepted the
//! batch. Offsets are small serialisable values so a checkpoint can record them; reading the
//! same range again yields the same rows.

pub mod file;
pub mod memory;
pub mod rate;
pub mod socket;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::error::Result;
use crate::row::Row;

pub use file::{FileOffset, FileOrder, FileSource};
pub use memory::MemoryStream;
pub use rate::RateSource;
pub use socket::SocketSource;

/// A position in a source's stream.
pub trait Offset:
    Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<T: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static> Offset
    for T
{
}

/// How much a batch may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadLimit {
    /// Everything available (`Trigger.Once`).
    AllAvailable,
    /// The source's own per-trigger cap (`maxFilesPerTrigger`, `max_batches_per_trigger`, ...).
    Configured,
}

/// What a source is given when its query starts.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The query's processing-time clock.
    pub clock: Clock,
    /// A directory the source may keep its own files in, inside the query's checkpoint
    /// (`sources/0`); `None` when the query has no checkpoint.
    pub metadata_dir: Option<PathBuf>,
}

impl SourceContext {
    /// A context with a clock and no metadata directory.
    pub fn new(clock: Clock) -> Self {
        SourceContext {
            clock,
            metadata_dir: None,
        }
    }

    /// Sets the directory the source keeps its metadata in.
    pub fn with_metadata_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.metadata_dir = Some(dir.into());
        self
    }
}

/// A chunk of a batch's rows: owned, or shared with other queries reading the same source.
#[derive(Debug, Clone)]
pub enum RowChunk<R> {
    /// Rows this batch owns.
    Owned(Vec<R>),
    /// Rows shared (e.g. a memory stream's batch read by two queries).
    Shared(Arc<[R]>),
}

impl<R> Deref for RowChunk<R> {
    type Target = [R];
    fn deref(&self) -> &[R] {
        match self {
            RowChunk::Owned(v) => v,
            RowChunk::Shared(a) => a,
        }
    }
}

/// What a backlog counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BacklogUnit {
    /// Files not read yet (the file source).
    Files,
    /// Rows (records, offsets) not read yet (a memory stream; Kafka's offsets behind latest).
    Rows,
}

impl BacklogUnit {
    /// The unit's name, as in the progress JSON: `files`, `rows`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BacklogUnit::Files => "files",
            BacklogUnit::Rows => "rows",
        }
    }
}

/// What a source has that its query has not read yet: the query's lag behind the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// What `pending` counts.
    pub unit: BacklogUnit,
    /// Everything left, over all partitions.
    pub pending: u64,
    /// What is left per partition, for sources that have partitions (Kafka: `topic-0`, ...);
    /// empty for the others.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub partitions: BTreeMap<String, u64>,
}

impl Backlog {
    /// A backlog of a source without partitions.
    pub fn new(unit: BacklogUnit, pending: u64) -> Self {
        Backlog {
            unit,
            pending,
            partitions: BTreeMap::new(),
        }
    }

    /// A backlog per partition; `pending` is their sum.
    pub fn per_partition(
        unit: BacklogUnit,
        partitions: impl IntoIterator<Item = (String, u64)>,
    ) -> Self {
        let partitions: BTreeMap<String, u64> = partitions.into_iter().collect();
        Backlog {
            unit,
            pending: partitions.values().sum(),
            partitions,
        }
    }
}

/// A streaming source.
pub trait Source: Send + 'static {
    /// The rows it produces.
    type Row: Row;
    /// Its offsets.
    type Offset: Offset;

    /// A description for progress reports (Spark's `description`).
    fn description(&self) -> String;

    /// Called once when the query starts.
    fn open(&mut self, ctx: &SourceContext) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// The latest offset a batch starting after `start` may read up to, within `limit`
    /// (`None`: nothing is available yet).
    fn latest_offset(
        &mut self,
        start: Option<&Self::Offset>,
        limit: ReadLimit,
    ) -> Result<Option<Self::Offset>>;

    /// The rows in `(start, end]`.
    fn get_batch(
        &mut self,
        start: Option<&Self::Offset>,
        end: &Self::Offset,
    ) -> Result<Vec<RowChunk<Self::Row>>>;

    /// Everything up to `end` is processed and will never be asked for again.
    fn commit(&mut self, end: &Self::Offset) -> Result<()> {
        let _ = end;
        Ok(())
    }

    /// `Trigger.AvailableNow` starts: from now on, report no offset beyond what is available
    /// at this moment.
    fn prepare_for_available_now(&mut self) -> Result<()> {
        Ok(())
    }

    /// What the source must find again after a restart (e.g. the rate source's start time),
    /// saved in the checkpoint when the query first starts.
    fn checkpoint_metadata(&self) -> Option<serde_json::Value> {
        None
    }

    /// Called before `open` on a restart with what [`Source::checkpoint_metadata`] returned the
    /// first time.
    fn restore_metadata(&mut self, metadata: serde_json::Value) -> Result<()> {
        let _ = metadata;
        Ok(())
    }

    /// What is left to read after `processed` (the end offset of the last batch; `None` before
    /// the first): the query's lag, where the source knows it without reading the data. Under
    /// `Trigger::AvailableNow` only what the run will read (what was available when it
    /// started). The engine asks once per batch, after the batch committed, and once when an
    /// available-now run starts; progress reports, the live page and `/metrics` show it.
    /// `None` (the default): the source cannot tell (the rate and socket sources).
    fn backlog(&self, processed: Option<&Self::Offset>) -> Option<Backlog> {
        let _ = processed;
        None
    }

    /// Whether the source applies a query's scan-level filters before counting input rows,
    /// as Spark's file sources do with pushed-down filters.
    fn counts_rows_after_scan_filters(&self) -> bool {
        false
    }

    /// The query stops.
    fn stop(&mut self) {}
}
