//! Defining and starting a query: a pipeline over a source is a [`StreamingFrame`] (Spark's
//! streaming DataFrame); [`StreamingFrame::write_stream`] gives a [`DataStreamWriter`] (Spark's
//! `writeStream`) to choose the output mode, sink and trigger, and `start` runs it.
//!
//! ```no_run
//! # async fn run() -> Result<(), sluice::Error> {
//! # use sluice::pipeline::*;
//! # use sluice::row::RateRow;
//! # struct RateStream;
//! # impl Default for RateStream { fn default() -> Self { RateStream } }
//! # impl Pipeline for RateStream {
//! #     type Input = RateRow; type Output = RateRow;
//! #     const INFO: PipelineInfo = PipelineInfo { name: "RateStream", kind: PipelineKind::Stateless,
//! #         watermarks: &[], unsupported_modes: &[], fingerprint: 0, plan: "", has_scan_filters: false,
//! #         input_columns: None };
//! #     fn process(&mut self, i: &[RateRow], _: &mut BatchContext, o: &mut Vec<RateRow>) -> Result<(), sluice::Error> { o.extend_from_slice(i); Ok(()) }
//! # }
//! # impl FinalisesGroups for RateStream {}
//! # impl Unsorted for RateStream {}
//! use sluice::sink::ConsoleSink;
//! use sluice::source::RateSource;
//! use sluice::writer::ReadStream;
//!
//! let query = RateStream::read_stream(RateSource::new().rows_per_second(5))
//!     .write_stream()
//!     .output_mode(Append)
//!     .format(ConsoleSink::new().truncate(false))
//!     .start()?;
//! tokio::time::sleep(std::time::Duration::from_secs(10)).await;
//! query.stop().await;
//! # Ok(()) }
//! ```

use std::fmt;

use uuid::Uuid;

use std::path::PathBuf;

use std::sync::Arc;

use crate::checkpoint::{Checkpoint, CheckpointConfig, Recovery, consistency};
use crate::clock::Clock;
use crate::continuous::{
    ContinuousSink, ContinuousSource, NoAggregation, NoCurrentTime, NoDeduplication, NoLimit,
    NoStreamJoin, NoWatermark,
};
use crate::engine::{EngineState, QueryRun};
use crate::error::Result;
use crate::executor::{Executor, default_parallelism};
use crate::explain::{CheckpointExplanation, QueryExplanation};
use crate::manager::streams;
use crate::operator::aggregate::DEFAULT_STATE_PARTITIONS;
use crate::pipeline::{Append, NamedOutputMode, OutputMode, OutputModeFor, Pipeline};
use crate::query::{Shared, StreamingQuery, spawn};
use crate::row::Row;
use crate::sink::{ForeachBatchSink, ForeachSink, ForeachWriter, Sink, SinkContext};
use crate::source::input::DEFAULT_CHUNK_ROWS;
use crate::source::{JoinSources, Source, SourceContext};
use crate::trigger::{ContinuousTrigger, QueryTrigger, Trigger};
use crate::value::Schema;

pub use crate::operator::join::{JoinTable, ReloadedTable, read_table};

/// A pipeline reading from a source: Spark's streaming DataFrame.
pub struct StreamingFrame<P, S> {
    pipeline: P,
    source: S,
}

impl<P, S> fmt::Debug for StreamingFrame<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingFrame")
            .field("pipeline", &std::any::type_name::<P>())
            .finish()
    }
}

/// `Pipeline::read_stream(source)`: binds a pipeline to a source (Spark's
/// `spark.readStream...load()` followed by the query's transformations).
pub trait ReadStream: Pipeline + Default + Sized {
    /// The pipeline, fresh, reading `source`.
    fn read_stream<S: Source<Row = Self::Input>>(source: S) -> StreamingFrame<Self, S> {
        StreamingFrame::new(Self::default(), source)
    }
}

impl<P: Pipeline + Default> ReadStream for P {}

/// `Query::read_streams(left, right)`: binds a stream-stream join query (`query J from A join B
/// on ...`) to its two sources, `A`'s and `B`'s, read as one ([`JoinSources`]). `pipeline!`
/// implements it for every such query.
pub trait ReadStreams: Pipeline + Default + Sized {
    /// The rows of the left side's source.
    type LeftInput: Row;
    /// The rows of the right side's source.
    type RightInput: Row;

