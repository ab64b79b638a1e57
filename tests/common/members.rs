//! Members of a consumer group as real processes, for the scale-out tests: this test binary
//! re-executed as a worker test, and the waits and checks over what the members own and wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::kafka::{note, signal};

/// The partitions of the members' input topic.
pub(crate) const PARTITIONS: i32 = 6;

/// In a member process: a runtime for its queries, and a flag set when its standard input
/// closes (how [`Member::stop`] tells it to stop cleanly).
pub(crate) fn member_process() -> (tokio::runtime::Runtime, Arc<AtomicBool>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stdin_closed = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        stdin_closed.store(true, Ordering::SeqCst);
    });
    (runtime, stop)
}

/// A member process: this test binary re-executed as a worker test, its configuration in an
/// environment variable. It reports on standard error the partitions it owns
/// (`MEMBER_PARTITIONS t-0,t-3`) and other facts as `MEMBER_<WHAT> <value>` lines (the commits
/// the group refused, `MEMBER_REJECTED 2`), and stops cleanly when its standard input closes.
pub(crate) struct Member {
    child: Child,
    /// Closed to stop the member cleanly.
    stdin: Option<ChildStdin>,
    /// Its own sink and checkpoint directories, if it has its own (members running a query
    /// per partition share theirs).
    dirs: Option<Dirs>,
    /// The partition numbers the member reports owning, as they change.
    owns: Receiver<BTreeSet<i32>>,
    last_owned: BTreeSet<i32>,
    /// The last value of each `MEMBER_<WHAT>` line but the partitions, by `WHAT`.
    reports: Arc<Mutex<BTreeMap<String, String>>>,
}

/// A member's output and checkpoint directories.
pub(crate) type Dirs = (tempfile::TempDir, tempfile::TempDir);

impl Member {
    /// Starts `worker` (a test of this binary) with `config` in the environment variable `var`;
    /// `dirs` are the member's own directories, kept while it lives and handed back by
    /// [`Member::stop`].
    pub(crate) fn spawn(worker: &str, var: &str, config: String, dirs: Option<Dirs>) -> Member {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([worker, "--exact", "--nocapture"])
            .env(var, config)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, owns) = channel();
        let reports = Arc::new(Mutex::new(BTreeMap::new()));
        let reported = reports.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(list) = line.strip_prefix("MEMBER_PARTITIONS ") {
                    let set: BTreeSet<i32> = list
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|tp| tp.rsplit('-').next().unwrap().parse().unwrap())
                        .collect();
                    let _ = tx.send(set);
                } else if let Some((what, value)) = line
                    .strip_prefix("MEMBER_")
                    .and_then(|fact| fact.split_once(' '))
                {
                    reported
                        .lock()
                        .unwrap()
                        .insert(what.to_string(), value.to_string());
                } else {
                    note(&format!("member: {line}"));
                }
            }
        });
        Member {
            stdin: child.stdin.take(),
            child,
            dirs,
            owns,
            last_owned: BTreeSet::new(),
            reports,
        }
    }

    /// What the member last reported of `what` (`MEMBER_<what> <value>`).
    pub(crate) fn report(&self, what: &str) -> Option<String> {
        self.reports.lock().unwrap().get(what).cloned()
    }

    /// The member's own output directory.
    pub(crate) fn output(&self) -> &Path {
        self.dirs
            .as_ref()
            .expect("the member's own directories")
            .0
            .path()
    }

    /// The member's own checkpoint directory.
    pub(crate) fn checkpoint(&self) -> &Path {
        self.dirs
            .as_ref()
            .expect("the member's own directories")
            .1
            .path()
    }

    /// Stops the member cleanly (closes its input; it stops its queries and leaves the group)
    /// and hands back its own directories, for a restart.
    pub(crate) fn stop(mut self) -> Option<Dirs> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the member failed: {status}");
                break;
            }
            assert!(Instant::now() < deadline, "the member did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.dirs.take()
    }

    /// Sends the member a signal (`STOP`, `CONT`).
    pub(crate) fn signal(&self, name: &str) {
        signal(self.child.id(), name);
    }

    /// The partitions the member last reported owning.
    pub(crate) fn owned(&mut self) -> &BTreeSet<i32> {
        while let Ok(set) = self.owns.try_recv() {
            self.last_owned = set;
        }
        &self.last_owned
    }

    /// Every row the member's own file sink committed, sorted.
    pub(crate) fn rows(&self) -> Vec<String> {
        committed_rows(self.output())
    }

    /// Kills the member with SIGKILL.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the members own disjoint sets of partitions covering all six, each `want`
