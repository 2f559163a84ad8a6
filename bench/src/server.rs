//! A listener with a server thread, for the cases that connect once per
//! iteration (handshakes).

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread::{self, JoinHandle};

/// A socket path in the temporary directory, unique to this process and `tag`.
pub fn sock_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mon-ipc-bench-{}-{tag}.sock", std::process::id()))
}

/// A listener at a fresh path with a server thread that runs `serve` on
/// every accepted connection; stopped (and its path removed) on drop.
pub struct Server {
    /// Where it listens.
    pub path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds at a fresh path for `tag` with `bind` (which returns the accept
    /// function) and serves every connection with `serve` in one thread.
    pub fn start(
        tag: &str,
        bind: impl FnOnce(&Path) -> Box<dyn FnMut() -> Option<OwnedFd> + Send>,
        mut serve: impl FnMut(OwnedFd) + Send + 'static,
    ) -> Server {
        let path = sock_path(tag);
        let _ = std::fs::remove_file(&path);
        let mut accept = bind(&path);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = thread::spawn(move || {
            while let Some(conn) = accept() {
                if s.load(SeqCst) {
                    return;
                }
                serve(conn);
            }
        });
        Server {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
        drop(UnixStream::connect(&self.path));
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}
