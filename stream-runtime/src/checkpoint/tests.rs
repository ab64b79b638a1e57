use super::*;
use crate::pipeline::PipelineKind;

const INFO: PipelineInfo = PipelineInfo {
    name: "Q",
    kind: PipelineKind::Aggregation {
        evicts_on_watermark: true,
    },
    watermarks: &[],
    unsupported_modes: &[],
    fingerprint: 42,
    plan: "",
    has_scan_filters: false,
    input_columns: None,
};

fn offsets(batch: u64) -> OffsetRecord {
    OffsetRecord {
        version: 1,
        batch_id: batch,
        start: (batch > 0).then(|| serde_json::json!(batch)),
        end: serde_json::json!(batch + 1),
        has_data: true,
        watermark_us: Some(0),
        late_watermark_us: Some(0),
        batch_timestamp_us: 0,
    }
}

/// A snapshot's payloads: `name`, tagged with each state partition's index.
fn parts(c: &Checkpoint, name: &str) -> Vec<Vec<u8>> {
    (0..c.state_partitions())
        .map(|p| format!("{name}/{p}").into_bytes())
        .collect()
}

fn commit(batch: u64) -> CommitRecord {
    CommitRecord {
        version: 1,
        batch_id: batch,
        next_watermark_us: Some(0),
        node_watermarks_ms: vec![],
    }
}

#[test]
fn fresh_then_pending_then_committed() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckpointConfig {
        snapshot_interval: 2,
        state_partitions: 3,
        ..CheckpointConfig::new(dir.path())
    };
    let (mut c, id, r) = Checkpoint::open(config.clone(), &INFO).unwrap();
    assert!(r.committed.is_none() && r.pending.is_none());
    c.write_offsets(&offsets(0)).unwrap();
    assert!(c.snapshot_due(0));
    c.write_snapshot(0, &parts(&c, "state-0")).unwrap();
    for p in 0..3 {
        assert!(dir.path().join(format!("state/0/{p}/0.snapshot")).is_file());
    }
    c.write_commit(&commit(0)).unwrap();
    c.write_offsets(&offsets(1)).unwrap();
    drop(c);
    // Restart: batch 1 is pending; the snapshot of batch 0 is restored, nothing replayed.
    let (_, id2, r) = Checkpoint::open(config.clone(), &INFO).unwrap();
    assert_eq!(id, id2, "the query id survives restarts");
    assert_eq!(r.pending.as_ref().map(|p| p.batch_id), Some(1));
    assert_eq!(
        r.snapshot,
        Some((
            0,
            vec![
                b"state-0/0".to_vec(),
                b"state-0/1".to_vec(),
                b"state-0/2".to_vec()
            ]
        ))
    );
    assert!(r.replay.is_empty());
    // Commit 1 and 2 without a snapshot: a restart replays them after snapshot 0.
    let (c, _, _) = Checkpoint::open(config.clone(), &INFO).unwrap();
    assert!(!c.snapshot_due(1));
    c.write_commit(&commit(1)).unwrap();
    c.write_offsets(&offsets(2)).unwrap();
    assert!(c.snapshot_due(2));
    c.write_commit(&commit(2)).unwrap();
    drop(c);
    let (_, _, r) = Checkpoint::open(config, &INFO).unwrap();
    assert!(r.pending.is_none());
    assert_eq!(
        r.replay.iter().map(|o| o.batch_id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(r.committed.unwrap().0.batch_id, 2);
}

#[test]
fn corrupt_snapshot_falls_back_to_an_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckpointConfig {
        snapshot_interval: 1,
        ..CheckpointConfig::new(dir.path())
    };
    let (mut c, _, _) = Checkpoint::open(config.clone(), &INFO).unwrap();
    for b in 0..2 {
        c.write_offsets(&offsets(b)).unwrap();
        let payloads = parts(&c, &format!("state-{b}"));
        c.write_snapshot(b, &payloads).unwrap();
        c.write_commit(&commit(b)).unwrap();
    }
    drop(c);
    // Flip a byte of the newest snapshot's payload, in a partition other than 0.
    let path = dir.path().join("state/0/1/1.snapshot");
    let mut bytes = fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let (c, _, r) = Checkpoint::open(config.clone(), &INFO).unwrap();
    assert_eq!(r.snapshot, Some((0, parts(&c, "state-0"))));
    assert_eq!(r.replay.len(), 1);
    drop(c);
    // Truncate it too, and the older one: no usable snapshot, batch 0 is replayed from scratch.
    fs::write(&path, &bytes[..10]).unwrap();
    fs::write(dir.path().join("state/0/0/0.snapshot"), b"garbage").unwrap();
    let (_, _, r) = Checkpoint::open(config, &INFO).unwrap();
    assert!(r.snapshot.is_none());
    assert_eq!(
        r.replay.iter().map(|o| o.batch_id).collect::<Vec<_>>(),
        vec![0, 1]
    );
}

