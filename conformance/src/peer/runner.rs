//! `peer --exec`: plays the other side of every case against a program
//! started with a socket on fd 3 (`docs/SHIM.md`).

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mon_ipc::frame::{HEADER_LEN, Header, KIND_DATA, KIND_SHM};
use mon_ipc::hello::{HELLO_LEN, Hello, MAGIC, Reply};
use mon_ipc::{Decoder, Kind, Limits, ReadFlags, SocketKind, Ucred};
use mon_ipc_conformance_core::report::{self, Status, count};
use mon_ipc_std::raw::{self, Room};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{Shutdown, shutdown};
use serde::{Deserialize, Serialize};

use super::cases::{
    Action, CASES, Case, EARLY_FRAMES, ECHO_FRAMES, FrameSpec, HELD, HOLD_FRAME, MANUAL_FRAME,
    Role, SHM_APP_LEN, SHM_SIZE, Script, marker, payload,
};
use super::os;
use super::procfs::{self, Ident};
use crate::process::wait_bounded;

/// The report's schema name.
pub const REPORT_SCHEMA: &str = "mon-ipc-shim-report";
/// The exit status that means "case not implemented".
pub const UNIMPLEMENTED_STATUS: i32 = 89;
/// The runner's own limits: what it advertises in its hello or reply.
pub const RUNNER_LIMITS: (u8, u32) = (8, 65536);
/// The least a program must advertise: fds per frame and payload bytes.
/// The fds are asked for only as far as the case needs them
/// ([`Case::fds_needed`]); every case's frames fit in 4.
pub const REQUIRED_LIMITS: (u16, u32) = (4, 4096);
/// The most payload a side may advertise on seqpacket: a 4 MiB record,
/// header included (PROTOCOL.md 4.3; Linux refuses larger records with
/// `ENOBUFS` whatever `SO_SNDBUF` is).
pub const SEQPACKET_MAX_PAYLOAD: u32 = (4 << 20) - HEADER_LEN as u32;

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The program and its own arguments.
    pub program: Vec<String>,
    /// Only cases whose name contains this.
    pub filter: Option<String>,
    /// The socket types to run (both by default).
    pub sockets: Vec<SocketKind>,
    /// Per-case limit; the program is killed after it.
    pub timeout: Duration,
}

/// The result of one case on one socket type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// `stream` or `seqpacket`.
    pub socket: String,
    /// Passed, failed or unimplemented.
    pub status: Status,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The program's exit status (absent if killed by a signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// The last line of its standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

mon_ipc_conformance_core::report_entry!(CaseResult, |r| format!("{} {}", r.name, r.socket));

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// The program and its arguments.
    pub program: Vec<String>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
    /// How many the program does not implement.
    pub unimplemented: usize,
    /// Every case run, in run order.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// Whether the run verified anything and found nothing wrong: no case
    /// failed and at least one passed. A run in which every case was
    /// unimplemented (or none was selected) verified nothing, and the
    /// command exits 1 for it as for a failure.
    pub fn verdict(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }
}

/// The name of a socket type on the command line.
pub fn socket_name(kind: SocketKind) -> &'static str {
    match kind {
        SocketKind::Stream => "stream",
        SocketKind::Seqpacket => "seqpacket",
    }
}

/// Runs every selected case on every selected socket type.
pub fn run(opts: &Options) -> Report {
    let mut results = Vec::new();
    for case in CASES {
        if opts
            .filter
            .as_deref()
            .is_some_and(|f| !case.name.contains(f))
        {
            continue;
        }
        for &kind in &opts.sockets {
            results.push(run_case(opts, case, kind));
        }
    }
    Report {
        schema: REPORT_SCHEMA.to_owned(),
        program: opts.program.clone(),
        passed: count(&results, Status::Passed),
        failed: count(&results, Status::Failed),
        unimplemented: count(&results, Status::Unimplemented),
        results,
    }
}

/// The report's lines ([`report::lines`]), then the unimplemented count.
pub fn lines(report: &Report) -> Vec<String> {
    let mut out = report::lines(&report.results);
    out.push(format!("{} unimplemented", report.unimplemented));
    out
}

type Res<T = ()> = Result<T, String>;

fn e<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// A pipe the runner made, and what its read end must hold at the end.
struct Pipe {
    read: OwnedFd,
    expect: Vec<u8>,
    what: String,
}

/// A frame the program sent.
struct Got {
    kind: Kind,
    payload: Vec<u8>,
    fds: Vec<OwnedFd>,
}

