//! When a file in the watched directory may be read, and what became of files after they were
//! read.
//!
//! A file is *ready* once its size and modification time have stayed the same for the settle
//! time, as seen by this source across its listings. A text file whose last line has no line
//! terminator (or a Parquet file without its footer) is probably still being written: it must
//! also have stayed the same for the unterminated-line timeout, so a writer pausing half-way
//! through a line is not read with that line cut short. A settle time of zero declares that
//! files are moved into the directory complete: every file is ready when it is listed.
//!
//! A file already read that changes afterwards (lines appended to it, or rewritten) is reported
//! once per change: a warning, and the `numFilesChangedAfterRead` progress counter.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a file that looks complete must stay unchanged before it is read.
pub const DEFAULT_SETTLE_TIME: Duration = Duration::from_secs(1);

/// How long a file that does not look complete (a last line without a line terminator) must
/// stay unchanged before it is read anyway.
pub const DEFAULT_UNTERMINATED_LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often files already read are checked for changes (a `stat` each).
const CHANGE_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// The progress counter of files that changed after they were read.
pub const FILES_CHANGED_AFTER_READ: &str = "numFilesChangedAfterRead";

/// A file's size and modification time as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Listed {
    pub(super) size: u64,
    pub(super) modified: SystemTime,
}

/// What this source saw of a file it has not logged yet.
#[derive(Debug, Clone)]
struct Seen {
    listed: Listed,
    /// Since when the file has had this size and modification time.
    stable_since: SystemTime,
    /// Whether the source said (once) that it holds the file back.
    held_reported: bool,
}

/// Tracks files between listings.
#[derive(Debug, Clone)]
pub(super) struct Readiness {
    pub(super) settle_time: Duration,
    pub(super) unterminated_line_timeout: Duration,
    /// The query reads what is there and ends (`Trigger::Once`, `AvailableNow`): a settled
    /// file is complete, last line and all.
    pub(super) end_of_input: bool,
    seen: HashMap<String, Seen>,
    /// Logged files whose change was reported, with the size reported.
    reported_changes: HashMap<String, u64>,
    last_change_scan: Option<SystemTime>,
}

/// Whether a file not logged yet may be read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Ready,
    /// Changed too recently.
    Unsettled,
    /// Settled, but it does not look complete and the unterminated-line timeout has not passed.
    Held,
}

impl Readiness {
    pub(super) fn new() -> Self {
        Readiness {
            settle_time: DEFAULT_SETTLE_TIME,
            unterminated_line_timeout: DEFAULT_UNTERMINATED_LINE_TIMEOUT,
            end_of_input: false,
            seen: HashMap::new(),
            reported_changes: HashMap::new(),
            last_change_scan: None,
        }
    }

    /// Whether files already read should be checked for changes in this listing.
    pub(super) fn change_scan_due(&mut self, now: SystemTime) -> bool {
        let due = self.last_change_scan.is_none_or(|last| {
            now.duration_since(last)
                .is_ok_and(|d| d >= CHANGE_SCAN_INTERVAL)
        });
        if due {
            self.last_change_scan = Some(now);
        }
        due
    }

    /// Judges a file not logged yet, listed with `listed` at `now`; `looks_complete` reads its
    /// tail, and is called only once the file has settled.
    pub(super) fn judge(
        &mut self,
        path: &Path,
        name: &str,
        listed: Listed,
        now: SystemTime,
        looks_complete: impl FnOnce() -> bool,
    ) -> Verdict {
        if self.settle_time.is_zero() {
            return Verdict::Ready;
        }
        let seen = match self.seen.get_mut(name) {
            Some(seen) if seen.listed == listed => seen,
            Some(seen) => {
                // It changed since the last listing: it is being written.
                *seen = Seen {
                    listed,
                    stable_since: now,
                    held_reported: false,
                };
                seen
            }
            // First seen: trust its modification time (a file already old is settled).
            None => self.seen.entry(name.to_string()).or_insert(Seen {
                listed,
                stable_since: listed.modified.min(now),
                held_reported: false,
            }),
        };
        let unchanged_for = now
            .duration_since(seen.stable_since)
            .unwrap_or(Duration::ZERO);
        if unchanged_for < self.settle_time {
            return Verdict::Unsettled;
        }
        if self.end_of_input
            || unchanged_for >= self.unterminated_line_timeout.max(self.settle_time)
            || looks_complete()
        {
            return Verdict::Ready;
        }
        if !std::mem::replace(&mut seen.held_reported, true) {
            tracing::info!(
                "{} is not read yet: its last line has no line terminator, so it may still be \
                 written; it is read once it ends with one (and settled), or once it has stayed \
                 unchanged for {:?} (unterminated_line_timeout)",
                path.display(),
                self.unterminated_line_timeout
            );
        }
        Verdict::Held
    }

    /// The file was logged: it is no longer watched for readiness.
    pub(super) fn logged(&mut self, name: &str) {
        self.seen.remove(name);
    }

    /// Forgets files that are no longer in the directory.
    pub(super) fn retain_listed(&mut self, listed: &HashSet<String>) {
        self.seen.retain(|name, _| listed.contains(name));
    }

    /// A file logged with `logged_size` bytes is now `size` bytes long: returns whether this is
    /// a change not reported yet (and logs it).
    pub(super) fn changed_after_read(&mut self, path: &Path, logged_size: u64, size: u64) -> bool {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if size == logged_size {
            self.reported_changes.remove(&name);
            return false;
        }
        if self.reported_changes.get(&name) == Some(&size) {
            return false;
        }
        self.reported_changes.insert(name, size);
        let what = if size > logged_size {
            format!("{} bytes were appended", size - logged_size)
        } else {
            format!("it shrank by {} bytes", logged_size - size)
        };
        tracing::warn!(
            "{} changed after it was read: {what} (it had {logged_size} bytes when it was \
             read, it has {size} now). A file is read once; the change is not read. Write \
             files elsewhere and move them into the directory when complete",
            path.display()
        );
        true
    }
}
