//! Every check that a checkpoint's files agree with each other, with the source's own metadata
//! and with the sink's committed output, made at `start()` before anything runs.
//!
//! A restart trusts the checkpoint to say which batches are done; a checkpoint that was edited,
//! partly deleted, restored from an older backup, or paired with another output directory would
//! otherwise make the query skip or repeat batches without a word. Each inconsistency is an
//! [`Error::Checkpoint`] naming the file concerned and the way out. New kinds of checkpoint
//! files (per-partition state, more sources or sinks) get their checks here.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sink::SinkCommitLog;
use crate::source::Source;

use super::{CommitRecord, OffsetRecord, Recovery};

/// The batch files a checkpoint directory holds, listed once at start.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    /// Whether `metadata` exists.
    pub(crate) has_metadata: bool,
    /// Batch ids in `offsets/`, ascending.
    pub(crate) offsets: Vec<u64>,
    /// Batch ids in `commits/`, ascending.
    pub(crate) commits: Vec<u64>,
    /// Batch ids of the state snapshots, ascending.
    pub(crate) snapshots: Vec<u64>,
}

fn error(path: PathBuf, message: String) -> Error {
    Error::Checkpoint { path, message }
}

const NEW_CHECKPOINT: &str = "start from a new checkpoint location (the query then reads its \
                              source from the start again, into a new output directory)";

/// The logs agree with each other: offsets are consecutive, every batch before the last
/// planned one is committed, nothing is committed or snapshotted that was not planned.
pub(crate) fn check_logs(dir: &Path, listing: &Listing) -> Result<()> {
    let offsets_path = |id: u64| dir.join("offsets").join(id.to_string());
    let commits_path = |id: u64| dir.join("commits").join(id.to_string());
    let any_batch =
        !listing.offsets.is_empty() || !listing.commits.is_empty() || !listing.snapshots.is_empty();
    if !listing.has_metadata && any_batch {
        return Err(error(
            dir.join("metadata"),
            format!(
                "missing, but the checkpoint holds batch logs: the file was deleted or the \
                 directory is damaged. Restore it from a backup, or {NEW_CHECKPOINT}"
            ),
        ));
    }
    let Some((&first, &last)) = listing.offsets.first().zip(listing.offsets.last()) else {
        if let Some(&c) = listing.commits.first() {
            return Err(error(
                commits_path(c),
                format!(
                    "batch {c} is committed but offsets/ is empty: the offset log was deleted. \
                     Restore it, or {NEW_CHECKPOINT}"
                ),
            ));
        }
        if let Some(&s) = listing.snapshots.first() {
            return Err(error(
                super::snapshot_dir(dir, 0).join(format!("{s}.snapshot")),
                format!(
                    "a state snapshot of batch {s}, but no batch is logged: the offset and \
                     commit logs were deleted. Restore them, or {NEW_CHECKPOINT}"
                ),
            ));
        }
        return Ok(());
    };
    if let Some(gap) = (first..=last).find(|id| listing.offsets.binary_search(id).is_err()) {
        return Err(error(
            offsets_path(gap),
            format!(
                "missing: the offset log has batches {first} to {last} but not {gap}. Restore \
                 the file, or {NEW_CHECKPOINT}"
            ),
        ));
    }
    if let Some(&c) = listing
        .commits
        .iter()
        .find(|&&c| listing.offsets.binary_search(&c).is_err())
    {
        return Err(error(
            commits_path(c),
            format!(
                "batch {c} is committed but offsets/{c} does not exist (the offset log holds \
                 batches {first} to {last}): the logs were edited or mixed up. Restore them, or \
                 {NEW_CHECKPOINT}"
            ),
        ));
    }
    // Batches run one at a time: all but the last planned one finished.
    if let Some(missing) = (first..last).find(|id| listing.commits.binary_search(id).is_err()) {
        let what = if listing.commits.is_empty() {
            "commits/ is empty".to_string()
        } else {
            format!("commits/{missing} is missing")
        };
        return Err(error(
            commits_path(missing),
            format!(
                "{what}, yet batch {last} was planned after batch {missing}: the commit log was \
                 deleted or damaged, and restarting would skip or run again batches whose output \
                 was already written. Restore the commit log from a backup, or {NEW_CHECKPOINT}"
            ),
        ));
    }
    let last_commit = listing.commits.last().copied();
    let pending = (last_commit != Some(last)).then_some(last);
    if let Some(&s) = listing
        .snapshots
        .iter()
        .find(|&&s| last_commit.is_none_or(|c| s > c) && Some(s) != pending)
    {
        return Err(error(
            super::snapshot_dir(dir, 0).join(format!("{s}.snapshot")),
            format!(
                "the state after batch {s}, but batch {s} was never planned{}: the snapshot \
                 belongs to another run of the query or the logs were cut short. Delete the \
                 snapshot if the logs are right, or {NEW_CHECKPOINT}",
                last_commit.map_or(String::new(), |c| format!(
                    " (the last committed batch is {c})"
                ))
            ),
        ));
    }
    Ok(())
}

