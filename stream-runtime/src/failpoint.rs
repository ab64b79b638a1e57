//! Failpoints for crash tests (cargo feature `failpoints`, off by default).
//!
//! A test process sets `SLUICE_FAILPOINT=<name>:<batch>`; when the engine reaches that point of
//! that batch it prints `SLUICE_FAILPOINT_HIT <name> <batch>` to stderr and waits to be killed,
//! so the parent can `SIGKILL` it at exactly that point. The points, in the order a batch
//! reaches them:
//!
//! | name | where |
//! |---|---|
//! | `before_offsets` | planned, nothing written yet |
//! | `after_offsets` | the offset log is written, the batch has not run |
//! | `after_sink` | the sink accepted the output, the batch is not committed |
//! | `mid_snapshot` | the state snapshot's temporary file is written, not yet renamed |
//! | `after_commit` | the commit log is written |
//!
//! A continuous query's coordinator reaches `before_offsets`, `after_offsets`, `after_sink`
//! (the sink completed the epoch) and `after_commit` for each epoch, the epoch id as the batch.
//!
//! Without the feature, [`hit`] is an empty inline function.

/// Stops here if the test process asked for this point of this batch.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str, batch: u64) {
    use std::io::Write;
    use std::sync::OnceLock;

    static WANTED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| {
        let spec = std::env::var("SLUICE_FAILPOINT").ok()?;
        let (point, batch) = spec.split_once(':')?;
        Some((point.to_string(), batch.parse().ok()?))
    });
    if let Some((point, at)) = wanted
        && point == name
        && *at == batch
    {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "SLUICE_FAILPOINT_HIT {name} {batch}");
        let _ = err.flush();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Stops here if the test process asked for this point of this batch (compiled out).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str, _batch: u64) {}
