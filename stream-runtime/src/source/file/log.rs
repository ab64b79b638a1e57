//! The file source's log: every file it has handed out, in the order it hands them out
//! (Spark's `FileStreamSourceLog`). Offsets index into it, so the same offset range always
//! names the same files; a log kept in a metadata directory survives a restart, so files
//! already logged are never logged (and processed) twice.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::durable_file;
use crate::error::{Error, Result};

/// The file the log is kept in, inside the source's metadata directory.
pub const LOG_FILE_NAME: &str = "file-source-log.json";
const VERSION: u32 = 1;

/// One logged file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedFile {
    /// The file's name inside the source directory.
    pub name: String,
    /// Its size in bytes when it was logged; line formats read only that many bytes, so a
    /// re-run of a batch reads the same records even if the file grew since.
    pub size: u64,
    /// Its modification time when logged, in milliseconds since the epoch.
    pub modification_time: i64,
    /// Its last read failed with a malformed record (`FailFast`): the next read looks at the
    /// file again, so a fixed or replaced file is read in full (see `docs/io.md`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rejected: bool,
}

/// The ordered, append-only list of files a file source has discovered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileLog {
    version: u32,
    files: Vec<LoggedFile>,
    /// Position of each file in `files`, by name.
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl FileLog {
    /// An empty log.
    pub fn new() -> Self {
        FileLog {
            version: VERSION,
            files: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Number of files logged.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is logged yet.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The logged files, in processing order.
    pub fn files(&self) -> &[LoggedFile] {
        &self.files
    }

    /// Whether a file of this name is logged.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The logged file of this name.
    pub fn get(&self, name: &str) -> Option<&LoggedFile> {
        self.index.get(name).map(|&i| &self.files[i])
    }

    /// Appends files (their names must be new to the log).
    pub(crate) fn extend(&mut self, files: impl IntoIterator<Item = LoggedFile>) {
        for f in files {
            if !self.index.contains_key(&f.name) {
                self.index.insert(f.name.clone(), self.files.len());
                self.files.push(f);
            }
        }
    }

    /// The `i`-th logged file, to change its recorded size, time or `rejected` mark.
    pub(crate) fn file_mut(&mut self, i: usize) -> &mut LoggedFile {
        &mut self.files[i]
    }

    /// Loads the log kept in `dir`, or `None` if there is none yet.
    pub fn load(dir: &Path) -> Result<Option<FileLog>> {
        let path = dir.join(LOG_FILE_NAME);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let mut log: FileLog = serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: format!("unreadable file source log: {e}"),
        })?;
        if log.version != VERSION {
            return Err(Error::Checkpoint {
                path,
                message: format!(
                    "file source log version {} is not supported (expected {VERSION})",
                    log.version
                ),
            });
        }
        log.index = log
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        if log.index.len() != log.files.len() {
            return Err(Error::Checkpoint {
                path,
                message: "file source log names a file twice".into(),
            });
        }
        Ok(Some(log))
    }

    /// Writes the log into `dir` atomically (a crash leaves the previous log or this one).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let bytes = serde_json::to_vec(self).expect("a file log serialises");
        durable_file::write_file(&dir.join(LOG_FILE_NAME), &bytes)
    }
}