    /// The query, fresh, reading `left` and `right`.
    fn read_streams<A, B>(left: A, right: B) -> StreamingFrame<Self, JoinSources<A, B>>
    where
        A: Source<Row = Self::LeftInput>,
        B: Source<Row = Self::RightInput>,
        JoinSources<A, B>: Source<Row = Self::Input>,
    {
        StreamingFrame::new(Self::default(), JoinSources::new(left, right))
    }
}

impl<P: Pipeline + JoinTable, S: Source<Row = P::Input>> StreamingFrame<P, S> {
    /// The rows of the static table the query joins its stream with (a `table` of its
    /// `pipeline!`), hashed once by the join key before the query starts.
    pub fn with_table(mut self, rows: Vec<P::TableRow>) -> Self {
        self.pipeline
            .set_table(std::sync::Arc::new(P::hash_table(rows)));
        self
    }

    /// The static table read once from a file (or a directory of files) in `format`
    /// (see [`read_table`]), then hashed as
    /// [`with_table`](Self::with_table) does.
    pub fn with_table_file(
        self,
        format: impl Into<crate::format::FileFormat>,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let rows = read_table(format, path)?;
        Ok(self.with_table(rows))
    }

    /// The static table read from a file (or a directory of files) in `format`, as
    /// [`with_table_file`](Self::with_table_file) does, and read again before a batch whenever
    /// its files changed (their names, sizes or modification times): Spark re-reads a static
    /// DataFrame at every batch. Each batch probes one whole table; a read that fails fails the
    /// query. Replace the file atomically (write, then rename) so no batch reads it half
    /// written. See [`ReloadedTable`].
    pub fn with_table_file_reloaded(
        self,
        format: impl Into<crate::format::FileFormat>,
        path: impl AsRef<std::path::Path>,
    ) -> Result<StreamingFrame<ReloadedTable<P>, S>>
    where
        S: Source<Row = P::Input>,
    {
        let pipeline = ReloadedTable::new(self.pipeline, format.into(), path.as_ref())?;
        Ok(StreamingFrame::new(pipeline, self.source))
    }
}

impl<P: Pipeline, S: Source<Row = P::Input>> StreamingFrame<P, S> {
    /// `pipeline` reading `source`.
    pub fn new(pipeline: P, source: S) -> Self {
        StreamingFrame { pipeline, source }
    }

    /// Always true (Spark's `isStreaming`).
    pub fn is_streaming(&self) -> bool {
        true
    }

    /// The output schema.
    pub fn schema(&self) -> Schema {
        P::Output::SCHEMA
    }

    /// Prints the output schema as Spark's `printSchema()` does.
    pub fn print_schema(&self) {
        self.schema().print_tree();
    }

    /// The compiled plan.
    pub fn explain(&self) -> &'static str {
        P::INFO.plan
    }

    /// Not available on a stream, as Spark's `count()` on a streaming DataFrame: calling it
    /// is a compile error quoting Spark's message (see [`BatchAction`]).
    pub fn count(&self) -> u64
    where
        Self: BatchAction,
    {
        unreachable!("no StreamingFrame implements BatchAction")
    }

    /// Not available on a stream, as Spark's `collect()` on a streaming DataFrame: calling
    /// it is a compile error quoting Spark's message (see [`BatchAction`]).
    pub fn collect(&self) -> Vec<P::Output>
    where
        Self: BatchAction,
    {
        unreachable!("no StreamingFrame implements BatchAction")
    }

    /// Not available on a stream, as Spark's `show()` on a streaming DataFrame: calling it
    /// is a compile error quoting Spark's message (see [`BatchAction`]).
    pub fn show(&self)
    where
        Self: BatchAction,
    {
        unreachable!("no StreamingFrame implements BatchAction")
    }

    /// Starts defining how the query writes its output (Spark's `writeStream`), with Spark's
    /// defaults: append mode, the default trigger.
    pub fn write_stream(self) -> DataStreamWriter<P, S, Append, NoSink> {
        DataStreamWriter {
            frame: self,
            mode: Append,
            sink: NoSink,
            trigger: Trigger::Default,
            options: WriterOptions::default(),
        }
    }
}

/// Batch actions (`count`, `collect`, `show`) on a stream. Spark rejects them with "Queries
/// with streaming sources must be executed with writeStream.start()"; nothing implements this
/// trait, so a call to one of [`StreamingFrame`]'s batch actions does not compile and quotes
/// that message.
#[diagnostic::on_unimplemented(
    message = "Queries with streaming sources must be executed with writeStream.start()",
    label = "a batch action cannot run on a stream",
    note = "Spark: \"Queries with streaming sources must be executed with writeStream.start()\"",
    note = "start the query into a sink to see its rows: `.write_stream().format(ConsoleSink::new()).start()`, `.foreach_batch(...)`, or a `MemorySink`, whose table can be read while the query runs"
)]
pub trait BatchAction {}