#[test]
fn refuses_other_format_versions_and_keeps_its_state_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckpointConfig {
        state_partitions: 4,
        ..CheckpointConfig::new(dir.path())
    };
    let (c, _, _) = Checkpoint::open(config.clone(), &INFO).unwrap();
    assert_eq!(c.state_partitions(), 4);
    drop(c);
    // Asked for 8 on restart, the checkpoint keeps its 4.
    let again = CheckpointConfig {
        state_partitions: 8,
        ..config.clone()
    };
    let (c, _, _) = Checkpoint::open(again, &INFO).unwrap();
    assert_eq!(c.state_partitions(), 4);
    drop(c);
    for (version, which) in [(1, "an earlier"), (3, "a newer")] {
        let path = dir.path().join("metadata");
        let mut meta: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        meta["version"] = version.into();
        fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
        let err = Checkpoint::open(config.clone(), &INFO)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "written by {which} Sluice (format version {version}; this one reads version 2): start from a new checkpoint location"
            )),
            "{err}"
        );
    }
}

#[test]
fn refuses_another_plan_and_corrupt_logs() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckpointConfig::new(dir.path());
    let (c, _, _) = Checkpoint::open(config.clone(), &INFO).unwrap();
    c.write_offsets(&offsets(0)).unwrap();
    drop(c);
    let other = PipelineInfo {
        name: "Other",
        fingerprint: 7,
        ..INFO
    };
    let err = Checkpoint::open(config.clone(), &other)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("written by a different query (pipeline `Q`"),
        "{err}"
    );
    assert!(err.contains("use a new checkpoint location"), "{err}");
    fs::write(dir.path().join("offsets/0"), b"{\"version\": 1, \"batch").unwrap();
    let err = Checkpoint::open(config, &INFO).unwrap_err().to_string();
    assert!(
        err.contains("offsets/0") && err.contains("corrupt or truncated file"),
        "{err}"
    );
}

#[test]
fn a_stateless_query_keeps_only_the_retained_logs_and_restarts_after_its_last_commit() {
    let stateless = PipelineInfo {
        kind: PipelineKind::Stateless,
        ..INFO
    };
    let dir = tempfile::tempdir().unwrap();
    let config = CheckpointConfig {
        retain_batches: 3,
        ..CheckpointConfig::new(dir.path())
    };
    let (c, _, _) = Checkpoint::open(config.clone(), &stateless).unwrap();
    for b in 0..10 {
        c.write_offsets(&offsets(b)).unwrap();
        c.write_commit(&commit(b)).unwrap();
        c.purge(b).unwrap();
    }
    drop(c);
    for log in ["offsets", "commits"] {
        assert_eq!(
            batch_ids(&dir.path().join(log), "").unwrap(),
            vec![7, 8, 9],
            "{log}"
        );
    }
    let (_, _, r) = Checkpoint::open(config, &stateless).unwrap();
    let (last, _) = r.committed.expect("the last commit");
    assert_eq!(last.batch_id, 9);
    assert!(r.replay.is_empty());
    assert!(r.pending.is_none());
}

#[test]
fn purge_keeps_what_a_restart_needs() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckpointConfig {
        snapshot_interval: 3,
        retain_batches: 2,
        ..CheckpointConfig::new(dir.path())
    };
    let (mut c, _, _) = Checkpoint::open(config.clone(), &INFO).unwrap();
    for b in 0..10 {
        c.write_offsets(&offsets(b)).unwrap();
        if c.snapshot_due(b) {
            let payloads = parts(&c, "s");
            c.write_snapshot(b, &payloads).unwrap();
        }
        c.write_commit(&commit(b)).unwrap();
        c.purge(b).unwrap();
    }
    drop(c);
    // Snapshots at 0, 3, 6, 9: the newest two are kept; logs from the older one on.
    assert_eq!(
        batch_ids(&snapshot_dir(dir.path(), 0), ".snapshot").unwrap(),
        vec![6, 9]
    );
    assert_eq!(
        batch_ids(&snapshot_dir(dir.path(), 15), ".snapshot").unwrap(),
        vec![6, 9]
    );
    assert_eq!(
        batch_ids(&dir.path().join("offsets"), "").unwrap(),
        vec![7, 8, 9]
    );
    let (_, _, r) = Checkpoint::open(config, &INFO).unwrap();
    assert_eq!(r.snapshot.map(|s| s.0), Some(9));
}
