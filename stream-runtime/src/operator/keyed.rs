//! Running a keyed operator whose state is split over workers that each see every row: a
//! deduplication and a session-window aggregation.
//!
//! Their state is split by the hash of the key into the state partitions, and each worker owns
//! the keys of the partitions `p` with `p % workers == w` (as the aggregation's reduce workers
//! do). A batch's chunks are read in order and every chunk goes through the generated row loop
//! on every worker at once; a worker decides only the rows whose key it owns ([`Owner::owns`]),
//! so each key sees its rows in input order, exactly as on one thread. The price is the prefix
//! before the operator (filters, projections, the late-row check), computed by every worker:
//! what would otherwise be an exchange carrying every row's computed columns to the worker of
//! its key. It pays where the state's lookups and updates dominate, as they do for these
//! operators.

use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::source::BatchInput;
use crate::state::worker_of;

/// Which keys a worker's view of the state decides: all (one thread), or those of one worker's
/// state partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    All,
    Worker {
        worker: usize,
        workers: usize,
        partitions: usize,
    },
}

impl Owner {
    /// Whether the key of this hash is decided here.
    #[inline]
    pub(crate) fn owns(self, hash: u64) -> bool {
        match self {
            Owner::All => true,
            Owner::Worker {
                worker,
                workers,
                partitions,
            } => worker_of(hash, partitions, workers) == worker,
        }
    }
}

/// Runs every chunk of `input`, in order, through `task` on every worker (`states`, one per
/// worker), each with its own fork of `ctx` and told which keys it owns. Returns the rows read.
///
/// Every worker ran the prefix and the lateness check over every row, so the first worker's
/// statistics (event times, rows scanned, rows dropped as late) are the batch's; each other
/// worker adds only the counters of the keys it owns (state rows updated and removed,
/// duplicates dropped).
pub(crate) fn run_on_every_worker<R, S>(
    input: BatchInput<R>,
    ctx: &mut BatchContext,
    exec: &Executor,
    partitions: usize,
    states: &mut [S],
    task: impl Fn(&[R], &mut BatchContext, &mut S, Owner) -> Result<(), Error> + Sync,
) -> Result<u64, Error>
where
    R: Send + Sync + 'static,
    S: Send,
{
    let workers = states.len();
    let mut tasks: Vec<(&mut S, BatchContext)> =
        states.iter_mut().map(|state| (state, ctx.fork())).collect();
    let rows = input.for_each_chunk(exec.chunk_rows(), |chunk| {
        exec.run_each(&mut tasks, |worker, (state, task_ctx)| {
            let owner = Owner::Worker {
                worker,
                workers,
                partitions,
            };
            task(chunk, task_ctx, state, owner)
        })
    })?;
    for (w, (_, task_ctx)) in tasks.iter().enumerate() {
        if w == 0 {
            ctx.absorb(task_ctx);
        } else {
            let m = task_ctx.metrics();
            ctx.add_state_rows_updated(m.state_rows_updated);
            ctx.add_state_rows_removed(m.state_rows_removed);
            ctx.add_duplicates_dropped(m.duplicates_dropped);
        }
    }
    Ok(rows)
}