/// One case in progress: the runner's end and what it must check.
struct Ctx {
    sock: OwnedFd,
    kind: SocketKind,
    pid: u32,
    deadline: Instant,
    /// Objects handed to the program: it must hold none of them at the end.
    sent: Vec<(Ident, String)>,
    /// Pipes whose read ends the runner keeps.
    pipes: Vec<Pipe>,
    /// Read ends of pipes the program sent, with their expected marker.
    theirs: Vec<(OwnedFd, Vec<u8>, String)>,
    limits: Limits,
    /// The fds per frame the program must advertise in this case.
    fds_needed: u16,
    dec: Option<Decoder<OwnedFd>>,
    shut: bool,
}

fn run_case(opts: &Options, case: &Case, kind: SocketKind) -> CaseResult {
    let mut result = CaseResult {
        name: case.name.to_owned(),
        socket: socket_name(kind).to_owned(),
        status: Status::Failed,
        reason: None,
        exit: None,
        code: None,
    };
    match run_one(opts, case, kind, &mut result) {
        Ok(()) => result.status = Status::Passed,
        Err(why) if result.status == Status::Unimplemented => drop(why),
        Err(why) => result.reason = Some(why),
    }
    result
}

fn run_one(opts: &Options, case: &Case, kind: SocketKind, out: &mut CaseResult) -> Res {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let pair = mon_ipc_std::socketpair(kind).map_err(e("socketpair"))?;
    let (mine, theirs) = match case.role {
        Role::Client => (pair.server, pair.client),
        Role::Server => (pair.client, pair.server),
    };
    let conn = procfs::ident(theirs.as_fd()).map_err(e("fstat"))?;
    if case.script == Script::HelloWithoutCredentials {
        // The one exception to "SO_PASSCRED before anything is written":
        // the hello goes out, without SCM_CREDENTIALS, while it is off on
        // both ends, so it arrives with no sender's credentials.
        raw::pass_credentials(&theirs, false).map_err(e("SO_PASSCRED"))?;
        let hello = Hello::new(runner_limits(), false).to_bytes();
        send_all(mine.as_fd(), kind, &hello, None, &[])?;
    }
    let Some((exe, args)) = opts.program.split_first() else {
        return Err("no program given".to_owned());
    };
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .args(["--role", case.role.name(), "--case", case.name])
        .args(["--socket", socket_name(kind)])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    os::inherit_as_fd3(&mut cmd, theirs.as_fd());
    let mut child = cmd
        .spawn()
        .map_err(|err| format!("cannot start {exe}: {err}"))?;
    drop(theirs);
    let stdin = child.stdin.take();
    // Read by a thread, handed over through a channel: a grandchild that
    // keeps stderr open must not hang the runner.
    let (err_tx, stderr) = mpsc::channel();
    if let Some(mut s) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
    }
    let mut ctx = Ctx {
        sock: mine,
        kind,
        pid: child.id(),
        deadline,
        sent: vec![(conn, "the connection".to_owned())],
        pipes: Vec::new(),
        theirs: Vec::new(),
        limits: runner_limits(),
        fds_needed: u16::try_from(case.fds_needed()).unwrap_or(u16::MAX),
        dec: None,
        shut: false,
    };
    let body = script(&mut ctx, case);
    let Ctx {
        sock,
        pipes,
        theirs,
        ..
    } = ctx;
    drop(sock);
    drop(stdin);
    let status = wait_bounded(&mut child, deadline);
    let text = stderr
        .recv_timeout(Duration::from_secs(1))
        .unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned);
    out.code = last.clone();
    let status = match status {
        Some(s) => s,
        None => {
            return Err(format!(
                "timed out after {} s; killed",
                opts.timeout.as_secs_f32()
            ));
        }
    };
    out.exit = status.code();
    if status.code() == Some(UNIMPLEMENTED_STATUS) {
        out.status = Status::Unimplemented;
        return Err("unimplemented".to_owned());
    }
    if let Err(why) = body {
        if Instant::now() >= deadline {
            return Err(format!("timed out: {why}"));
        }
        return Err(match (&last, status.code()) {
            (Some(l), Some(c)) if c != 0 => {
                format!("{why} (program exited {c}: {l}){}", hint(case, kind, l))
            }
            _ => why,
        });
    }
    check_status(case, kind, status, last.as_deref())
        .map_err(|why| format!("{why}{}", hint(case, kind, last.as_deref().unwrap_or(""))))?;
    for p in pipes {
        let got = drain_pipe(&p.read).map_err(|err| format!("{}: {err}", p.what))?;
        if got != p.expect {
            return Err(format!(
                "{}: holds {:?}, expected {:?}",
                p.what,
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&p.expect)
            ));
        }
    }
    for (fd, expect, what) in theirs {
        let got = drain_pipe(&fd).map_err(|err| format!("{what}: {err}"))?;
        if got != expect {
            return Err(format!(
                "{what}: holds {:?}, expected {:?}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expect)
            ));
        }
    }
    Ok(())
}

