//! The threads a query's batches run on (Spark's executor cores in `local[n]`): a batch's input
//! partitions are handed out to worker threads as they free up, each worker keeping its own
//! state (a partial aggregation, its own batch statistics), and the results come back in
//! partition order. With one thread nothing is spawned: the calling thread does the work, so a
//! query at parallelism 1 runs exactly as a single-threaded engine would.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::source::{BatchInput, Partition, ReadPlan};

/// The worker threads of one query.
pub struct Executor {
    threads: usize,
    chunk_rows: usize,
    pool: Option<rayon::ThreadPool>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("threads", &self.threads)
            .field("chunk_rows", &self.chunk_rows)
            .finish()
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor::serial()
    }
}

/// The parallelism a query gets when none is set: the cores this process may use.
pub fn default_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Executor {
    /// No worker threads: everything runs on the caller's thread.
    pub fn serial() -> Self {
        Executor {
            threads: 1,
            chunk_rows: ReadPlan::default().chunk_rows,
            pool: None,
        }
    }

    /// `threads` worker threads (one: [`Executor::serial`]), reading chunks of at most
    /// `chunk_rows` rows.
    pub fn new(threads: usize, chunk_rows: usize) -> Result<Self> {
        let threads = threads.max(1);
        let pool = if threads == 1 {
            None
        } else {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("sluice-worker-{i}"))
                    .build()
                    .map_err(|e| Error::Execution {
                        class: "INTERNAL_ERROR",
                        message: format!("cannot start {threads} worker threads: {e}"),
                    })?,
            )
        };
        Ok(Executor {
            threads,
            chunk_rows: chunk_rows.max(1),
            pool,
        })
    }

    /// The number of worker threads (1 when serial).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The most rows a chunk of input holds.
    pub fn chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    /// How a source should read a batch for this executor.
    pub fn read_plan(&self) -> ReadPlan {
        ReadPlan {
            tasks: self.threads,
            chunk_rows: self.chunk_rows,
        }
    }

    /// Runs `task` on every partition of `input`, partitions handed to the workers as they
    /// free up. Each worker has its own state, made by `init(worker)` and passed to every task
    /// it runs. Returns the workers' states and the tasks' results in partition order; the
    /// first error stops the workers and is returned.
    pub fn run_partitions<R, W, T>(
        &self,
        input: BatchInput<R>,
        init: impl Fn(usize) -> W + Sync,
        task: impl Fn(&mut W, Partition<R>) -> Result<T> + Sync,
    ) -> Result<(Vec<W>, Vec<T>)>
    where
        R: Send + Sync + 'static,
        W: Send,
        T: Send,
    {
        let partitions = input.into_partitions();
        let Some(pool) = &self.pool else {
            let mut state = init(0);
            let results = partitions
                .into_iter()
                .map(|p| task(&mut state, p))
                .collect::<Result<Vec<T>>>()?;
            return Ok((vec![state], results));
        };
        let n = partitions.len();
        let queue: Mutex<VecDeque<(usize, Partition<R>)>> =
            Mutex::new(partitions.into_iter().enumerate().collect());
        let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
        let states: Mutex<Vec<Option<W>>> = Mutex::new((0..self.threads).map(|_| None).collect());
        let failed = AtomicBool::new(false);
        let error: Mutex<Option<Error>> = Mutex::new(None);
        pool.scope(|scope| {
            for worker in 0..self.threads {
                let (queue, results, states, failed, error) =
                    (&queue, &results, &states, &failed, &error);
                let (init, task) = (&init, &task);
                scope.spawn(move |_| {
                    let mut state = init(worker);
                    while !failed.load(Ordering::Relaxed) {
                        let next = queue.lock().expect("partition queue").pop_front();
                        let Some((index, partition)) = next else {
                            break;
                        };
                        match task(&mut state, partition) {
                            Ok(result) => {
                                results.lock().expect("task results")[index] = Some(result)
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                error.lock().expect("task error").get_or_insert(e);
                            }
                        }
                    }
                    states.lock().expect("worker states")[worker] = Some(state);
                });
            }
        });
        if let Some(e) = error.into_inner().expect("task error") {
            return Err(e);
        }
        let results = results
            .into_inner()
            .expect("task results")
            .into_iter()
            .map(|r| r.expect("every partition ran"))
            .collect();
        let states = states
            .into_inner()
            .expect("worker states")
            .into_iter()
            .map(|s| s.expect("every worker ran"))
            .collect();
        Ok((states, results))
    }

    /// Runs `task(i, item)` on every item of `items` in parallel (one task per item; the
    /// reduce side of an exchange, one task per state table). The first error is returned.
    pub fn run_each<I: Send>(
        &self,
        items: &mut [I],
        task: impl Fn(usize, &mut I) -> Result<()> + Sync,
    ) -> Result<()> {
        let Some(pool) = &self.pool else {
            return items
                .iter_mut()
                .enumerate()
                .try_for_each(|(i, item)| task(i, item));
        };
        let error: Mutex<Option<Error>> = Mutex::new(None);
        pool.scope(|scope| {
            for (i, item) in items.iter_mut().enumerate() {
                let (task, error) = (&task, &error);
                scope.spawn(move |_| {
                    if let Err(e) = task(i, item) {
                        error.lock().expect("task error").get_or_insert(e);
                    }
                });
            }
        });
        match error.into_inner().expect("task error") {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::input::Generated;

    fn input(partitions: u64, rows: u64) -> BatchInput<u64> {
        BatchInput::new(
            (0..partitions)
                .map(|p| {
                    Box::new(Generated::new(p * rows, (p + 1) * rows, |a, b| {
                        (a..b).collect::<Vec<u64>>()
                    })) as Partition<u64>
                })
                .collect(),
        )
    }

    fn sums(exec: &Executor) -> (Vec<u64>, u64) {
        let (states, results) = exec
            .run_partitions(
                input(7, 1000),
                |_| 0_u64,
                |rows_seen, mut p| {
                    let mut sum = 0;
                    while let Some(c) = p.next_chunk(100)? {
                        *rows_seen += c.len() as u64;
                        sum += c.iter().sum::<u64>();
                    }
                    Ok(sum)
                },
            )
            .unwrap();
        (results, states.iter().sum())
    }

    #[test]
    fn partitions_come_back_in_order_whatever_the_threads() {
        let serial = sums(&Executor::serial());
        assert_eq!(serial.1, 7000);
        for threads in [2, 3, 8] {
            let exec = Executor::new(threads, 100).unwrap();
            assert_eq!(exec.threads(), threads);
            assert_eq!(sums(&exec), serial, "{threads} threads");
        }
    }

    #[test]
    fn the_first_error_stops_the_batch() {
        let exec = Executor::new(2, 100).unwrap();
        let result = exec.run_partitions(
            input(5, 10),
            |_| (),
            |(), _| -> Result<()> {
                Err(Error::Execution {
                    class: "INTERNAL_ERROR",
                    message: "boom".into(),
                })
            },
        );
        assert!(result.unwrap_err().to_string().contains("boom"));
        let mut items = vec![1, 2, 3];
        exec.run_each(&mut items, |i, x| {
            *x *= 10 + i;
            Ok(())
        })
        .unwrap();
        assert_eq!(items, [10, 22, 36]);
    }
}