/// No sink chosen yet: `start` needs one (`format` or `foreach_batch`).
#[derive(Debug, Clone, Copy)]
pub struct NoSink;

/// Spark's `DataStreamWriter`: output mode `M`, sink `K`, trigger `T` (a [`Trigger`] runs
/// micro-batches; a [`ContinuousTrigger`] runs the query
/// continuously, see [`crate::continuous`]), and the options that do not depend on them.
pub struct DataStreamWriter<P, S, M, K, T = Trigger> {
    frame: StreamingFrame<P, S>,
    mode: M,
    sink: K,
    trigger: T,
    options: WriterOptions,
}

/// A writer's options besides the output mode, the sink and the trigger.
#[derive(Debug, Clone, Default)]
struct WriterOptions {
    query_name: Option<String>,
    clock: Option<Clock>,
    checkpoint: Option<CheckpointConfig>,
    /// Worker threads; `None`: the cores the process may use.
    parallelism: Option<usize>,
    /// State partitions of a new checkpoint (or of a query without one).
    state_partitions: Option<usize>,
    /// The most rows a chunk of input holds.
    chunk_rows: Option<usize>,
}

impl<P, S, M, K, T: fmt::Debug> fmt::Debug for DataStreamWriter<P, S, M, K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataStreamWriter")
            .field("trigger", &self.trigger)
            .field("options", &self.options)
            .finish()
    }
}

impl<P: Pipeline, S: Source<Row = P::Input>, M, K, T: QueryTrigger>
    DataStreamWriter<P, S, M, K, T>
{
    /// The output mode: [`Append`], [`Complete`](crate::pipeline::Complete) or
    /// [`Update`](crate::pipeline::Update). A mode
    /// the pipeline cannot run in is a compile error that says why.
    pub fn output_mode<M2: OutputModeFor<P>>(self, mode: M2) -> DataStreamWriter<P, S, M2, K, T> {
        DataStreamWriter {
            frame: self.frame,
            mode,
            sink: self.sink,
            trigger: self.trigger,
            options: self.options,
        }
    }

    /// The output mode by name, as Spark's `outputMode("update")`: checked by `start`, which
    /// fails with Spark's message for an unknown or unsupported mode.
    pub fn output_mode_named(self, mode: &str) -> DataStreamWriter<P, S, NamedOutputMode, K, T> {
        self.output_mode(NamedOutputMode(mode.to_string()))
    }

    /// The sink (Spark's `format(...)` with its options).
    pub fn format<K2: Sink<P::Output>>(self, sink: K2) -> DataStreamWriter<P, S, M, K2, T> {
        DataStreamWriter {
            frame: self.frame,
            mode: self.mode,
            sink,
            trigger: self.trigger,
            options: self.options,
        }
    }

    /// Calls `f(batch_id, rows)` for every batch (Spark's `foreachBatch`).
    pub fn foreach_batch<O: crate::sink::foreach_batch::BatchOutcome>(
        self,
        f: impl FnMut(u64, Vec<P::Output>) -> O + Send + 'static,
    ) -> DataStreamWriter<P, S, M, ForeachBatchSink<P::Output>, T> {
        self.format(ForeachBatchSink::new(f))
    }

    /// Hands every row to `writer` (Spark's `foreach`): opened for each batch or epoch,
    /// called for each row, closed at its end. It runs with either kind of trigger.
    pub fn foreach<W: ForeachWriter<P::Output>>(
        self,
        writer: W,
    ) -> DataStreamWriter<P, S, M, ForeachSink<W>, T> {
        self.format(ForeachSink::new(writer))
    }

    /// When batches start (Spark's `trigger`): a [`Trigger`], or
    /// [`Trigger::continuous`]'s trigger to run the query continuously — a writer whose
    /// `start` then accepts only the queries, sources and sinks that can (see
    /// [`crate::continuous`]).
    pub fn trigger<T2: QueryTrigger>(self, trigger: T2) -> DataStreamWriter<P, S, M, K, T2> {
        DataStreamWriter {
            frame: self.frame,
            mode: self.mode,
            sink: self.sink,
            trigger,
            options: self.options,
        }
    }

    /// The query's name (Spark's `queryName`); the memory sink's table name.
    pub fn query_name(mut self, name: impl Into<String>) -> Self {
        self.options.query_name = Some(name.into());
        self
    }

    /// The clock processing time is read from (tests use [`Clock::starting_at`] under a
    /// paused tokio runtime).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.options.clock = Some(clock);
        self
    }

    /// Where the query keeps its checkpoint (Spark's `checkpointLocation`): a query started
    /// again with the same location resumes after its last committed batch, re-running a batch
    /// that was planned but not committed with exactly the same offsets.
    pub fn checkpoint_location(mut self, location: impl Into<PathBuf>) -> Self {
        let location = location.into();
        self.options.checkpoint = Some(match self.options.checkpoint.take() {
            Some(config) => CheckpointConfig { location, ..config },
            None => CheckpointConfig::new(location),
        });
        self
    }

    /// Write a state snapshot every `n` batches (default 10); restarts replay the batches since
    /// the last snapshot. Needs a checkpoint location.
    pub fn snapshot_interval(mut self, n: u64) -> Self {
        if let Some(config) = &mut self.options.checkpoint {
            config.snapshot_interval = n.max(1);
        }
        self
    }

    /// The worker threads a batch runs on (Spark's `local[n]`); default: the cores this
    /// process may use. At 1 nothing is spawned: the query's task does the work. A stateless
    /// query runs its input partitions in parallel; an aggregation runs map tasks, an exchange
    /// and one reduce task per thread (see `docs/parallelism.md`). A continuous query runs
    /// row by row on its own task and does not use them.
    pub fn parallelism(mut self, threads: usize) -> Self {
        self.options.parallelism = Some(threads.max(1));
        self
    }

    /// The state partitions a new checkpoint gets (Spark's `spark.sql.shuffle.partitions`),
    /// default 16: each is snapshotted on its own, and a stateful query's reduce side uses at
    /// most this many threads. A query restarted from a checkpoint keeps the checkpoint's
    /// number, and logs a warning if it is asked for another.
    pub fn state_partitions(mut self, partitions: usize) -> Self {
        self.options.state_partitions = Some(partitions.max(1));
        self
    }

    /// The most rows a chunk of input holds (default 65 536): a batch is read and processed a
    /// chunk at a time, so memory depends on this and the state, not on the batch's size.
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.options.chunk_rows = Some(rows.max(1));
        self
    }
}