/// A hint for a failure whose cause is usually not the program's protocol
/// logic: `hello_fds` where no fd was sent is most often a control buffer
/// without room for the `SCM_PIDFD` that comes with every read while
/// `SO_PASSPIDFD` is on (SHIM.md section 1).
fn hint(case: &Case, kind: SocketKind, code: &str) -> &'static str {
    let expected = case.expect.code(kind);
    if case.role == Role::Server && code == "hello_fds" && expected != Some("hello_fds") {
        "; hint: SO_PASSPIDFD is on at the program's end, so every read carries an \
         SCM_PIDFD; a control buffer without room for it gets MSG_CTRUNC (SHIM.md section 1)"
    } else {
        ""
    }
}

fn check_status(case: &Case, kind: SocketKind, status: ExitStatus, last: Option<&str>) -> Res {
    let Some(code) = status.code() else {
        return Err(format!("program killed by {status}"));
    };
    match case.expect.code(kind) {
        None if code == 0 => Ok(()),
        None => Err(format!(
            "program exited {code}, expected 0 (last stderr line: {})",
            last.unwrap_or("none")
        )),
        Some(want) if code == 1 && last == Some(want) => Ok(()),
        Some(want) if code == 1 => Err(format!(
            "program failed with {}, expected {want}",
            last.unwrap_or("no error code")
        )),
        Some(want) => Err(format!("program exited {code}, expected 1 with {want}")),
    }
}

/// Reads what a pipe holds without blocking; an error if a write end is
/// still open somewhere.
fn drain_pipe(fd: &OwnedFd) -> Res<Vec<u8>> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(e("fcntl"))?;
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EAGAIN) => {
                return Err("a write end is still open after the program exited".to_owned());
            }
            Err(err) => return Err(format!("read: {err}")),
        }
    }
}

fn runner_limits() -> Limits {
    Limits::new(RUNNER_LIMITS.0, RUNNER_LIMITS.1).unwrap_or_default()
}

fn own() -> Ucred {
    raw::own_credentials()
}

