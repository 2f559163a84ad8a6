//! The program under test as a child process: lines to its standard
//! input, lines from its standard output, each awaited no longer than a
//! deadline.
//!
//! Threads do the blocking I/O, so that a program that stops reading or
//! writing can never block the bridge: a writer thread feeds its input, a
//! reader thread hands its output lines over a channel (awaited with a
//! timeout), and another keeps the last line of its standard error for
//! the failure messages. Dropping a [`Child`] kills and reaps the process:
//! no zombie is left behind, whatever the program did.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::process::wait_bounded;

/// The longest line accepted from the program (a reply carries at most a
/// frame's payload in hex): longer is a protocol error, not an allocation.
pub(super) const MAX_LINE: u64 = 64 << 20;

/// Why no line came.
#[derive(Debug)]
pub(super) enum NoLine {
    /// The deadline passed.
    Timeout,
    /// The program closed its standard output (it exited, most likely).
    Closed,
    /// A line longer than [`MAX_LINE`], or unreadable output.
    Bad(String),
}

/// A running program.
pub(super) struct Child {
    process: std::process::Child,
    input: Option<mpsc::Sender<Vec<u8>>>,
    lines: mpsc::Receiver<Result<String, String>>,
    last_stderr: Arc<Mutex<Option<String>>>,
    /// Disconnected once the program's standard error is at its end.
    stderr_done: mpsc::Receiver<()>,
}

impl Child {
    /// Starts `program` (its path, then its arguments).
    pub(super) fn spawn(program: &[String]) -> io::Result<Child> {
        let (exe, args) = program
            .split_first()
            .ok_or_else(|| io::Error::other("no program given"))?;
        let mut process = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (input, to_write) = mpsc::channel::<Vec<u8>>();
        if let Some(stdin) = process.stdin.take() {
            std::thread::spawn(move || write_lines(stdin, to_write));
        }
        let (line_tx, lines) = mpsc::channel();
        if let Some(stdout) = process.stdout.take() {
            std::thread::spawn(move || read_lines(stdout, line_tx));
        }
        let last_stderr = Arc::new(Mutex::new(None));
        let (done, stderr_done) = mpsc::channel();
        if let Some(stderr) = process.stderr.take() {
            let last = Arc::clone(&last_stderr);
            std::thread::spawn(move || {
                keep_last_line(stderr, last);
                drop(done);
            });
        }
        Ok(Child {
            process,
            input: Some(input),
            lines,
            last_stderr,
            stderr_done,
        })
    }

    /// Queues `line` (without its newline) for the program's input.
    pub(super) fn send(&self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if let Some(input) = &self.input {
            // A writer gone means the program closed its input; the read
            // that follows reports how it ended.
            let _ = input.send(bytes);
        }
    }

    /// The next line of the program's output, awaited until `deadline`.
    pub(super) fn recv(&self, deadline: Instant) -> Result<String, NoLine> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(why)) => Err(NoLine::Bad(why)),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(NoLine::Timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(NoLine::Closed),
        }
    }

    /// The last non-empty line the program wrote on its standard error.
    pub(super) fn last_stderr(&self) -> Option<String> {
        self.last_stderr.lock().ok().and_then(|l| l.clone())
    }

    /// Closes the program's input and waits for it to exit, a second at
    /// most (then kills it): its exit status (`None` if it had to be
    /// killed) and the last line of its standard error, read to its end
    /// (a second at most, should another process hold it open).
    pub(super) fn finish(mut self) -> (Option<ExitStatus>, Option<String>) {
        self.input = None;
        let status = wait_bounded(&mut self.process, Instant::now());
        let _ = self.stderr_done.recv_timeout(Duration::from_secs(1));
        (status, self.last_stderr())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.input = None;
        // Kill before reaping: the pid cannot be reused in between.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn write_lines(mut stdin: ChildStdin, lines: mpsc::Receiver<Vec<u8>>) {
    for line in lines {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

fn read_lines(stdout: impl Read, tx: mpsc::Sender<Result<String, String>>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let line = match (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(_) if buf.len() as u64 > MAX_LINE => {
                Err(format!("a line longer than {MAX_LINE} bytes"))
            }
            Ok(_) => String::from_utf8(buf)
                .map(|mut text| {
                    if text.ends_with('\n') {
                        text.pop();
                    }
                    text
                })
                .map_err(|_| "a line that is not UTF-8".to_owned()),
            Err(e) => Err(format!("reading its output: {e}")),
        };
        // After a bad line the output is out of step: stop reading.
        let bad = line.is_err();
        if tx.send(line).is_err() || bad {
            return;
        }
    }
}

fn keep_last_line(stderr: impl Read, last: Arc<Mutex<Option<String>>>) {
    let mut reader = BufReader::new(stderr);
    loop {
        let mut line = Vec::new();
        match (&mut reader).take(4096).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line).trim().to_owned();
                if !text.is_empty() {
                    if let Ok(mut l) = last.lock() {
                        *l = Some(text);
                    }
                }
            }
        }
    }
}
