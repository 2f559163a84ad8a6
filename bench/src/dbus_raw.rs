//! The D-Bus side of the `dbus` benchmark written with bare system calls
//! (`nix`, no `unsafe`): a libdbus-style EXTERNAL client, the floor our
//! client is compared with, and the reply to the `Hello` call, which
//! every `dbus_hello/*` variant but libdbus's shares.
//!
//! [`RawClient::connect`] does exactly what libdbus 1.14 does on the wire
//! (seen with `strace` on `dbus-send`): `socket` + `connect`, the NUL byte
//! in a plain `send` (no `SCM_CREDENTIALS`: dbus-daemon reads the peer's
//! credentials with `SO_PEERCRED`), `AUTH EXTERNAL <hex of the uid's
//! decimal digits>\r\n` in a second `send`, read `OK <guid>\r\n`, send
//! `NEGOTIATE_UNIX_FD\r\n`, read `AGREE_UNIX_FD\r\n`, send `BEGIN\r\n`. It
//! parses nothing beyond checking the prefixes of the two answers.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use mon_ipc_testkit::dbus_message::{HEAD_LEN, Head};
use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};

/// `AUTH EXTERNAL` followed by the hex encoding of `uid` in decimal ASCII
/// digits, and `\r\n`: `AUTH EXTERNAL 30\r\n` for root, `AUTH EXTERNAL
/// 31303030\r\n` for uid 1000.
pub fn auth_line(uid: u32) -> Vec<u8> {
    let mut line = b"AUTH EXTERNAL ".to_vec();
    for d in uid.to_string().bytes() {
        line.extend_from_slice(format!("{d:02x}").as_bytes());
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// The libdbus-style client: its `AUTH` line is built once.
pub struct RawClient {
    auth: Vec<u8>,
}

impl Default for RawClient {
    fn default() -> Self {
        Self::new()
    }
}

impl RawClient {
    /// A client claiming this process's effective uid.
    pub fn new() -> RawClient {
        RawClient {
            auth: auth_line(nix::unistd::geteuid().as_raw()),
        }
    }

    /// Connects to the bus at `path` and authenticates: returns the socket,
    /// ready for the first message (fd passing agreed).
    pub fn connect(&self, path: &Path) -> io::Result<OwnedFd> {
        let sock = nix::sys::socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        nix::sys::socket::connect(sock.as_raw_fd(), &UnixAddr::new(path)?)?;
        send_all(&sock, b"\0")?;
        send_all(&sock, &self.auth)?;
        let mut line = [0u8; 128];
        let n = read_line(&sock, &mut line)?;
        // "OK " + 32 hex digits of the guid + "\r\n".
        if !(line[..n].starts_with(b"OK ") && n == 37) {
            return Err(unexpected("OK <guid>", &line[..n]));
        }
        send_all(&sock, b"NEGOTIATE_UNIX_FD\r\n")?;
        let n = read_line(&sock, &mut line)?;
        if &line[..n] != b"AGREE_UNIX_FD\r\n" {
            return Err(unexpected("AGREE_UNIX_FD", &line[..n]));
        }
        send_all(&sock, b"BEGIN\r\n")?;
        Ok(sock)
    }
}

fn unexpected(want: &str, got: &[u8]) -> io::Error {
    io::Error::other(format!(
        "dbus-daemon answered {:?}, expected {want}",
        String::from_utf8_lossy(got)
    ))
}

/// `send` with `MSG_NOSIGNAL` (as libdbus) until all of `buf` is written.
pub fn send_all(sock: &impl AsFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match nix::sys::socket::send(sock.as_fd().as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads until `buf[..n]` ends with `\r\n` (the server sends one line per
/// command and nothing unasked during the authentication, so no read
/// goes past the line). Returns `n`.
fn read_line(sock: &impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while !buf[..n].ends_with(b"\r\n") {
        if n == buf.len() {
            return Err(unexpected("a line", &buf[..n]));
        }
        match nix::unistd::read(sock.as_fd(), &mut buf[n..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(got) => n += got,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// Sends `hello` (from
/// [`hello_message`](mon_ipc_testkit::dbus_message::hello_message)) on an authenticated `sock` and
/// reads the reply: `buf` holds the bytes already read after `BEGIN` (our
/// client's leftover; normally none) and is reused across calls. Checks
/// that the first message is a METHOD_RETURN whose body is a string
/// starting with `:` (the unique name), and returns its length. A
/// `NameAcquired` signal may follow in the same read; it is ignored.
pub fn say_hello(sock: &impl AsFd, hello: &[u8], buf: &mut Vec<u8>) -> io::Result<usize> {
    send_all(sock, hello)?;
    let fill = |buf: &mut Vec<u8>, n: usize| -> io::Result<()> {
        let mut chunk = [0u8; 1024];
        while buf.len() < n {
            match nix::unistd::read(sock.as_fd(), &mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(got) => buf.extend_from_slice(&chunk[..got]),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    };
    fill(buf, HEAD_LEN)?;
    let Some(head) = Head::parse(buf) else {
        return Err(unexpected("a message", &buf[..HEAD_LEN]));
    };
    let end = head.message_len();
    fill(buf, end)?;
    let body = &buf[head.body_at()..end];
    let body_len = head.body_len;
    let ok = head.kind == 2
        && body_len >= 6
        && head.u32_at(body, 0) as usize == body_len - 5
        && body[4] == b':';
    if !ok {
        return Err(unexpected(
            "a METHOD_RETURN with the unique name",
            &buf[..end],
        ));
    }
    buf.clear();
    Ok(body_len - 5)
}