/// partitions (`None`: any number, but each at least one), and have kept them for four
/// seconds: Tansu 0.6.0 answers a JoinGroup without waiting for the other members to rejoin
/// (a follower's join pauses three seconds instead), so for a moment after a join a
/// partition can be assigned to two members (`docs/scale-out.md`); the input is sent once
/// the group is settled.
pub(crate) fn wait_for_split(members: &mut [&mut Member], want: Option<usize>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut settled: Option<(Vec<BTreeSet<i32>>, Instant)> = None;
    loop {
        let owned: Vec<BTreeSet<i32>> = members.iter_mut().map(|m| m.owned().clone()).collect();
        let union: BTreeSet<i32> = owned.iter().flatten().copied().collect();
        let total: usize = owned.iter().map(BTreeSet::len).sum();
        let sizes_ok = owned
            .iter()
            .all(|o| want.map_or(!o.is_empty(), |w| o.len() == w));
        if union.len() == PARTITIONS as usize && total == PARTITIONS as usize && sizes_ok {
            match &settled {
                Some((split, since)) if *split == owned => {
                    if since.elapsed() >= Duration::from_secs(4) {
                        note(&format!("members own {owned:?}"));
                        return;
                    }
                }
                _ => settled = Some((owned.clone(), Instant::now())),
            }
        } else {
            settled = None;
        }
        assert!(
            Instant::now() < deadline,
            "the members did not split the partitions: {owned:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The rows of `all` (sorted) that appear more than once, with how many times each appears.
pub(crate) fn read_more_than_once(all: &[String]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for row in all {
        *counts.entry(row).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(row, n)| (row.clone(), n))
        .collect()
}

/// The rows of `all` (sorted) that appear more than once; panics if one appears more than
/// twice.
pub(crate) fn at_most_doubled(all: &[String]) -> Vec<String> {
    read_more_than_once(all)
        .into_iter()
        .map(|(row, n)| {
            assert_eq!(n, 2, "{row} appears {n} times");
            row
        })
        .collect()
}

/// A new topic of [`PARTITIONS`] partitions named after `name`, and a new group id for its
/// members.
pub(crate) fn topic_and_group(broker: &super::kafka::Broker, name: &str) -> (String, String) {
    let topic = super::kafka::topic(name);
    broker.create_topic(&topic, PARTITIONS);
    (topic, format!("{name}-{}", super::kafka::uuid_like()))
}

/// Twelve keys for the members' input: key `k<n>` is always in partition `n % 6`.
pub(crate) const KEYS: u64 = 12;

/// Sends records `range` keyed by their group key: record `n` has key `k<n % 12>`, goes to the
/// partition `(n % 12) % 6` (so a key's records are all in one partition), and has the value
/// `value(n)`.
pub(crate) fn produce_keyed(
    broker: &super::kafka::Broker,
    topic: &str,
    range: std::ops::Range<u64>,
    value: impl Fn(u64) -> String,
) {
    let producer = broker.producer();
    for n in range {
        let key = n % KEYS;
        producer.send(
            topic,
            (key % PARTITIONS as u64) as i32,
            Some(&format!("k{key}")),
            &value(n),
        );
    }
}

/// Every row the file sink in `dir` committed, sorted.
pub(crate) fn committed_rows(dir: &Path) -> Vec<String> {
    let mut rows: Vec<String> = super::crash::output(dir).into_values().flatten().collect();
    rows.sort();
    rows
}
