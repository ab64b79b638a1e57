//! A stream-stream join query: its two sides' clauses, the join, and the clauses after it.
//!
//! `query J from A join B on ... { ... }` runs as four parts, each generated or owned as for
//! any query: the left side's pipeline (`A`'s clauses over the left source's rows), the right
//! side's (`B`'s), the [`SymmetricHashJoin`] over what they emit, and the pipeline of `J`'s own
//! clauses over the joined rows. The sides' watermark clauses are the query's watermark
//! nodes, the left side's first: the query's watermark is the minimum of the two sides'
//! (Spark's default policy). The query's own clauses — an aggregation among them — run under
//! the watermark the join propagates ([`SymmetricHashJoin::output_watermark`]).
//!
//! The join itself runs on every worker, its keys split over them ([`PartitionedJoin`]); the
//! sides' clauses before it and the query's own clauses after it run on the query's task.

use std::marker::PhantomData;

use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::pipeline::{Pipeline, PipelineInfo, PipelineKind};
use crate::row::Row;
use crate::source::BatchInput;
use crate::source::joined::Sided;
use crate::state;

use super::partitioned::PartitionedJoin;
use super::symmetric::{StreamJoinQuery, SymmetricHashJoin};

/// The parts of a stream-stream join query (see the [module](self)); the generated query
/// struct holds one and delegates its [`Pipeline`] methods to it.
pub struct StreamJoinPipeline<L: Pipeline, R: Pipeline, Q: StreamJoinQuery, P> {
    left: L,
    right: R,
    join: PartitionedJoin<Q>,
    post: P,
    left_rows: Vec<Q::Left>,
    right_rows: Vec<Q::Right>,
    left_input: Vec<<L as Pipeline>::Input>,
    right_input: Vec<<R as Pipeline>::Input>,
    /// The join's output, before the query's own clauses: kept, like the buffers above, so
    /// that a batch does not grow it from empty again.
    joined: Vec<Q::Output>,
}

impl<L, R, Q, P> Default for StreamJoinPipeline<L, R, Q, P>
where
    L: Pipeline<Output = Q::Left> + Default,
    R: Pipeline<Output = Q::Right> + Default,
    Q: StreamJoinQuery,
    P: Pipeline<Input = Q::Output> + Default,
{
    fn default() -> Self {
        StreamJoinPipeline {
            left: L::default(),
            right: R::default(),
            join: PartitionedJoin::default(),
            post: P::default(),
            left_rows: Vec::new(),
            right_rows: Vec::new(),
            left_input: Vec::new(),
            right_input: Vec::new(),
            joined: Vec::new(),
        }
    }
}

impl<L: Pipeline, R: Pipeline, Q, P> std::fmt::Debug for StreamJoinPipeline<L, R, Q, P>
where
    Q: StreamJoinQuery,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamJoinPipeline")
            .field("join", &self.join)
            .finish()
    }
}

/// Runs one side's pipeline over `input` with a context of its own watermark nodes, whose
/// event-time statistics become the query's nodes from `first_node` on.
fn run_side<S: Pipeline>(
    side: &mut S,
    input: &mut Vec<S::Input>,
    ctx: &mut BatchContext,
    first_node: usize,
    out: &mut Vec<S::Output>,
) -> Result<(), Error> {
    if input.is_empty() {
        return Ok(());
    }
    let mut side_ctx = ctx.fork_nodes(S::INFO.watermarks.len());
    side.process(input, &mut side_ctx, out)?;
    // A side with scan filters counts the rows that pass them (Spark's file scan does); one
    // without counts them all.
    if !S::INFO.has_scan_filters {
        side_ctx.add_scanned_rows(input.len() as u64);
    }
    input.clear();
    ctx.absorb_nodes(&side_ctx, first_node);
    Ok(())
}

