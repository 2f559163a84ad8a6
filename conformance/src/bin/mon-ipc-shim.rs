//! `mon-ipc-shim`: the reference program under test for `mon-ipc-conformance
//! peer --exec` (docs/SHIM.md), built on `mon-ipc-std`.
//!
//! `mon-ipc-shim --role client|server --case NAME --socket stream|seqpacket
//! [--mutant NAME]`, with the connected socket on fd 3. With `--mutant` it
//! is deliberately broken in one way ([`MUTANTS`]), so that a test can
//! check that the runner catches every such bug.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::ExitCode;

use bytes::BytesMut;
use mon_ipc::frame::Header;
use mon_ipc::hello::{MAGIC, Reply};
use mon_ipc::{Kind, SocketKind};
use mon_ipc_conformance::peer::cases::{
    self, Action, Case, ECHO_FRAMES, FrameSpec, HELD, HOLD_FRAME, MANUAL_FRAME, MUTANTS, Role,
    SHM_APP_LEN, SHM_SIZE, marker, payload,
};
use mon_ipc_conformance::peer::os;
use mon_ipc_std::raw::{self, Room};
use mon_ipc_std::{Channel, ClientOptions, ServerOptions};

/// A failure: the code for the last line of stderr, and detail before it.
struct Fail {
    code: &'static str,
    detail: Option<String>,
}

impl From<mon_ipc_std::Error> for Fail {
    fn from(e: mon_ipc_std::Error) -> Self {
        Fail {
            code: e.code(),
            detail: Some(e.to_string()),
        }
    }
}

fn check(detail: String) -> Fail {
    Fail {
        code: "shim_check",
        detail: Some(detail),
    }
}

type Res<T = ()> = Result<T, Fail>;

struct Args {
    role: Role,
    case: String,
    socket: SocketKind,
    mutant: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut role = None;
    let mut case = None;
    let mut socket = None;
    let mut mutant = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--role" => {
                role = Some(match v.as_str() {
                    "client" => Role::Client,
                    "server" => Role::Server,
                    _ => return Err(format!("--role {v}")),
                })
            }
            "--case" => case = Some(v),
            "--socket" => {
                socket = Some(match v.as_str() {
                    "stream" => SocketKind::Stream,
                    "seqpacket" => SocketKind::Seqpacket,
                    _ => return Err(format!("--socket {v}")),
                })
            }
            "--mutant" if MUTANTS.iter().any(|(m, _)| *m == v) => mutant = Some(v),
            "--mutant" => return Err(format!("unknown mutant {v}")),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    Ok(Args {
        role: role.ok_or("--role missing")?,
        case: case.ok_or("--case missing")?,
        socket: socket.ok_or("--socket missing")?,
        mutant,
    })
}

fn main() -> ExitCode {
    // First thing: take fd 3 over, before anything could open fd 3.
    let sock = os::inherited_socket();
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mon-ipc-shim: {e}");
            eprintln!("usage");
            return ExitCode::from(2);
        }
    };
    let Some(case) = cases::find(&args.case).filter(|c| c.role == args.role) else {
        eprintln!(
            "mon-ipc-shim: no case {} for role {}",
            args.case,
            args.role.name()
        );
        return ExitCode::from(89);
    };
    let result = match sock {
        None => Err(check("no socket on fd 3".to_owned())),
        Some(sock) => Shim {
            case,
            kind: args.socket,
            mutant: args.mutant.as_deref().unwrap_or(""),
        }
        .run(sock),
    };
    // Everything of the case is closed now; report, then wait for the
    // runner to close our stdin (it checks /proc/PID/fd meanwhile).
    let status = match result {
        Ok(()) => 0,
        Err(f) => {
            if let Some(d) = f.detail {
                eprintln!("mon-ipc-shim: {d}");
            }
            let code = if args.mutant.as_deref() == Some("wrong-code") {
                "io"
            } else {
                f.code
            };
            eprintln!("{code}");
            1
        }
    };
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    ExitCode::from(status)
}

struct Shim<'a> {
    case: &'static Case,
    kind: SocketKind,
    mutant: &'a str,
}

