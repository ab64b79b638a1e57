//! Sources: where a query's rows come from, in offset ranges (Spark's `MicroBatchStream`).
//!
//! The engine asks a source for its latest offset, plans a batch as the range from the last
//! committed offset to that one, reads the range, and commits it once the sink accepted the
//! batch. Offsets are small serialisable values so a checkpoint can record them; reading the
//! same range again yields the same rows.

pub mod file;
pub mod input;
pub mod joined;
#[cfg(feature = "kafka")]
pub mod kafka;
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
pub use input::{BatchInput, Partition, PartitionReader, ReadPlan};
pub use joined::{JoinOffset, JoinSources, Sided};
#[cfg(feature = "kafka")]
pub use kafka::{KafkaOffset, KafkaSource, StartingOffsets, TopicPartition};
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

/// What a source reports for a batch besides its rows, taken by the engine after each batch
/// (see [`Source::take_metrics`]) and shown in the batch's [`SourceProgress`].
///
/// [`SourceProgress`]: crate::progress::SourceProgress
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMetrics {
    /// Records the malformed-record policy acted on: kept with nulls, or dropped.
    pub malformed_rows: u64,
    /// Of those, the records dropped (`DropMalformed`, or `Permissive` when a column that is
    /// not nullable cannot be read).
    pub malformed_rows_dropped: u64,
    /// Figures of this kind of source (Spark's `SourceProgress.metrics`), such as the file
    /// source's `numFilesChangedAfterRead`.
    pub custom: BTreeMap<String, String>,
}

impl SourceMetrics {
    /// Adds `n` to the source-specific counter `name`.
    pub fn add_custom(&mut self, name: &str, n: u64) {
        let entry = self
            .custom
            .entry(name.to_string())
            .or_insert_with(|| "0".into());
        let total = entry.parse::<u64>().unwrap_or(0) + n;
        *entry = total.to_string();
    }
}

/// A chunk of a batch's rows: owned, or a range of rows shared with other readers.
#[derive(Debug, Clone)]
pub enum RowChunk<R> {
    /// Rows this batch owns.
    Owned(Vec<R>),
    /// Rows shared (e.g. a memory stream's batch read by two queries, or by two tasks).
    Shared(Arc<[R]>),
    /// A range of shared rows: a chunk of a shared batch, handed out without copying a row.
    SharedRange(Arc<[R]>, std::ops::Range<usize>),
}

impl<R> Deref for RowChunk<R> {
    type Target = [R];
    fn deref(&self) -> &[R] {
        match self {
            RowChunk::Owned(v) => v,
            RowChunk::Shared(a) => a,
            RowChunk::SharedRange(a, range) => &a[range.clone()],
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

    /// Spark's Kafka source metrics over the partitions: `minOffsetsBehindLatest`,
    /// `maxOffsetsBehindLatest` and `avgOffsetsBehindLatest` (the average printed as a double,
    /// as the JVM prints it). Empty for a source without partitions.
    ///
    /// ```
    /// use sluice::source::{Backlog, BacklogUnit};
    /// let b = Backlog::per_partition(BacklogUnit::Rows, [("t-0".into(), 1), ("t-1".into(), 4)]);
    /// let m = b.spark_metrics();
    /// assert_eq!(m["minOffsetsBehindLatest"], "1");
    /// assert_eq!(m["maxOffsetsBehindLatest"], "4");
    /// assert_eq!(m["avgOffsetsBehindLatest"], "2.5");
    /// ```
    pub fn spark_metrics(&self) -> BTreeMap<String, String> {
        let behind = self.partitions.values().copied();
        let (Some(min), Some(max)) = (behind.clone().min(), behind.max()) else {
            return BTreeMap::new();
        };
        let avg = self.pending as f64 / self.partitions.len() as f64;
        BTreeMap::from([
            ("minOffsetsBehindLatest".to_string(), min.to_string()),
            ("maxOffsetsBehindLatest".to_string(), max.to_string()),
            (
                "avgOffsetsBehindLatest".to_string(),
                crate::value::format_double(avg),
            ),
        ])
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

    /// Called once, before [`Source::open`], with the input columns the query reads, in
    /// schema order (Spark's required schema, pushed into the scan): a source may decode only
    /// those, leaving the other fields of its rows at their type's default (or null). The
    /// default reads every column.
    fn prune_columns(&mut self, columns: &'static [&'static str]) {
        let _ = columns;
    }

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

    /// The rows in `(start, end]` as input partitions read lazily, chunk by chunk (see
    /// [`input`]): what the engine calls. `plan` says how many tasks will read them and how
    /// large a chunk may be; a source splits its input into at least `plan.tasks` partitions
    /// where it can. The default wraps [`Source::get_batch`]'s chunks, one partition each.
    fn read_batch(
        &mut self,
        start: Option<&Self::Offset>,
        end: &Self::Offset,
        plan: ReadPlan,
    ) -> Result<BatchInput<Self::Row>> {
        let _ = plan;
        Ok(BatchInput::from_chunks(self.get_batch(start, end)?))
    }

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

    /// The source's figures for a batch that read up to `consumed` (Spark's
    /// `SourceProgress.metrics`). The default reports a backlog per partition as Spark's Kafka
    /// source does: `minOffsetsBehindLatest`, `maxOffsetsBehindLatest`,
    /// `avgOffsetsBehindLatest`.
    fn metrics(&self, consumed: &Self::Offset) -> BTreeMap<String, String> {
        self.backlog(Some(consumed))
            .map(|b| b.spark_metrics())
            .unwrap_or_default()
    }

    /// Checks, at start and before [`Source::open`], that the source can serve the query:
    /// `stateful` says whether the query keeps state across batches. An error refuses the
    /// start (a Kafka source sharing its partitions with other processes cannot serve a query
    /// with state yet).
    fn check_query(&self, stateful: bool) -> Result<()> {
        let _ = stateful;
        Ok(())
    }

    /// Checks, at start, that the source's own metadata covers an offset the checkpoint
    /// recorded as the end of batch `batch_id` (the file source's log must list every file it
    /// names). An error refuses the start.
    fn check_recorded_offset(&self, batch_id: u64, end: &Self::Offset) -> Result<()> {
        let _ = (batch_id, end);
        Ok(())
    }

    /// Called at start, before any batch, with the end offset of the checkpoint's last
    /// committed batch: everything up to it was delivered (the engine may still read it again
    /// to rebuild state).
    fn resume_after(&mut self, committed_end: &Self::Offset) {
        let _ = committed_end;
    }

    /// Whether the source applies a query's scan-level filters before counting input rows,
    /// as Spark's file sources do with pushed-down filters.
    fn counts_rows_after_scan_filters(&self) -> bool {
        false
    }

    /// What the source counted since the last call (malformed records, ...), for the progress
    /// of the batch that just ran.
    fn take_metrics(&mut self) -> SourceMetrics {
        SourceMetrics::default()
    }

    /// The query stops.
    fn stop(&mut self) {}
}