impl<L, R, Q, P> StreamJoinPipeline<L, R, Q, P>
where
    L: Pipeline<Output = Q::Left>,
    R: Pipeline<Output = Q::Right>,
    Q: StreamJoinQuery,
    P: Pipeline<Input = Q::Output>,
{
    /// Runs a chunk of the batch's input through its side's clauses; the join runs once the
    /// batch's rows are all in ([`StreamJoinPipeline::finish_batch`]).
    pub fn process(
        &mut self,
        input: &[Sided<L::Input, R::Input>],
        ctx: &mut BatchContext,
    ) -> Result<(), Error> {
        for row in input {
            match row {
                Sided::Left(l) => self.left_input.push(l.clone()),
                Sided::Right(r) => self.right_input.push(r.clone()),
            }
        }
        let left_nodes = L::INFO.watermarks.len();
        run_side(
            &mut self.left,
            &mut self.left_input,
            ctx,
            0,
            &mut self.left_rows,
        )?;
        run_side(
            &mut self.right,
            &mut self.right_input,
            ctx,
            left_nodes,
            &mut self.right_rows,
        )
    }

    /// Joins the batch's rows of both sides, evicts what the watermark expired, and runs the
    /// query's own clauses over the joined rows.
    pub fn finish_batch(
        &mut self,
        ctx: &mut BatchContext,
        out: &mut Vec<P::Output>,
    ) -> Result<(), Error> {
        self.finish(ctx, out, None)
    }

    /// Runs a batch: every chunk of `input` through its side's clauses, then the join on the
    /// executor's workers and the query's own clauses. Returns the rows read.
    pub fn run_batch(
        &mut self,
        input: BatchInput<Sided<L::Input, R::Input>>,
        ctx: &mut BatchContext,
        out: &mut Vec<P::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        let rows = input.for_each_chunk(exec.chunk_rows(), |chunk| self.process(chunk, ctx))?;
        self.finish(ctx, out, Some(exec))?;
        Ok(rows)
    }

    /// [`StreamJoinPipeline::finish_batch`], the join on `exec`'s threads when given.
    fn finish(
        &mut self,
        ctx: &mut BatchContext,
        out: &mut Vec<P::Output>,
        exec: Option<&Executor>,
    ) -> Result<(), Error> {
        self.joined.clear();
        self.join.run_batch(
            &mut self.left_rows,
            &mut self.right_rows,
            ctx,
            &mut self.joined,
            exec,
        )?;
        // The query's own clauses run under the watermark the join propagates, this batch's
        // for eviction and the previous batch's for late rows (as an aggregation after a join
        // does in Spark).
        let mut post_ctx = ctx.downstream(
            P::INFO.watermarks.len(),
            SymmetricHashJoin::<Q>::output_watermark(ctx.watermark()),
            SymmetricHashJoin::<Q>::output_watermark(ctx.late_watermark()),
        );
        self.post.process(&self.joined, &mut post_ctx, out)?;
        self.joined.clear();
        self.post.finish_batch(&mut post_ctx, out)?;
        ctx.absorb_counters(&post_ctx);
        Ok(())
    }

    /// Rows held in state: the join's, and an aggregation's after it.
    pub fn state_rows(&self) -> usize {
        self.join.state_rows() + self.post.state_rows()
    }

    /// An estimate of the memory the state uses.
    pub fn state_bytes(&self) -> usize {
        self.join.state_bytes() + self.post.state_bytes()
    }

    /// Fixes the state partitions and the number of workers the join's keys are spread over.
    pub fn configure(&mut self, partitions: usize, workers: usize) {
        self.join.configure(partitions, workers);
    }

    /// The state, for a checkpoint: the join's, then the query's own clauses' (an aggregation
    /// after the join; empty otherwise).
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        state::encode_parts(&[self.join.snapshot()?, self.post.snapshot_state()?])
    }

    /// The state, one snapshot per state partition, each in the layout of
    /// [`StreamJoinPipeline::snapshot`]: the join's rows of that partition's keys, and — in
    /// partition 0 — the query's own clauses' state, which is kept whole.
    pub fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        let post = self.post.snapshot_state()?;
        let pieces = self.join.snapshot_partitions(partitions)?;
        pieces
            .into_iter()
            .enumerate()
            .map(|(p, join)| {
                let post = if p == 0 { post.clone() } else { Vec::new() };
                state::encode_parts(&[join, post])
            })
            .collect()
    }

    /// Restores the state written by [`StreamJoinPipeline::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.restore_partitions(&[bytes])
    }

    /// Restores the state written by [`StreamJoinPipeline::snapshot_partitions`] — or by
    /// [`StreamJoinPipeline::snapshot`] in partition 0 and nothing in the others, as a
    /// checkpoint written when the join's state was kept whole holds it.
    pub fn restore_partitions(&mut self, parts: &[impl AsRef<[u8]>]) -> Result<(), Error> {
        let mut decoded = Vec::with_capacity(parts.len());
        for bytes in parts
            .iter()
            .map(AsRef::as_ref)
            .filter(|bytes| !bytes.is_empty())
        {
            decoded.push(state::decode_parts(bytes, 2)?);
        }
        self.join
            .restore_pieces(decoded.iter().map(|parts| parts[0].as_slice()))?;
        // The query's own clauses' state is kept whole, in partition 0.
        match parts.first() {
            Some(first) if !first.as_ref().is_empty() => self.post.restore_state(&decoded[0][1]),
            _ => Ok(()),
        }
    }
}

/// The side of a stream-stream join that is a schema, not a query: its rows as they come.
pub struct SourceRows<R>(PhantomData<fn() -> R>);

impl<R> Default for SourceRows<R> {
    fn default() -> Self {
        SourceRows(PhantomData)
    }
}

impl<R> std::fmt::Debug for SourceRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceRows")
    }
}

impl<R: Row> Pipeline for SourceRows<R> {
    type Input = R;
    type Output = R;

    const INFO: PipelineInfo = PipelineInfo {
        name: "source rows",
        kind: PipelineKind::Stateless,
        watermarks: &[],
        unsupported_modes: &[],
        fingerprint: 0,
        plan: "",
        has_scan_filters: false,
        input_columns: None,
    };

    fn process(
        &mut self,
        input: &[R],
        _: &mut BatchContext,
        out: &mut Vec<R>,
    ) -> Result<(), Error> {
        out.extend_from_slice(input);
        Ok(())
    }
}