/// Sends `bytes` in one `sendmsg` (on a stream, a short write is finished
/// without the ancillary data).
fn send_all(
    sock: BorrowedFd<'_>,
    kind: SocketKind,
    bytes: &[u8],
    creds: Option<Ucred>,
    fds: &[BorrowedFd<'_>],
) -> Res {
    let mut at = 0;
    let mut first = true;
    while first || at < bytes.len() {
        let (c, f) = if first { (creds, fds) } else { (None, &[][..]) };
        let n = raw::send(sock, &[&bytes[at..]], c, f).map_err(e("sendmsg"))?;
        at += n;
        first = false;
        if kind == SocketKind::Seqpacket && at < bytes.len() {
            return Err("short seqpacket send".to_owned());
        }
    }
    Ok(())
}

fn frame_bytes(kind: u8, nfds: u8, reserved: u16, payload: &[u8], len: u32) -> Vec<u8> {
    let h = Header {
        len,
        nfds,
        kind,
        reserved,
    };
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

fn is_reset(err: &mon_ipc_std::Error) -> bool {
    matches!(err, mon_ipc_std::Error::Io { errno, .. } if *errno == libc::ECONNRESET)
}

impl Ctx {
    fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Waits until the socket is readable, within the case's deadline.
    fn wait_readable(&self, what: &str) -> Res {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("timed out waiting for {what}"));
            }
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(format!("poll: {err}")),
            }
        }
    }

    /// One read; `None` at EOF (or reset).
    fn recv(
        &self,
        buf: &mut [u8],
        room: Room,
        what: &str,
    ) -> Res<Option<(usize, mon_ipc::Ancillary<OwnedFd>)>> {
        self.wait_readable(what)?;
        match raw::recv(self.fd(), buf, room) {
            Ok((0, anc)) if anc.fds.is_empty() && !anc.ctrunc => Ok(None),
            Ok(got) => Ok(Some(got)),
            Err(err) if is_reset(&err) => Ok(None),
            Err(err) => Err(format!("recvmsg: {err}")),
        }
    }

    fn expected_creds(&self) -> Ucred {
        let (_, uid, gid) = own().to_raw();
        Ucred::from_raw(self.pid, uid, gid)
    }

    /// Reads one 16-byte handshake message: every piece must carry
    /// `creds` if given, and no fds.
    fn read_message(&self, what: &str, creds: Option<Ucred>) -> Res<[u8; HELLO_LEN]> {
        let mut msg = [0u8; HELLO_LEN];
        let room = Room {
            fds: 4,
            creds: creds.is_some(),
            pidfd: false,
        };
        match self.kind {
            SocketKind::Seqpacket => {
                let mut buf = [0u8; HELLO_LEN + 1];
                let Some((n, anc)) = self.recv(&mut buf, room, what)? else {
                    return Err(format!("EOF instead of the {what}"));
                };
                check_anc(&anc, creds, what)?;
                if n != HELLO_LEN || anc.trunc {
                    return Err(format!("the {what} record has {n} bytes, not 16"));
                }
                msg.copy_from_slice(&buf[..HELLO_LEN]);
            }
            SocketKind::Stream => {
                let mut got = 0;
                while got < HELLO_LEN {
                    let Some((n, anc)) = self.recv(&mut msg[got..], room, what)? else {
                        return Err(format!("EOF after {got} bytes of the {what}"));
                    };
                    check_anc(&anc, creds, what)?;
                    got += n;
                }
            }
        }
        Ok(msg)
    }

    /// Runner as server: reads and checks the program's hello.
    fn accept_hello(&mut self, mutual: bool) -> Res {
        let msg = self.read_message("hello", Some(self.expected_creds()))?;
        // Once the hello is in, the server turns SO_PASSCRED off.
        raw::pass_credentials(self.fd(), false).map_err(e("SO_PASSCRED"))?;
        if msg[0..4] != MAGIC {
            return Err(format!("hello magic {:02x?}", &msg[0..4]));
        }
        if msg[4] != 1 {
            return Err(format!("hello version {}, expected 1", msg[4]));
        }
        let want = u8::from(mutual);
        if msg[5] != want {
            return Err(format!("hello flags {:#04x}, expected {want:#04x}", msg[5]));
        }
        let max_fds = u16::from_le_bytes([msg[6], msg[7]]);
        let max_payload = u32::from_le_bytes([msg[8], msg[9], msg[10], msg[11]]);
        self.set_limits(max_fds, max_payload, "hello")?;
        if msg[12..16] != [0; 4] {
            return Err("hello reserved field not 0".to_owned());
        }
        Ok(())
    }

    fn set_limits(&mut self, max_fds: u16, max_payload: u32, what: &str) -> Res {
        if max_fds > 253 {
            return Err(format!("{what} offers {max_fds} fds per frame (> 253)"));
        }
        let fds = self.fds_needed.min(REQUIRED_LIMITS.0);
        if max_fds < fds || max_payload < REQUIRED_LIMITS.1 {
            return Err(format!(
                "{what} offers {max_fds} fds / {max_payload} bytes; SHIM.md asks for at least {fds} / {} in this case",
                REQUIRED_LIMITS.1
            ));
        }
        if self.kind == SocketKind::Seqpacket && max_payload > SEQPACKET_MAX_PAYLOAD {
            return Err(format!(
                "{what} offers {max_payload} bytes per frame on seqpacket; PROTOCOL.md 4.3 allows at most {SEQPACKET_MAX_PAYLOAD} (a 4 MiB record)"
            ));
        }
        let theirs = Limits::new(max_fds as u8, max_payload).map_err(e("limits"))?;
        self.limits = theirs.min(runner_limits());
        self.dec = Some(Decoder::new(self.limits, self.kind));
        Ok(())
    }

    /// Runner as server: the reply bytes.
    fn reply(&self, status: u8) -> [u8; HELLO_LEN] {
        Reply {
            version: 1,
            status,
            max_fds: RUNNER_LIMITS.0.into(),
            max_payload: RUNNER_LIMITS.1,
            reserved: 0,
        }
        .to_bytes()
    }

    /// Runner as client: sends a hello (with its credentials).
    fn send_hello(&mut self, msg: &[u8], mutual: bool, fds: &[BorrowedFd<'_>]) -> Res {
        if mutual {
            raw::pass_credentials(self.fd(), true).map_err(e("SO_PASSCRED"))?;
        }
        send_all(self.fd(), self.kind, msg, Some(own()), fds)
    }

    /// Runner as client: reads and checks the program's reply.
    fn read_reply(&mut self, status: u8, mutual: bool) -> Res {
        let creds = mutual.then(|| self.expected_creds());
        let msg = self.read_message("reply", creds)?;
        if mutual {
            raw::pass_credentials(self.fd(), false).map_err(e("SO_PASSCRED"))?;
        }
        if msg[0..4] != MAGIC {
            return Err(format!("reply magic {:02x?}", &msg[0..4]));
        }
        if msg[5] != status {
            return Err(format!("reply status {}, expected {status}", msg[5]));
        }
        if msg[4] != 1 {
            return Err(format!("reply version {}, expected 1", msg[4]));
        }
        if msg[12..16] != [0; 4] {
            return Err("reply reserved field not 0".to_owned());
        }
        let max_fds = u16::from_le_bytes([msg[6], msg[7]]);
        let max_payload = u32::from_le_bytes([msg[8], msg[9], msg[10], msg[11]]);
        self.set_limits(max_fds, max_payload, "reply")
    }

    /// A new pipe: the write end goes to the program, the read end stays
    /// here and must hold `expect` at the end.
    fn pipe(&mut self, expect: Vec<u8>, what: String) -> Res<OwnedFd> {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(e("pipe2"))?;
        let id = procfs::ident(r.as_fd()).map_err(e("fstat"))?;
        self.sent.push((id, what.clone()));
        self.pipes.push(Pipe {
            read: r,
            expect,
            what,
        });
        Ok(w)
    }

    /// Sends `specs` as data frames (frame `i` numbered from `first`), each
    /// fd the write end of a new pipe that must end up holding `marker(i,
    /// j)` if `marked`, nothing otherwise. Returns the write ends' idents.
    fn send_frames(&mut self, specs: &[FrameSpec], marked: bool) -> Res<Vec<Vec<Ident>>> {
        let mut ids = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let mut w = Vec::new();
            for j in 0..s.nfds {
                let expect = if marked { marker(i, j) } else { Vec::new() };
                w.push(self.pipe(expect, format!("the pipe of frame {i} fd {j}"))?);
            }
            let bytes = frame_bytes(KIND_DATA, s.nfds as u8, 0, &payload(i, s.len), s.len as u32);
            let b: Vec<_> = w.iter().map(AsFd::as_fd).collect();
            send_all(self.fd(), self.kind, &bytes, None, &b)?;
            ids.push(
                w.iter()
                    .map(|f| procfs::ident(f.as_fd()))
                    .collect::<Result<_, _>>()
                    .map_err(e("fstat"))?,
            );
        }
        Ok(ids)
    }

    fn shut_wr(&mut self) {
        if !self.shut {
            self.shut = true;
            let _ = shutdown(self.sock.as_raw_fd(), Shutdown::Write);
        }
    }

    /// Reads the program's frames until `n` are in (`None`: until EOF).
    fn read_frames(&mut self, n: Option<usize>) -> Res<Vec<Got>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; RUNNER_LIMITS.1 as usize + HEADER_LEN + 1];
        let room = Room {
            fds: 253,
            creds: false,
            pidfd: false,
        };
        loop {
            let dec = self.dec.as_mut().ok_or_else(|| "no handshake".to_owned())?;
            loop {
                let mut fds = Vec::new();
                match dec.next_frame_into(&mut fds) {
                    Ok(Some((kind, p))) => out.push(Got {
                        kind,
                        payload: p.to_vec(),
                        fds,
                    }),
                    Ok(None) => break,
                    Err(err) => return Err(format!("the program's frames: {}", err.code())),
                }
                if n == Some(out.len()) {
                    return Ok(out);
                }
            }
            if dec.is_closed() {
                return match n {
                    Some(n) => Err(format!("EOF after {} of {n} frames", out.len())),
                    None => Ok(out),
                };
            }
            let got = self.recv(&mut buf, room, "the program's frames")?;
            let dec = self.dec.as_mut().ok_or_else(|| "no handshake".to_owned())?;
            let r = match got {
                None => dec.receive_eof(),
                Some((len, anc)) => dec.receive(
                    &buf[..len],
                    anc.fds,
                    ReadFlags {
                        ctrunc: anc.ctrunc,
                        trunc: anc.trunc,
                    },
                ),
            };
            r.map_err(|err| format!("the program's frames: {}", err.code()))?;
        }
    }

    /// Half-closes, then expects the program to close without sending
    /// anything more.
    fn expect_close(&mut self) -> Res {
        self.shut_wr();
        let mut buf = [0u8; 64];
        let room = Room {
            fds: 4,
            creds: false,
            pidfd: false,
        };
        if let Some((n, anc)) = self.recv(&mut buf, room, "the program to close the connection")? {
            return Err(format!(
                "program sent {n} more bytes and {} fds instead of closing",
                anc.fds.len()
            ));
        }
        self.linger_check()
    }

    /// Expects EOF after the frames read so far.
    fn expect_eof_frames(&mut self) -> Res {
        self.shut_wr();
        let more = self.read_frames(None)?;
        if !more.is_empty() {
            return Err(format!("program sent {} unexpected frames", more.len()));
        }
        self.linger_check()
    }

    /// The program closed the connection and now waits for its stdin to
    /// close: it must hold nothing the runner gave it.
    fn linger_check(&self) -> Res {
        let held = procfs::held(self.pid, &self.sent)?;
        if held.is_empty() {
            Ok(())
        } else {
            Err(format!("program still holds {}", held.join(", ")))
        }
    }

    /// Checks the program's frames against `specs`; keeps their fds
    /// (pipe read ends that must hold their markers) for after the exit.
    fn check_sent(&mut self, got: Vec<Got>, specs: &[FrameSpec]) -> Res {
        if got.len() != specs.len() {
            return Err(format!("{} frames, expected {}", got.len(), specs.len()));
        }
        for (i, (g, s)) in got.into_iter().zip(specs).enumerate() {
            if g.kind != Kind::Data {
                return Err(format!("frame {i} is not a data frame"));
            }
            if g.payload != payload(i, s.len) {
                return Err(format!("frame {i}: payload differs"));
            }
            if g.fds.len() != s.nfds {
                return Err(format!(
                    "frame {i}: {} fds, expected {}",
                    g.fds.len(),
                    s.nfds
                ));
            }
            for (j, fd) in g.fds.into_iter().enumerate() {
                procfs::expect_pipe_end(fd.as_fd(), false)
                    .map_err(|err| format!("frame {i} fd {j}: {err}"))?;
                self.theirs.push((
                    fd,
                    marker(i, j),
                    format!("frame {i} fd {j} from the program"),
                ));
            }
        }
        Ok(())
    }
}