/// A query ready to run: its checkpoint opened and checked, its sink and source opened, its
/// handle's state made. What micro-batch and continuous execution share of `start()`.
pub(crate) struct Prepared<P, S, K> {
    pub(crate) pipeline: P,
    pub(crate) source: S,
    pub(crate) sink: K,
    pub(crate) mode: OutputMode,
    pub(crate) clock: Clock,
    pub(crate) shared: Arc<Shared>,
    pub(crate) checkpoint: Option<Checkpoint>,
    pub(crate) recovery: Recovery,
    /// The threads a micro-batch runs on.
    pub(crate) executor: Executor,
    /// The state partitions: the checkpoint's, else the ones asked for.
    pub(crate) state_partitions: usize,
}

impl<P, S, M, K, T> DataStreamWriter<P, S, M, K, T>
where
    P: Pipeline,
    S: Source<Row = P::Input>,
    T: QueryTrigger,
{
    /// Checks the output mode, opens the checkpoint, the sink and the source, and checks that
    /// they agree with each other: everything `start()` does before the query runs.
    pub(crate) fn prepare(self) -> Result<Prepared<P, S, K>>
    where
        M: OutputModeFor<P>,
        K: Sink<P::Output>,
    {
        let mode = self.mode.resolve()?;
        let options = self.options;
        let clock = options.clock.unwrap_or_else(Clock::system);
        let executor = Executor::new(
            options.parallelism.unwrap_or_else(default_parallelism),
            options.chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS),
        )?;
        let StreamingFrame {
            pipeline,
            mut source,
        } = self.frame;
        let mut checkpoint_config = options.checkpoint;
        if let (Some(config), Some(n)) = (&mut checkpoint_config, options.state_partitions) {
            config.state_partitions = n;
        }
        let checkpoint_explanation = checkpoint_config.as_ref().map(|c| CheckpointExplanation {
            location: c.location.clone(),
            snapshot_interval: c.snapshot_interval,
        });
        let (checkpoint, id, recovery) = match checkpoint_config {
            Some(config) => {
                let (checkpoint, id, recovery) = Checkpoint::open(config, &P::INFO)?;
                (Some(checkpoint), id, recovery)
            }
            None => (None, Uuid::new_v4(), Recovery::default()),
        };
        let mut sink = self.sink;
        let committed = consistency::Committed::of(&recovery);
        sink.open(&SinkContext {
            query_name: options.query_name.clone(),
            output_mode: mode,
            metadata_dir: checkpoint.as_ref().map(Checkpoint::sink_dir),
            resuming: committed.last.is_some() || committed.pending.is_some(),
        })?;
        consistency::check_sink(
            checkpoint.as_ref().map(Checkpoint::dir),
            committed,
            sink.commit_log(),
        )?;
        let saved = match &checkpoint {
            Some(c) => c.source_metadata()?,
            None => None,
        };
        let restarted = saved.is_some();
        if let Some(metadata) = saved {
            source.restore_metadata(metadata)?;
        }
        source.check_query(P::INFO.is_stateful())?;
        if let Some(columns) = P::INFO.input_columns {
            source.prune_columns(columns);
        }
        source.open(&SourceContext {
            clock,
            metadata_dir: checkpoint.as_ref().map(Checkpoint::source_dir),
        })?;
        if let (Some(c), false) = (&checkpoint, restarted)
            && let Some(metadata) = source.checkpoint_metadata()
        {
            c.write_source_metadata(&metadata)?;
        }
        let explanation = QueryExplanation::new(
            &P::INFO,
            options.query_name.clone(),
            source.description(),
            sink.description(),
            mode,
            self.trigger,
            checkpoint_explanation,
        );
        let state_partitions = match &checkpoint {
            Some(c) => c.state_partitions(),
            None => options.state_partitions.unwrap_or(DEFAULT_STATE_PARTITIONS),
        };
        let shared = Shared::new(id, options.query_name, explanation, clock);
        Ok(Prepared {
            pipeline,
            source,
            sink,
            mode,
            clock,
            shared,
            checkpoint,
            recovery,
            executor,
            state_partitions,
        })
    }
}

