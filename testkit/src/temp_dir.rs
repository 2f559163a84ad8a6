//! A private temporary directory, removed on drop.

use std::io;
use std::path::{Path, PathBuf};

/// A fresh directory in the system's temporary directory, named after the
/// tag, the process and the time, so that parallel tests do not meet.
/// Removed, with what is in it, on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `mon-ipc-<tag>-<pid>-<nanoseconds>`.
    pub fn new(tag: &str) -> io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("mon-ipc-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(TempDir(dir))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