/// Each record is the batch its file is named after, and each batch starts where the one
/// before it ended. The records come with the batch id of their file name.
pub(crate) fn check_records(
    dir: &Path,
    offsets: &[(u64, OffsetRecord)],
    commits: &[(u64, CommitRecord)],
) -> Result<()> {
    let misnamed = |log: &str, id: u64, recorded: u64| {
        error(
            dir.join(log).join(id.to_string()),
            format!(
                "records batch {recorded}, not batch {id}: the file was renamed or copied from \
                 another batch. Restore it, or {NEW_CHECKPOINT}"
            ),
        )
    };
    for (id, record) in offsets {
        if record.batch_id != *id {
            return Err(misnamed("offsets", *id, record.batch_id));
        }
    }
    for (id, record) in commits {
        if record.batch_id != *id {
            return Err(misnamed("commits", *id, record.batch_id));
        }
    }
    for pair in offsets.windows(2) {
        let (before, after) = (&pair[0].1, &pair[1].1);
        if after.start.as_ref() != Some(&before.end) {
            return Err(error(
                dir.join("offsets").join(after.batch_id.to_string()),
                format!(
                    "batch {} starts at offset {} but batch {} ended at {}: the offset log was \
                     edited or mixed with another checkpoint's. Restore it, or {NEW_CHECKPOINT}",
                    after.batch_id,
                    after
                        .start
                        .as_ref()
                        .map_or("(none)".to_string(), ToString::to_string),
                    before.batch_id,
                    before.end
                ),
            ));
        }
    }
    Ok(())
}

/// Where the checkpoint stands, as far as a sink is concerned.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Committed {
    /// The last committed batch.
    pub(crate) last: Option<u64>,
    /// A batch planned but not committed (it runs again first).
    pub(crate) pending: Option<u64>,
}

impl Committed {
    pub(crate) fn of(recovery: &Recovery) -> Self {
        Committed {
            last: recovery.committed.as_ref().map(|(o, _)| o.batch_id),
            pending: recovery.pending.as_ref().map(|p| p.batch_id),
        }
    }
}

/// The sink's committed output agrees with the checkpoint: it holds every committed batch and
/// nothing beyond the batch that may have crashed between the sink and the commit.
/// `checkpoint` is `None` for a query without one (every start is a new query).
pub(crate) fn check_sink(
    checkpoint: Option<&Path>,
    committed: Committed,
    sink: Option<SinkCommitLog>,
) -> Result<()> {
    let Some(sink) = sink else { return Ok(()) };
    let log = sink.log_dir.clone();
    let entry = |batch: u64| log.join((batch + sink.batch_id_offset).to_string());
    if let Some(missing) = sink.missing_entry {
        return Err(error(
            log.join(missing.to_string()),
            format!(
                "missing from the sink's metadata log, which has entries before and after it: \
                 the files of batch {missing} are no longer committed output. Restore the entry \
                 from a backup; the sink's output is otherwise incomplete"
            ),
        ));
    }
    let where_from = checkpoint.map_or_else(
        || "this query (it has no checkpoint)".to_string(),
        |c| format!("the checkpoint {}", c.display()),
    );
    match (committed.last, sink.last_batch) {
        (None, Some(last)) if committed.pending.is_none() => Err(error(
            log,
            format!(
                "the output directory already holds batches up to {last} committed by another \
                 query, and {where_from} starts from batch 0: its batches 0 to {last} would be \
                 taken for those and not written. Write into a new output directory, restart \
                 from the checkpoint that wrote this output, or call \
                 FileSink::continue_existing_output(true) to add this query's batches after the \
                 existing ones"
            ),
        )),
        (Some(c), None) => Err(error(
            log,
            format!(
                "{where_from} has committed batches up to {c}, but the output directory holds \
                 none of them: the output (or its _spark_metadata) was deleted or this is \
                 another directory. Restore the output, or to write everything again use a new \
                 checkpoint location"
            ),
        )),
        (Some(c), Some(s)) if s < c => Err(error(
            entry(s),
            format!(
                "the output's last committed batch is {s}, but {where_from} has committed \
                 batches up to {c}: the output of batches {} to {c} was deleted (or the \
                 checkpoint belongs to another output directory). Restore the output, or to \
                 write everything again use a new checkpoint location",
                s + 1
            ),
        )),
        (c, Some(s)) if Some(s) != c && Some(s) != committed.pending => Err(error(
            entry(s),
            format!(
                "the output holds batch {s}, which {where_from} never {}: the checkpoint is \
                 older than the output (restored from a backup?) or belongs to another query. \
                 Use the checkpoint that wrote this output, or write into a new output directory",
                if c.is_some() {
                    "committed or planned"
                } else {
                    "planned"
                }
            ),
        )),
        _ => Ok(()),
    }
}