fn check_anc(anc: &mon_ipc::Ancillary<OwnedFd>, creds: Option<Ucred>, what: &str) -> Res {
    if !anc.fds.is_empty() || anc.ctrunc {
        return Err(format!("fds attached to the {what}"));
    }
    if let Some(want) = creds {
        match anc.creds {
            Some(c) if c == want => {}
            Some(c) => {
                return Err(format!(
                    "{what} credentials {:?}, expected {:?} (pid, euid, egid)",
                    c.to_raw(),
                    want.to_raw()
                ));
            }
            None => return Err(format!("no credentials with the {what}")),
        }
    }
    Ok(())
}

/// Status of the reply a server program must send for `case`.
fn refusal_status(code: &str) -> u8 {
    match code {
        "denied" => 1,
        "no_credentials" => 3,
        _ => 4,
    }
}

fn script(ctx: &mut Ctx, case: &Case) -> Res {
    match case.role {
        Role::Client => client_script(ctx, case),
        Role::Server => server_script(ctx, case),
    }
}

/// The program is the client; the runner serves.
fn client_script(ctx: &mut Ctx, case: &Case) -> Res {
    ctx.accept_hello(case.mutual)?;
    let creds = case.mutual.then(own);
    let kind = ctx.kind;
    let mut reply = ctx.reply(0);
    match case.script {
        Script::Denied => reply = ctx.reply(1),
        Script::BadMagic => reply[2] = b'X',
        Script::Reserved => reply[12] = 1,
        _ => {}
    }
    match case.script {
        Script::Truncated => {
            send_all(ctx.fd(), kind, &reply[..8], creds, &[])?;
            return ctx.expect_close();
        }
        Script::WithFd => {
            let w = ctx.pipe(Vec::new(), "the pipe sent with the reply".to_owned())?;
            send_all(ctx.fd(), kind, &reply, creds, &[w.as_fd()])?;
            drop(w);
            return ctx.expect_close();
        }
        Script::EarlyFrames => {
            // Stream: the reply and the fd-less frame in one sendmsg, the
            // fd-carrying frame in the next, all before reading anything.
            let (r, w) = (
                reply,
                ctx.pipe(marker(1, 0), "the pipe of frame 1 fd 0".to_owned())?,
            );
            let f0 = frame_bytes(
                KIND_DATA,
                0,
                0,
                &payload(0, EARLY_FRAMES[0].len),
                EARLY_FRAMES[0].len as u32,
            );
            let f1 = frame_bytes(
                KIND_DATA,
                1,
                0,
                &payload(1, EARLY_FRAMES[1].len),
                EARLY_FRAMES[1].len as u32,
            );
            if kind == SocketKind::Stream {
                send_all(ctx.fd(), kind, &[&r[..], &f0].concat(), creds, &[])?;
            } else {
                send_all(ctx.fd(), kind, &r, creds, &[])?;
                send_all(ctx.fd(), kind, &f0, None, &[])?;
            }
            send_all(ctx.fd(), kind, &f1, None, &[w.as_fd()])?;
            drop(w);
            return ctx.expect_eof_frames();
        }
        _ => send_all(ctx.fd(), kind, &reply, creds, &[])?,
    }
    // The channel's adversarial cases fail after the handshake; every
    // other case expecting an error fails on the reply.
    if case.expect.code(kind).is_some() && case.action != Action::Drain {
        return ctx.expect_close();
    }
    frames_after_handshake(ctx, case)
}

