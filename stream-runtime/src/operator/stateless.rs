//! A query without aggregation: filters and projections, run on every input partition at once.
//!
//! Each task runs the fused prefix over its partition into an output vector of its own; the
//! vectors are concatenated in partition order, so a batch's output is the same whatever the
//! parallelism — the rows of partition 0 first, in input order, then those of partition 1, and
//! so on, as Spark's tasks would write them.
//!
//! A global `limit` is Spark's `LocalLimit` + `StreamingGlobalLimitExec`: each task stops once it
//! produced as many rows as the limit still lets through (the local limit, so no task computes
//! rows that cannot pass), then the first rows in partition order pass the global limit.

use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::operator::GlobalLimit;
use crate::row::Row;
use crate::source::BatchInput;

/// What `pipeline!` generates for a query without aggregation: its fused row loop.
pub trait StatelessQuery: Send + 'static {
    /// The rows the query reads.
    type Input: Row;
    /// The rows it emits.
    type Output: Row;

    /// Runs the prefix over `input`, pushing each row that passes, built, onto `out`; reports
    /// event-time statistics and scan counters to `ctx`. Stops once `room` rows were pushed
    /// (queries with a `limit`; others are given `usize::MAX` and never check).
    fn map(
        input: &[Self::Input],
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
        room: usize,
    ) -> Result<(), Error>;
}

/// Runs one batch of a stateless query: every partition of `input` through [`StatelessQuery::map`]
/// — on the executor's workers when it has several and the batch has several partitions —
/// the output in partition order, then `limit` applied. Returns the rows read.
pub fn run_stateless<Q: StatelessQuery>(
    input: BatchInput<Q::Input>,
    ctx: &mut BatchContext,
    out: &mut Vec<Q::Output>,
    exec: &Executor,
    limit: Option<&mut GlobalLimit>,
) -> Result<u64, Error> {
    let room = limit.as_ref().map_or(usize::MAX, |l| l.room());
    let start = out.len();
    let chunk_rows = exec.chunk_rows();
    let rows = if exec.threads() == 1 || input.len() <= 1 {
        input.for_each_chunk(chunk_rows, |chunk| {
            let pushed = out.len() - start;
            Q::map(chunk, ctx, out, room.saturating_sub(pushed))
        })?
    } else {
        let base: &BatchContext = ctx;
        let (contexts, parts) = exec.run_partitions(
            input,
            |_| base.fork(),
            |task_ctx, mut reader| {
                let (mut rows, mut part) = (0, Vec::new());
                while let Some(chunk) = reader.next_chunk(chunk_rows)? {
                    rows += chunk.len() as u64;
                    let left = room.saturating_sub(part.len());
                    Q::map(&chunk, task_ctx, &mut part, left)?;
                }
                Ok((rows, part))
            },
        )?;
        for task_ctx in &contexts {
            ctx.absorb(task_ctx);
        }
        let mut rows = 0;
        out.reserve(parts.iter().map(|(_, p)| p.len()).sum());
        for (n, mut part) in parts {
            rows += n;
            out.append(&mut part);
        }
        rows
    };
    if let Some(limit) = limit {
        limit.apply(out, start);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output_mode::OutputMode;
    use crate::row::RateRow;
    use crate::source::RowChunk;
    use crate::time::Timestamp;

    /// Keeps the rows with an even value, tenfold, and counts the odd ones as "scanned" to show
    /// the statistics of every task reach the batch.
    struct Evens;

    impl StatelessQuery for Evens {
        type Input = RateRow;
        type Output = RateRow;

        fn map(
            input: &[RateRow],
            ctx: &mut BatchContext,
            out: &mut Vec<RateRow>,
            room: usize,
        ) -> Result<(), Error> {
            let start = out.len();
            for row in input {
                if out.len() - start >= room {
                    break;
                }
                if row.value % 2 == 0 {
                    out.push(RateRow {
                        value: row.value * 10,
                        ..*row
                    });
                } else {
                    ctx.add_scanned_rows(1);
                }
            }
            Ok(())
        }
    }

    fn input(parts: &[&[i64]]) -> BatchInput<RateRow> {
        let row = |value| RateRow {
            timestamp: Timestamp::EPOCH,
            value,
        };
        BatchInput::from_chunks(
            parts
                .iter()
                .map(|p| RowChunk::Owned(p.iter().copied().map(row).collect()))
                .collect(),
        )
    }

    fn values(rows: &[RateRow]) -> Vec<i64> {
        rows.iter().map(|r| r.value).collect()
    }

    fn ctx() -> BatchContext {
        BatchContext::new(0, OutputMode::Append, None, None, Timestamp::EPOCH, 0)
    }

    fn run(threads: usize, limit: Option<&mut GlobalLimit>) -> (Vec<i64>, u64, u64) {
        let exec = Executor::new(threads, 2).expect("executor");
        let mut ctx = ctx();
        let mut out = Vec::new();
        let parts: [&[i64]; 4] = [&[1, 2, 3, 4], &[6], &[], &[7, 8, 10, 12, 13]];
        let rows =
            run_stateless::<Evens>(input(&parts), &mut ctx, &mut out, &exec, limit).expect("batch");
        (values(&out), rows, ctx.scanned_rows())
    }

    #[test]
    fn the_output_is_in_partition_order_at_any_parallelism() {
        for threads in [1, 2, 3, 8] {
            let (out, rows, odd) = run(threads, None);
            assert_eq!(out, [20, 40, 60, 80, 100, 120], "{threads} threads");
            assert_eq!(rows, 10, "{threads} threads");
            assert_eq!(odd, 4, "{threads} threads");
        }
    }

    #[test]
    fn a_limit_takes_the_first_rows_in_partition_order_across_batches() {
        for threads in [1, 2, 4] {
            let mut limit = GlobalLimit::new(4);
            let (out, rows, _) = run(threads, Some(&mut limit));
            assert_eq!(out, [20, 40, 60, 80], "{threads} threads");
            // Every row is still read: the limit bounds the output, not the input.
            assert_eq!(rows, 10);
            assert!(limit.is_reached());
            let (out, _, _) = run(threads, Some(&mut limit));
            assert!(out.is_empty(), "{threads} threads: {out:?}");
        }
    }
}
