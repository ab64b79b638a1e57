//! What state is stored with: the fixed-seed hasher every state table uses, and the compact
//! binary codec (`postcard`) of state snapshots.

use serde::Serialize;

use crate::error::Error;

/// The hasher state tables use: foldhash with a fixed seed, so a key's state partition and a
/// table's iteration order (and therefore the order rows reach a console) are the same on every
/// run of the same binary.
pub type FixedState = foldhash::fast::FixedState;

/// The [`FixedState`] of every state table.
pub const fn fixed_state() -> FixedState {
    FixedState::with_seed(0x005e_ed51)
}

/// Serialises state for a checkpoint snapshot (compact binary, `postcard`).
pub fn encode<T: Serialize + ?Sized>(state: &T) -> Result<Vec<u8>, Error> {
    postcard::to_allocvec(state).map_err(|e| Error::Execution {
        class: "INTERNAL_ERROR",
        message: format!("cannot serialise the state: {e}"),
    })
}

/// Reads state written by [`encode`].
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    postcard::from_bytes(bytes).map_err(|e| Error::Checkpoint {
        path: std::path::PathBuf::from("state"),
        message: format!("the state snapshot does not match this pipeline's state layout: {e}"),
    })
}

/// The snapshots of several operators of one pipeline (a deduplication and the `limit` after
/// it) as one snapshot, each part as its operator wrote it.
pub fn encode_parts(parts: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    encode(parts)
}

/// The `n` parts of a snapshot written by [`encode_parts`].
pub fn decode_parts(bytes: &[u8], n: usize) -> Result<Vec<Vec<u8>>, Error> {
    let parts: Vec<Vec<u8>> = decode(bytes)?;
    if parts.len() == n {
        Ok(parts)
    } else {
        Err(Error::Checkpoint {
            path: std::path::PathBuf::from("state"),
            message: format!(
                "the state snapshot has {} parts, this pipeline's state has {n}",
                parts.len()
            ),
        })
    }
}

/// The state partition of a key hash, of `n`.
///
/// The partition is taken from the top of the hash's low 32 bits, which a table's bucket index
/// (the lowest bits) and control bytes (the top seven) do not use until it has 2^29 buckets, so
/// splitting the groups costs the tables no hash quality.
#[inline]
pub(crate) fn partition_of(hash: u64, n: usize) -> usize {
    ((u64::from(hash as u32) * n as u64) >> 32) as usize
}

/// The worker (reduce task) of a key hash, given the state partitions and the workers.
#[inline]
pub(crate) fn worker_of(hash: u64, partitions: usize, workers: usize) -> usize {
    partition_of(hash, partitions) % workers
}

/// Re-splits an operator's tables, one per worker, for `partitions` state partitions and
/// `workers` workers: when either changed, `tables` becomes `workers` fresh tables (`fresh`),
/// `current` the new partitions, and the old tables are returned for the operator to re-insert
/// their entries where their keys now belong; `None` when nothing changed.
pub(crate) fn resplit<T>(
    tables: &mut Vec<T>,
    current: &mut usize,
    partitions: usize,
    workers: usize,
    fresh: impl Fn() -> T,
) -> Option<Vec<T>> {
    let (partitions, workers) = (partitions.max(1), workers.max(1));
    if partitions == *current && workers == tables.len() {
        return None;
    }
    *current = partitions;
    Some(std::mem::replace(
        tables,
        (0..workers).map(|_| fresh()).collect(),
    ))
}