/// The program is the server; the runner is the client.
fn server_script(ctx: &mut Ctx, case: &Case) -> Res {
    let kind = ctx.kind;
    let mutual = case.mutual;
    let mut hello = Hello::new(runner_limits(), mutual).to_bytes();
    match case.script {
        Script::BadMagic => hello[2] = b'X',
        Script::Reserved => hello[12] = 1,
        _ => {}
    }
    match case.script {
        Script::HelloWithoutCredentials => {} // sent before the program started
        Script::WithFd => {
            let w = ctx.pipe(Vec::new(), "the pipe sent with the hello".to_owned())?;
            ctx.send_hello(&hello, false, &[w.as_fd()])?;
        }
        Script::Trailing => {
            let long = [&hello[..], b"more"].concat();
            ctx.send_hello(&long, false, &[])?;
        }
        Script::Truncated => {
            ctx.send_hello(&hello[..8], false, &[])?;
            ctx.shut_wr();
        }
        _ => ctx.send_hello(&hello, mutual, &[])?,
    }
    if let Some(code) = case.expect.code(kind) {
        if case.action == Action::Idle {
            ctx.read_reply(refusal_status(code), false).or_else(|err| {
                // A refused hello: the limits in the reply are the
                // program's own; only the status and layout matter here.
                if err.contains("offers") {
                    Ok(())
                } else {
                    Err(err)
                }
            })?;
            return ctx.expect_close();
        }
    }
    ctx.read_reply(0, mutual)?;
    frames_after_handshake(ctx, case)
}