impl Shim<'_> {
    fn run(&self, sock: OwnedFd) -> Res {
        // The peer's credentials (and pidfd) stay open while the case runs.
        let (mut channel, _peer) = match self.case.role {
            Role::Client => {
                let opts = ClientOptions::default().mutual(self.case.mutual);
                let conn = mon_ipc_std::client(sock, &opts)?;
                (conn.channel, conn.peer)
            }
            Role::Server => {
                if self.mutant_accepts(&sock)? {
                    return Ok(());
                }
                let deny = self.case.deny;
                let conn = mon_ipc_std::server_with(sock, &ServerOptions::default(), |_| !deny)?;
                (conn.channel, Some(conn.peer))
            }
        };
        let _ = self.kind;
        self.act(&mut channel)
    }

    /// The server mutants that answer a hello they should refuse: they
    /// peek at it, and if it is one they mishandle, read it and reply
    /// status 0 themselves. `true` if they did.
    fn mutant_accepts(&self, sock: &OwnedFd) -> Res<bool> {
        use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
        let fd = sock.as_raw_fd();
        let mut buf = [0u8; 16];
        let triggered = match self.mutant {
            "accept-bad-magic" => {
                let n = nix::sys::socket::recv(fd, &mut buf, MsgFlags::MSG_PEEK)
                    .map_err(|e| check(format!("peek: {e}")))?;
                n >= 4 && buf[..4] != MAGIC
            }
            "skip-credentials" => {
                let mut iov = [std::io::IoSliceMut::new(&mut buf)];
                // Room for SCM_PIDFD (SO_PASSPIDFD is on) and a few fds, so
                // that nothing is truncated; a mutant may leave the pidfd a
                // peek installs open.
                let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials, [i32; 16]);
                let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_PEEK)
                    .map_err(|e| check(format!("peek: {e}")))?;
                // A truncated control buffer (fds with the hello): leave
                // that hello to the driver.
                let mut pid = None;
                for c in msg.cmsgs().into_iter().flatten() {
                    match c {
                        ControlMessageOwned::ScmCredentials(u) => pid = Some(u.pid()),
                        // A peek installs the fds; the real read gets them again.
                        ControlMessageOwned::ScmRights(fds) => {
                            for f in fds {
                                let _ = nix::unistd::close(f);
                            }
                            pid = Some(-1);
                        }
                        _ => {}
                    }
                }
                matches!(pid, None | Some(0))
            }
            _ => false,
        };
        if !triggered {
            return Ok(false);
        }
        let room = Room {
            fds: 4,
            creds: true,
            pidfd: false,
        };
        raw::recv(sock, &mut buf, room)?;
        let reply = Reply {
            version: 1,
            status: 0,
            max_fds: 32,
            max_payload: 16 << 20,
            reserved: 0,
        };
        raw::send(
            sock,
            &[&reply.to_bytes()],
            Some(raw::own_credentials()),
            &[],
        )?;
        Ok(true)
    }

    /// What the mutants do to every fd received.
    fn received(&self, fd: &OwnedFd) -> Res {
        match self.mutant {
            "leak-fd" => std::mem::forget(fd.try_clone().map_err(|e| check(format!("dup: {e}")))?),
            "no-cloexec" => {
                use nix::fcntl::{FcntlArg, FdFlag, fcntl};
                fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))
                    .map_err(|e| check(format!("fcntl: {e}")))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn expect_eof(&self, ch: &mut Channel<OwnedFd>) -> Res {
        match ch.recv()? {
            None => Ok(()),
            Some(_) => Err(check("a frame where EOF was expected".to_owned())),
        }
    }

    /// Receives one data frame: its payload and fds.
    fn recv_frame(&self, ch: &mut Channel<OwnedFd>, i: usize) -> Res<(Vec<u8>, Vec<OwnedFd>)> {
        self.recv_data(ch, i)?
            .ok_or_else(|| check(format!("EOF before frame {i}")))
    }

    /// Receives one data frame, or `None` at EOF.
    fn recv_data(
        &self,
        ch: &mut Channel<OwnedFd>,
        i: usize,
    ) -> Res<Option<(Vec<u8>, Vec<OwnedFd>)>> {
        let Some(m) = ch.recv()? else {
            return Ok(None);
        };
        if m.kind != Kind::Data {
            return Err(check(format!("frame {i} is not a data frame")));
        }
        let p = m.payload.to_vec();
        let fds: Vec<OwnedFd> = m.fds.collect();
        for fd in &fds {
            self.received(fd)?;
        }
        Ok(Some((p, fds)))
    }

    fn check_frame(&self, i: usize, spec: FrameSpec, p: &[u8], nfds: usize) -> Res {
        if p != payload(i, spec.len) {
            return Err(check(format!("frame {i}: payload differs")));
        }
        if nfds != spec.nfds {
            return Err(check(format!(
                "frame {i}: {nfds} fds, expected {}",
                spec.nfds
            )));
        }
        Ok(())
    }

    fn act(&self, ch: &mut Channel<OwnedFd>) -> Res {
        match self.case.action {
            Action::Idle => self.expect_eof(ch),
            Action::Recv(specs) => {
                for (i, s) in specs.iter().enumerate() {
                    let (p, fds) = self.recv_frame(ch, i)?;
                    self.check_frame(i, *s, &p, fds.len())?;
                    for (j, fd) in fds.into_iter().enumerate() {
                        write_marker(fd, i, j)?;
                    }
                }
                self.expect_eof(ch)
            }
            Action::Send(specs) => {
                self.send_frames(ch, specs)?;
                self.expect_eof(ch)
            }
            Action::Echo => {
                for i in 0.. {
                    let Some((p, fds)) = self.recv_data(ch, i)? else {
                        break;
                    };
                    if i >= ECHO_FRAMES.len() {
                        return Err(check(format!("unexpected frame {i}")));
                    }
                    ch.send(&p, fds)?;
                }
                Ok(())
            }
            Action::Hold => {
                let (p, mut fds) = self.recv_frame(ch, 0)?;
                self.check_frame(0, HOLD_FRAME[0], &p, fds.len())?;
                ch.send(HELD, [])?;
                self.expect_eof(ch)?;
                write_marker(fds.remove(0), 0, 0)
            }
            Action::RecvFd => {
                let mut buf = BytesMut::new();
                let fd = mon_ipc_std::recv_fd(ch.get_ref(), &mut buf)?;
                let n = usize::from(fd.is_some());
                self.check_frame(0, MANUAL_FRAME[0], &buf, n)?;
                if let Some(fd) = fd {
                    self.received(&fd)?;
                    write_marker(fd, 0, 0)?;
                }
                match mon_ipc_std::recv_fd(ch.get_ref(), &mut buf) {
                    Err(mon_ipc_std::Error::Closed) => Ok(()),
                    Err(e) => Err(e.into()),
                    Ok(_) => Err(check("a frame where EOF was expected".to_owned())),
                }
            }
            Action::SendFd => {
                let r = marked_pipe(0, 0)?;
                let p = payload(0, MANUAL_FRAME[0].len);
                mon_ipc_std::send_fd(ch.get_ref(), &p, Some(r.as_fd()))?;
                drop(r);
                self.expect_eof(ch)
            }
            Action::Shm => {
                let Some(m) = ch.recv_shm()? else {
                    return Err(check("EOF before the shared-memory frame".to_owned()));
                };
                let mut region = vec![0u8; SHM_SIZE];
                if m.region.len() != SHM_SIZE {
                    return Err(check(format!("region of {} bytes", m.region.len())));
                }
                m.region.read_at(0, &mut region)?;
                if region != payload(1, SHM_SIZE) || m.payload[..] != payload(0, SHM_APP_LEN)[..] {
                    return Err(check("shared memory or its bytes differ".to_owned()));
                }
                drop(m);
                self.expect_eof(ch)
            }
            Action::Drain => {
                while let Some(m) = ch.recv()? {
                    for fd in m.fds {
                        self.received(&fd)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn send_frames(&self, ch: &mut Channel<OwnedFd>, specs: &[FrameSpec]) -> Res {
        let mut lists = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let fds = (0..s.nfds)
                .map(|j| marked_pipe(i, j))
                .collect::<Result<Vec<_>, _>>()?;
            lists.push(fds);
        }
        if self.mutant == "fds-on-wrong-frame" {
            lists.rotate_right(1);
        }
        for (i, (s, fds)) in specs.iter().zip(lists).enumerate() {
            let p = payload(i, s.len);
            if self.mutant == "wrong-nfds" {
                let h = Header {
                    len: p.len() as u32,
                    nfds: 0,
                    kind: 0,
                    reserved: 0,
                }
                .to_bytes();
                let b: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
                raw::send(ch.get_ref(), &[&h, &p], None, &b)?;
            } else {
                ch.send(&p, fds)?;
            }
        }
        Ok(())
    }
}

/// A new pipe holding `marker(i, j)`, write end closed: its read end.
fn marked_pipe(i: usize, j: usize) -> Res<OwnedFd> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| check(format!("pipe2: {e}")))?;
    std::fs::File::from(w)
        .write_all(&marker(i, j))
        .map_err(|e| check(format!("write: {e}")))?;
    Ok(r)
}

/// Writes `marker(i, j)` into a received pipe write end and closes it.
fn write_marker(fd: OwnedFd, i: usize, j: usize) -> Res {
    std::fs::File::from(fd)
        .write_all(&marker(i, j))
        .map_err(|e| check(format!("frame {i} fd {j}: write: {e}")))
}
