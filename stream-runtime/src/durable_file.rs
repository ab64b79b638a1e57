//! Replacing a file so that a reader, or a restart after a crash, sees either the old contents
//! or the new ones, never a mix: write a hidden temporary file beside it, flush it to disk,
//! rename it over the target, then flush the directory entry.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically and durably.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_with(path, bytes, || ())
}

/// [`write_file`], calling `before_rename` once the temporary file is durable (the crash tests
/// stop there to leave a written but unpublished file behind).
pub(crate) fn write_file_with(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(),
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A leading dot hides the temporary file from Spark-style listings, which skip `.` and `_`.
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        before_rename();
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Flushes a directory's entries: a rename is durable only then. Windows cannot open a
/// directory for that, and makes renames durable by itself.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