/// The frames of a case once both sides are authenticated.
fn frames_after_handshake(ctx: &mut Ctx, case: &Case) -> Res {
    let kind = ctx.kind;
    match case.action {
        Action::Idle => ctx.expect_eof_frames(),
        Action::Recv(specs) => {
            ctx.send_frames(specs, true)?;
            ctx.expect_eof_frames()
        }
        Action::RecvFd => {
            ctx.send_frames(MANUAL_FRAME, true)?;
            ctx.expect_eof_frames()
        }
        Action::Send(specs) => {
            ctx.shut_wr();
            let got = ctx.read_frames(None)?;
            ctx.check_sent(got, specs)?;
            ctx.linger_check()
        }
        Action::SendFd => {
            ctx.shut_wr();
            let got = ctx.read_frames(None)?;
            ctx.check_sent(got, MANUAL_FRAME)?;
            ctx.linger_check()
        }
        Action::Echo => {
            let ids = ctx.send_frames(ECHO_FRAMES, false)?;
            ctx.shut_wr();
            let got = ctx.read_frames(None)?;
            if got.len() != ECHO_FRAMES.len() {
                return Err(format!(
                    "{} frames echoed, expected {}",
                    got.len(),
                    ECHO_FRAMES.len()
                ));
            }
            for (i, (g, s)) in got.iter().zip(ECHO_FRAMES).enumerate() {
                if g.kind != Kind::Data || g.payload != payload(i, s.len) {
                    return Err(format!("echoed frame {i}: kind or payload differs"));
                }
                if g.fds.len() != s.nfds {
                    return Err(format!(
                        "echoed frame {i}: {} fds, expected {}",
                        g.fds.len(),
                        s.nfds
                    ));
                }
                for (j, fd) in g.fds.iter().enumerate() {
                    let id = procfs::ident(fd.as_fd()).map_err(e("fstat"))?;
                    if id != ids[i][j] {
                        return Err(format!(
                            "echoed frame {i} fd {j} is not the pipe sent with it"
                        ));
                    }
                    procfs::expect_pipe_end(fd.as_fd(), true)
                        .map_err(|err| format!("echoed frame {i} fd {j}: {err}"))?;
                }
            }
            drop(got);
            ctx.linger_check()
        }
        Action::Hold => {
            let ids = ctx.send_frames(HOLD_FRAME, true)?;
            let got = ctx.read_frames(Some(1))?;
            if got[0].payload != HELD || !got[0].fds.is_empty() {
                return Err("expected one frame \"held\" with no fd".to_owned());
            }
            procfs::check_cloexec(ctx.pid, ids[0][0])?;
            ctx.expect_eof_frames()
        }
        Action::Shm => {
            let mut region = mon_ipc_std::SharedMemory::create(SHM_SIZE).map_err(e("memfd"))?;
            region
                .write_at(0, &payload(1, SHM_SIZE))
                .map_err(e("memfd write"))?;
            region.seal().map_err(e("seal"))?;
            let header = region.header().map_err(e("seals"))?;
            let id = procfs::ident(region.as_fd()).map_err(e("fstat"))?;
            ctx.sent.push((id, "the memfd".to_owned()));
            let p = [&header.to_bytes()[..], &payload(0, SHM_APP_LEN)].concat();
            let bytes = frame_bytes(KIND_SHM, 1, 0, &p, p.len() as u32);
            send_all(ctx.fd(), kind, &bytes, None, &[region.as_fd()])?;
            drop(region);
            ctx.expect_eof_frames()
        }
        Action::Drain => {
            adversarial_frames(ctx, case.script)?;
            ctx.expect_close()
        }
    }
}