/// The source's own metadata covers the offsets the checkpoint recorded (the file source's
/// log lists every file a recorded offset names); then the source is told where the committed
/// batches end.
pub(crate) fn check_source<S: Source>(source: &mut S, recovery: &Recovery) -> Result<()> {
    let ends = recovery
        .committed
        .iter()
        .map(|(o, _)| o)
        .chain(recovery.pending.iter());
    for record in ends {
        let end: S::Offset = super::decode_offset(&record.end)?;
        source.check_recorded_offset(record.batch_id, &end)?;
    }
    if let Some((record, _)) = &recovery.committed {
        source.resume_after(&super::decode_offset(&record.end)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(offsets: &[u64], commits: &[u64], snapshots: &[u64]) -> Listing {
        Listing {
            has_metadata: true,
            offsets: offsets.to_vec(),
            commits: commits.to_vec(),
            snapshots: snapshots.to_vec(),
        }
    }

    fn logs_error(l: &Listing) -> String {
        check_logs(Path::new("/cp"), l).unwrap_err().to_string()
    }

    #[test]
    fn consistent_logs_pass() {
        for l in [
            listing(&[], &[], &[]),
            listing(&[0], &[], &[]),
            listing(&[0], &[], &[0]),
            listing(&[0, 1, 2], &[0, 1, 2], &[1]),
            listing(&[0, 1, 2], &[0, 1], &[0, 2]),
            // After a purge: logs from batch 7, older snapshot kept.
            listing(&[7, 8, 9], &[7, 8, 9], &[6, 9]),
        ] {
            check_logs(Path::new("/cp"), &l).unwrap();
        }
    }

    #[test]
    fn each_inconsistency_names_its_file() {
        let cases = [
            (
                Listing {
                    has_metadata: false,
                    ..listing(&[0], &[0], &[])
                },
                "checkpoint /cp/metadata: missing, but the checkpoint holds batch logs",
            ),
            (
                listing(&[0, 1, 2, 3], &[], &[]),
                "checkpoint /cp/commits/0: commits/ is empty, yet batch 3 was planned after batch 0",
            ),
            (
                listing(&[0, 1, 2, 3], &[0, 2, 3], &[]),
                "checkpoint /cp/commits/1: commits/1 is missing, yet batch 3 was planned after batch 1",
            ),
            (
                listing(&[0, 2], &[0, 2], &[]),
                "checkpoint /cp/offsets/1: missing: the offset log has batches 0 to 2 but not 1",
            ),
            (
                listing(&[], &[0], &[]),
                "checkpoint /cp/commits/0: batch 0 is committed but offsets/ is empty",
            ),
            (
                listing(&[0, 1], &[0, 1, 2], &[]),
                "checkpoint /cp/commits/2: batch 2 is committed but offsets/2 does not exist",
            ),
            (
                listing(&[0, 1], &[0, 1], &[5]),
                "checkpoint /cp/state/0/0/5.snapshot: the state after batch 5, but batch 5 was never planned (the last committed batch is 1)",
            ),
            (
                listing(&[], &[], &[3]),
                "checkpoint /cp/state/0/0/3.snapshot: a state snapshot of batch 3, but no batch is logged",
            ),
        ];
        for (l, want) in cases {
            let err = logs_error(&l);
            assert!(err.starts_with(want), "{l:?}:\n{err}");
            assert!(
                err.contains("new checkpoint location") || err.contains("Restore"),
                "{err}"
            );
        }
    }

    fn offsets(batch: u64, start: Option<u64>, end: u64) -> (u64, OffsetRecord) {
        (
            batch,
            OffsetRecord {
                version: 1,
                batch_id: batch,
                start: start.map(|s| serde_json::json!(s)),
                end: serde_json::json!(end),
                has_data: true,
                watermark_us: None,
                late_watermark_us: None,
                batch_timestamp_us: 0,
            },
        )
    }

    #[test]
    fn records_must_match_their_names_and_chain() {
        let dir = Path::new("/cp");
        check_records(dir, &[offsets(0, None, 3), offsets(1, Some(3), 5)], &[]).unwrap();
        let err = check_records(dir, &[offsets(0, None, 3), offsets(1, Some(4), 5)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "checkpoint /cp/offsets/1: batch 1 starts at offset 4 but batch 0 ended at 3"
            ),
            "{err}"
        );
        let (_, mut renamed) = offsets(1, Some(3), 5);
        renamed.batch_id = 4;
        let err = check_records(dir, &[offsets(0, None, 3), (1, renamed)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("checkpoint /cp/offsets/1: records batch 4, not batch 1"),
            "{err}"
        );
        let commit = CommitRecord {
            version: 1,
            batch_id: 0,
            next_watermark_us: None,
            node_watermarks_ms: vec![],
        };
        let err = check_records(dir, &[offsets(0, None, 3)], &[(2, commit)])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("checkpoint /cp/commits/2: records batch 0, not batch 2"),
            "{err}"
        );
    }

    fn sink(last: Option<u64>) -> Option<SinkCommitLog> {
        Some(SinkCommitLog {
            log_dir: PathBuf::from("/out/_spark_metadata"),
            last_batch: last,
            batch_id_offset: 0,
            missing_entry: None,
        })
    }

    fn committed(last: Option<u64>, pending: Option<u64>) -> Committed {
        Committed { last, pending }
    }

    #[test]
    fn the_sink_output_must_match_the_commits() {
        let cp = Some(Path::new("/cp"));
        for (c, s) in [
            (committed(None, None), sink(None)),
            (committed(None, None), None),
            (committed(Some(3), None), sink(Some(3))),
            // Crashed after the sink wrote batch 4, before its commit.
            (committed(Some(3), Some(4)), sink(Some(4))),
            (committed(Some(3), Some(4)), sink(Some(3))),
            (committed(None, Some(0)), sink(Some(0))),
        ] {
            check_sink(cp, c, s).unwrap();
        }
        let cases = [
            (
                committed(None, None),
                sink(Some(4)),
                "checkpoint /out/_spark_metadata: the output directory already holds batches up to 4 committed by another query, and the checkpoint /cp starts from batch 0",
            ),
            (
                committed(Some(4), None),
                sink(None),
                "checkpoint /out/_spark_metadata: the checkpoint /cp has committed batches up to 4, but the output directory holds none of them",
            ),
            (
                committed(Some(4), None),
                sink(Some(2)),
                "checkpoint /out/_spark_metadata/2: the output's last committed batch is 2, but the checkpoint /cp has committed batches up to 4: the output of batches 3 to 4 was deleted",
            ),
            (
                committed(Some(4), None),
                sink(Some(6)),
                "checkpoint /out/_spark_metadata/6: the output holds batch 6, which the checkpoint /cp never committed or planned",
            ),
        ];
        for (c, s, want) in cases {
            let err = check_sink(cp, c, s).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
        let gap = Some(SinkCommitLog {
            missing_entry: Some(2),
            ..sink(Some(4)).unwrap()
        });
        let err = check_sink(cp, committed(Some(4), None), gap)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "checkpoint /out/_spark_metadata/2: missing from the sink's metadata log"
            ),
            "{err}"
        );
        let err = check_sink(None, committed(None, None), sink(Some(0)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("this query (it has no checkpoint) starts from batch 0")
                && err.contains("FileSink::continue_existing_output(true)"),
            "{err}"
        );
    }
}
