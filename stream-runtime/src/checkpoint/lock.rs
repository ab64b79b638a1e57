//! One query per checkpoint at a time: an exclusive lock on `<checkpoint>/lock`.
//!
//! The lock is the operating system's (`flock` on Unix, `LockFileEx` on Windows) on the lock
//! file, held for as long as the query runs, so the kernel releases it when the process dies,
//! however it dies. The file holds who took it — process id, host, time — so that a second
//! process is told who holds the checkpoint, and a lock left by a crash is recognised.
//!
//! On a file system that does not support locks (some network file systems without a lock
//! daemon), the file's contents are the lock: a lock file naming a process on this host that no
//! longer runs is stale and taken over; one naming a live process, or another host, refuses the
//! start (a process on another host cannot be checked: if it is gone, delete the file). Without
//! the kernel's lock two processes starting at the very same instant could both get in, which
//! is why a file system with locks is the supported setup.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The lock file's name inside the checkpoint directory.
pub const LOCK_FILE: &str = "lock";

/// Who holds a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    pub(crate) host: String,
    /// When the lock was taken (RFC 3339).
    pub(crate) since: String,
}

impl Holder {
    fn this_process() -> Self {
        Holder {
            pid: std::process::id(),
            host: host_name(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }

    fn describe(&self) -> String {
        format!(
            "process {} on host `{}` (since {})",
            self.pid, self.host, self.since
        )
    }
}

/// The held lock; released (and the file emptied) when dropped.
#[derive(Debug)]
pub(crate) struct CheckpointLock {
    file: File,
}

/// How the lock was taken, for the tests of the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// The operating system's lock, with the file's contents as information.
    System,
    /// The file's contents only, as on file systems without locks (tests take this path on
    /// purpose).
    #[cfg_attr(not(test), allow(dead_code))]
    ContentsOnly,
}

impl CheckpointLock {
    /// Locks the checkpoint in `dir`, or says who holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        Self::acquire_with(dir, Locking::System)
    }

    pub(crate) fn acquire_with(dir: &Path, locking: Locking) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let io = |e: std::io::Error| Error::Checkpoint {
            path: path.clone(),
            message: format!("cannot open the checkpoint lock: {e}"),
        };
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let system_lock = match locking {
            Locking::System => file.try_lock(),
            Locking::ContentsOnly => Err(TryLockError::Error(std::io::Error::from(
                std::io::ErrorKind::Unsupported,
            ))),
        };
        let previous = read_holder(&mut file);
        match system_lock {
            Ok(()) => {
                if let Some(previous) = previous
                    && previous.pid != std::process::id()
                {
                    tracing::info!(
                        "{}: taking over the lock left by {}, which no longer holds it",
                        path.display(),
                        previous.describe()
                    );
                }
            }
            Err(TryLockError::WouldBlock) => {
                return Err(in_use(&path, previous.as_ref()));
            }
            Err(TryLockError::Error(e)) => {
                // No lock on this file system: the contents decide.
                if let Some(previous) = previous {
                    let ours = Holder::this_process();
                    if previous.host != ours.host
                        || (previous.pid != ours.pid && process_runs(previous.pid))
                    {
                        return Err(in_use(&path, Some(&previous)));
                    }
                    tracing::warn!(
                        "{}: the file system does not support locks ({e}); taking over the stale lock of {}, which no longer runs",
                        path.display(),
                        previous.describe()
                    );
                } else {
                    tracing::warn!(
                        "{}: the file system does not support locks ({e}); the lock file's contents alone keep other processes out",
                        path.display()
                    );
                }
            }
        }
        let holder = serde_json::to_vec(&Holder::this_process()).expect("a holder serialises");
        // Not flushed to disk: the kernel's lock is what excludes; the contents only say who.
        (|| {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&holder)
        })()
        .map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: format!("cannot write the checkpoint lock: {e}"),
        })?;
        Ok(CheckpointLock { file })
    }
}

impl Drop for CheckpointLock {
    fn drop(&mut self) {
        // Emptied, so the next holder does not take it for a crashed process's; the kernel's
        // lock goes with the file handle.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

fn in_use(path: &Path, holder: Option<&Holder>) -> Error {
    let who = holder.map_or_else(|| "another process".to_string(), Holder::describe);
    Error::CheckpointInUse {
        path: path.to_path_buf(),
        message: format!(
            "the checkpoint is in use by {who}: two queries on one checkpoint would overwrite \
             each other's batches. Stop the other query first, or give this one its own \
             checkpoint location. If that process is gone (on another host, over a network file \
             system without locks), delete this lock file"
        ),
    }
}

/// This machine's host name.
fn host_name() -> String {
    #[cfg(unix)]
    {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".to_string())
    }
}

/// Whether a process with this id runs on this host (when unsure: yes).
fn process_runs(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(pid) else {
            return true;
        };
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            return true;
        };
        // Signal 0 checks that the process exists; EPERM means it exists as another user's.
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_its_holder_then_granted_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = CheckpointLock::acquire(dir.path()).unwrap();
        let held: Holder =
            serde_json::from_slice(&std::fs::read(dir.path().join(LOCK_FILE)).unwrap()).unwrap();
        assert_eq!(held.pid, std::process::id());
        assert_eq!(held.host, host_name());
        let err = CheckpointLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "lock: the checkpoint is in use by process {} on host `{}`",
                held.pid, held.host
            )),
            "{err}"
        );
        drop(first);
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), b"");
        CheckpointLock::acquire(dir.path()).unwrap();
    }

    #[cfg(unix)]
    /// Without the kernel's lock, a lock file of a dead process on this host is stale; one of
    /// a live process, or of another host, is not.
    #[test]
    fn without_system_locks_the_contents_decide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let write = |pid: u32, host: &str| {
            let holder = Holder {
                pid,
                host: host.to_string(),
                since: "2024-01-01T00:00:00.000Z".into(),
            };
            std::fs::write(&path, serde_json::to_vec(&holder).unwrap()).unwrap();
        };
        // A process that has exited: its pid no longer runs.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        write(dead, &host_name());
        let lock = CheckpointLock::acquire_with(dir.path(), Locking::ContentsOnly).unwrap();
        drop(lock);

        // This test process runs (a parent of ours, as another query would).
        let live = std::os::unix::process::parent_id();
        write(live, &host_name());
        let err = CheckpointLock::acquire_with(dir.path(), Locking::ContentsOnly)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("in use by process {live} on host")),
            "{err}"
        );

        write(dead, "another-host");
        let err = CheckpointLock::acquire_with(dir.path(), Locking::ContentsOnly)
            .unwrap_err()
            .to_string();
        assert!(err.contains("on host `another-host`"), "{err}");
        assert!(err.contains("delete this lock file"), "{err}");
    }
}