fn adversarial_frames(ctx: &mut Ctx, script: Script) -> Res {
    let kind = ctx.kind;
    match script {
        Script::SurplusFds => {
            let a = ctx.pipe(Vec::new(), "surplus pipe 1".to_owned())?;
            let b = ctx.pipe(Vec::new(), "surplus pipe 2".to_owned())?;
            let f = frame_bytes(KIND_DATA, 1, 0, &payload(0, 5), 5);
            send_all(ctx.fd(), kind, &f, None, &[a.as_fd(), b.as_fd()])
        }
        Script::FdsWithoutFrame => {
            let a = ctx.pipe(Vec::new(), "the frame's pipe".to_owned())?;
            let b = ctx.pipe(Vec::new(), "the pipe without a frame".to_owned())?;
            if kind == SocketKind::Stream {
                // The kernel never glues two fd-carrying sendmsg into one
                // read, so the second pipe arrives in a read in which no
                // header begins, however the program reads.
                let f = frame_bytes(KIND_DATA, 1, 0, &payload(0, 10), 10);
                send_all(ctx.fd(), kind, &f[..HEADER_LEN + 5], None, &[a.as_fd()])?;
                send_all(ctx.fd(), kind, &f[HEADER_LEN + 5..], None, &[b.as_fd()])
            } else {
                let f = frame_bytes(KIND_DATA, 1, 0, &payload(0, 10), 10);
                send_all(ctx.fd(), kind, &f, None, &[a.as_fd()])?;
                send_all(ctx.fd(), kind, &[], None, &[b.as_fd()])
            }
        }
        Script::OversizedFrame => {
            let len = ctx.limits.max_payload().saturating_add(1);
            let f = frame_bytes(KIND_DATA, 0, 0, &[], len);
            send_all(ctx.fd(), kind, &f, None, &[])
        }
        Script::FrameReserved => {
            let f = frame_bytes(KIND_DATA, 0, 1, &payload(0, 5), 5);
            send_all(ctx.fd(), kind, &f, None, &[])
        }
        Script::HangupMidFrame => {
            let f = frame_bytes(KIND_DATA, 0, 0, &payload(0, 5), 10);
            send_all(ctx.fd(), kind, &f, None, &[])?;
            ctx.shut_wr();
            Ok(())
        }
        other => Err(format!("no frames for the script {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_has_a_script_and_a_unique_name() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
        assert!(CASES.len() >= 20);
    }

    #[test]
    fn hello_fds_where_none_was_sent_hints_at_the_pidfd() {
        let find = |n| super::super::cases::find(n).expect("case");
        let h = hint(find("server/handshake"), SocketKind::Stream, "hello_fds");
        assert!(
            h.contains("SO_PASSPIDFD") && h.contains("MSG_CTRUNC"),
            "{h}"
        );
        assert_eq!(
            hint(find("server/hello-fds"), SocketKind::Stream, "hello_fds"),
            ""
        );
        assert_eq!(hint(find("server/handshake"), SocketKind::Stream, "io"), "");
        assert_eq!(
            hint(find("client/handshake"), SocketKind::Stream, "hello_fds"),
            ""
        );
    }

    #[test]
    fn the_fds_a_case_needs_are_those_its_frames_carry() {
        let find = |n| super::super::cases::find(n).expect("case").fds_needed();
        assert_eq!(find("client/handshake"), 0);
        assert_eq!(find("server/hello-fds"), 0, "a hello is no frame");
        assert_eq!(find("server/oversized-frame"), 0);
        assert_eq!(find("server/surplus-fds"), 2);
        assert_eq!(find("client/fds-without-frame"), 1);
        assert_eq!(find("client/send-fd"), 1);
        assert_eq!(find("server/shm"), 1);
        assert_eq!(find("client/echo"), 3);
        assert_eq!(find("server/recv-fds"), 4);
        assert_eq!(find("client/send-fds"), 4);
        let most = CASES.iter().map(Case::fds_needed).max();
        assert_eq!(most, Some(usize::from(REQUIRED_LIMITS.0)));
    }

    #[test]
    fn every_script_fits_its_role_and_action() {
        use Script::*;
        for c in CASES {
            let frames = matches!(
                c.script,
                SurplusFds | FdsWithoutFrame | OversizedFrame | FrameReserved | HangupMidFrame
            );
            assert_eq!(frames, c.action == Action::Drain, "{}", c.name);
            let only = match c.script {
                Denied | EarlyFrames => Some(Role::Client),
                Trailing | HelloWithoutCredentials => Some(Role::Server),
                _ => None,
            };
            assert!(only.is_none_or(|r| r == c.role), "{}", c.name);
        }
    }
}