impl<P, S, M, K> DataStreamWriter<P, S, M, K, Trigger>
where
    P: Pipeline,
    S: Source<Row = P::Input>,
{
    /// Starts the query (Spark's `start()`): checks the output mode, opens the sink and the
    /// source, and runs the query in the background. Errors a query could only hit later
    /// (bad source options, a memory sink without a name) are returned here.
    ///
    /// The output mode and the sink are bounds of this method, not of the writer, so a query
    /// without a sink fails to compile with the sink's message (choose one with `format` or
    /// `foreach_batch`).
    pub fn start(self) -> Result<StreamingQuery>
    where
        M: OutputModeFor<P>,
        K: Sink<P::Output>,
    {
        let trigger = self.trigger;
        let Prepared {
            pipeline,
            mut source,
            sink,
            mode,
            clock,
            shared,
            checkpoint,
            recovery,
            executor,
            state_partitions,
        } = self.prepare()?;
        // The source's own metadata must cover the batches the checkpoint recorded, in the
        // micro-batch offsets the engine replays.
        consistency::check_source(&mut source, &recovery)?;
        let run = QueryRun {
            pipeline,
            source,
            sink,
            mode,
            trigger,
            clock,
            shared: shared.clone(),
            state: EngineState::new(&P::INFO),
            checkpoint,
            recovery,
            executor,
            state_partitions,
        };
        // Listed by the process's manager, whose listeners hear of the start now.
        streams().register(&shared);
        spawn(shared.clone(), run.run());
        Ok(StreamingQuery { shared })
    }
}

impl<P, S, M, K> DataStreamWriter<P, S, M, K, ContinuousTrigger>
where
    P: Pipeline,
    S: Source<Row = P::Input>,
{
    /// Starts the query continuously (Spark's `start()` with `Trigger.Continuous`): as a
    /// micro-batch query starts — the output mode checked, the checkpoint, sink and source
    /// opened — then a task of its own reads the source, runs the pipeline and writes to the
    /// sink as rows arrive, and an epoch is committed every interval. With a checkpoint the
    /// query resumes after its last committed epoch (see [`crate::continuous`]).
    ///
    /// The query, the source and the sink must be able to run continuously: these bounds make
    /// anything else a compile error with Spark's message, one rule each (the rules
    /// [`SupportsContinuous`](crate::continuous::SupportsContinuous) gathers).
    pub fn start(self) -> Result<StreamingQuery>
    where
        P: NoWatermark + NoDeduplication + NoAggregation + NoLimit + NoCurrentTime + NoStreamJoin,
        S: ContinuousSource,
        K: ContinuousSink<P::Output>,
        M: OutputModeFor<P>,
    {
        let interval = self.trigger.interval();
        crate::continuous::start(self.prepare()?, interval)
    }
}
