//! Just enough of the D-Bus message format to get a unique name from
//! `dbus-daemon` without a D-Bus library: the `Hello` call every client
//! sends first, marshalled by hand, and the fixed header that says how
//! long a reply is.

/// The fixed part of every message's header.
pub const HEAD_LEN: usize = 16;

/// A message's fixed header, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Little-endian (`l`), else big-endian (`B`).
    pub little_endian: bool,
    /// 1 METHOD_CALL, 2 METHOD_RETURN, 3 ERROR, 4 SIGNAL.
    pub kind: u8,
    /// The body's length.
    pub body_len: usize,
    /// The header fields' length (they start at [`HEAD_LEN`]).
    pub fields_len: usize,
}

impl Head {
    /// Reads the first [`HEAD_LEN`] bytes of `m`. `None` if the
    /// endianness byte is neither `l` nor `B`.
    ///
    /// # Panics
    /// If `m` is shorter than [`HEAD_LEN`].
    pub fn parse(m: &[u8]) -> Option<Head> {
        let little_endian = match m[0] {
            b'l' => true,
            b'B' => false,
            _ => return None,
        };
        let mut head = Head {
            little_endian,
            kind: m[1],
            body_len: 0,
            fields_len: 0,
        };
        head.body_len = head.u32_at(m, 4) as usize;
        head.fields_len = head.u32_at(m, 12) as usize;
        Some(head)
    }

    /// Where the body starts: after the header fields, padded to 8.
    pub fn body_at(&self) -> usize {
        (HEAD_LEN + self.fields_len).div_ceil(8) * 8
    }

    /// The whole message's length.
    pub fn message_len(&self) -> usize {
        self.body_at() + self.body_len
    }

    /// The `u32` at `b[at..at + 4]`, in the message's byte order.
    pub fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.little_endian {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    }
}

/// The `Hello` call: little-endian, serial 1, no body; header fields PATH,
/// DESTINATION, INTERFACE, MEMBER, in that order. The same 128 bytes as
/// libdbus's `dbus_bus_register` sends.
pub fn hello_message() -> Vec<u8> {
    method_call(
        1,
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "Hello",
    )
}

/// A METHOD_CALL without arguments, little-endian: header fields PATH,
/// DESTINATION (if any), INTERFACE, MEMBER, in that order (as libdbus
/// writes them).
pub fn method_call(
    serial: u32,
    destination: Option<&str>,
    path: &str,
    interface: &str,
    member: &str,
) -> Vec<u8> {
    let mut fields = vec![(1u8, b'o', path)];
    if let Some(d) = destination {
        fields.push((6, b's', d));
    }
    fields.extend([(2, b's', interface), (3, b's', member)]);
    message(1, serial, &[], &fields, None)
}

/// A METHOD_RETURN to `reply_serial`, little-endian; its body one string
/// (signature `s`) if `string` is given, else empty. What a peer-to-peer
/// server answers: `Hello` with a unique name, anything else with nothing.
pub fn method_return(serial: u32, reply_serial: u32, string: Option<&str>) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(s) = string {
        body.extend_from_slice(&(s.len() as u32).to_le_bytes());
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    message(
        2,
        serial,
        &body,
        &[],
        Some((reply_serial, string.map(|_| "s"))),
    )
}

/// Marshals a little-endian message: the fixed header, the string-valued
/// header fields, then REPLY_SERIAL and SIGNATURE if given, then `body`.
fn message(
    kind: u8,
    serial: u32,
    body: &[u8],
    fields: &[(u8, u8, &str)],
    reply: Option<(u32, Option<&str>)>,
) -> Vec<u8> {
    let mut m = vec![b'l', kind, 0, 1];
    m.extend_from_slice(&(body.len() as u32).to_le_bytes());
    m.extend_from_slice(&serial.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes()); // header fields' array length, below
    let start = m.len();
    for &(code, sig, value) in fields {
        pad(&mut m, 8);
        m.extend_from_slice(&[code, 1, sig, 0]);
        m.extend_from_slice(&(value.len() as u32).to_le_bytes());
        m.extend_from_slice(value.as_bytes());
        m.push(0);
    }
    if let Some((reply_serial, signature)) = reply {
        pad(&mut m, 8);
        m.extend_from_slice(&[5, 1, b'u', 0]);
        m.extend_from_slice(&reply_serial.to_le_bytes());
        if let Some(sig) = signature {
            pad(&mut m, 8);
            m.extend_from_slice(&[8, 1, b'g', 0, sig.len() as u8]);
            m.extend_from_slice(sig.as_bytes());
            m.push(0);
        }
    }
    let len = (m.len() - start) as u32;
    m[12..16].copy_from_slice(&len.to_le_bytes());
    pad(&mut m, 8);
    m.extend_from_slice(body);
    m
}

/// One whole message read back: what a test asserts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its fixed header.
    pub head: Head,
    /// Its flags byte (1: NO_REPLY_EXPECTED).
    pub flags: u8,
    /// Its serial.
    pub serial: u32,
    /// REPLY_SERIAL, if any.
    pub reply_serial: Option<u32>,
    /// MEMBER, if any.
    pub member: Option<String>,
    /// UNIX_FDS (how many fds came with it), if any.
    pub unix_fds: Option<u32>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why [`read_message`] returned no message.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed before a message began (`buf` was empty).
    Eof,
    /// The peer closed inside a message, or the read failed.
    Io(std::io::Error),
    /// Not a message this parser reads (the reason).
    Malformed(&'static str),
}

/// What a minimal peer-to-peer server does with a client's messages after
/// `BEGIN`: answers each method call that expects a reply (`Hello` with the
/// unique name `:1.1`, anything else with an empty return) until the client
/// closes. `buf` holds the bytes already read (the leftover). Returns the
/// members called, in order; `Err` has them too, with the read's error.
pub fn answer_calls<S: std::io::Read + std::io::Write>(
    sock: &mut S,
    buf: Vec<u8>,
) -> Result<Vec<String>, (Vec<String>, ReadError)> {
    let mut calls = Vec::new();
    match answer_calls_with(sock, buf, |m, _| {
        calls.push(m.member.clone().unwrap_or_default())
    }) {
        Ok(()) => Ok(calls),
        Err(e) => Err((calls, e)),
    }
}

/// [`answer_calls`], giving each method call to `seen` (with the socket,
/// e.g. to take the fds that came with it) before it is answered; `Ok`
/// once the client closes.
pub fn answer_calls_with<S: std::io::Read + std::io::Write>(
    sock: &mut S,
    mut buf: Vec<u8>,
    mut seen: impl FnMut(&Message, &mut S),
) -> Result<(), ReadError> {
    let mut serial = 0;
    loop {
        let m = match read_message(sock, &mut buf) {
            Ok(m) => m,
            Err(ReadError::Eof) => return Ok(()),
            Err(e) => return Err(e),
        };
        if m.head.kind != 1 {
            continue;
        }
        seen(&m, sock);
        if m.flags & 1 == 0 {
            serial += 1;
            let name = (m.member.as_deref() == Some("Hello")).then_some(":1.1");
            sock.write_all(&method_return(serial, m.serial, name))
                .map_err(ReadError::Io)?;
        }
    }
}

/// Messages longer than this are refused before they are buffered.
const MAX_MESSAGE: usize = 1 << 20;

/// Reads one message from `buf` (bytes already read, e.g. the leftover
/// after `BEGIN`) then from `input`, leaving any bytes after it in `buf`.
/// Header fields of signature `u`, `s`, `o` and `g` are read (all the
/// spec's header fields are one of them).
pub fn read_message(
    input: &mut impl std::io::Read,
    buf: &mut Vec<u8>,
) -> Result<Message, ReadError> {
    fill(input, buf, HEAD_LEN)?;
    let head = Head::parse(buf).ok_or(ReadError::Malformed("endianness byte"))?;
    if head.message_len() > MAX_MESSAGE {
        return Err(ReadError::Malformed("longer than 1 MiB"));
    }
    fill(input, buf, head.message_len())?;
    let msg: Vec<u8> = buf.drain(..head.message_len()).collect();
    let mut m = Message {
        head,
        flags: msg[2],
        serial: head.u32_at(&msg, 8),
        reply_serial: None,
        member: None,
        unix_fds: None,
        body: msg[head.body_at()..].to_vec(),
    };
    let end = HEAD_LEN + head.fields_len;
    let bad = || ReadError::Malformed("header field past its array");
    let mut at = HEAD_LEN;
    while at < end {
        at = at.div_ceil(8) * 8;
        let (code, sig) = match msg.get(at..at + 4) {
            Some(&[code, 1, sig, 0]) => (code, sig),
            _ => return Err(ReadError::Malformed("header field variant")),
        };
        at += 4;
        match sig {
            b'u' => {
                at = at.div_ceil(4) * 4;
                let v = head.u32_at(msg.get(..at + 4).ok_or_else(bad)?, at);
                match code {
                    5 => m.reply_serial = Some(v),
                    9 => m.unix_fds = Some(v),
                    _ => {}
                }
                at += 4;
            }
            b's' | b'o' => {
                at = at.div_ceil(4) * 4;
                let len = head.u32_at(msg.get(..at + 4).ok_or_else(bad)?, at) as usize;
                let s = msg.get(at + 4..at + 4 + len).ok_or_else(bad)?;
                if code == 3 {
                    m.member = Some(String::from_utf8_lossy(s).into_owned());
                }
                at += 4 + len + 1;
            }
            b'g' => at += 1 + *msg.get(at).ok_or_else(bad)? as usize + 1,
            _ => return Err(ReadError::Malformed("header field signature")),
        }
    }
    Ok(m)
}

/// Reads from `input` until `buf` holds `n` bytes.
fn fill(input: &mut impl std::io::Read, buf: &mut Vec<u8>, n: usize) -> Result<(), ReadError> {
    while buf.len() < n {
        let mut chunk = [0u8; 4096];
        match input.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Err(ReadError::Eof),
            Ok(0) => return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(got) => buf.extend_from_slice(&chunk[..got]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(())
}

/// Zero bytes up to the next multiple of `to`.
fn pad(m: &mut Vec<u8>, to: usize) {
    while m.len() % to != 0 {
        m.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_128_bytes_and_reads_back() {
        let m = hello_message();
        assert_eq!(m.len(), 128);
        assert_eq!(&m[..4], b"l\x01\x00\x01");
        // Four fields from offset 16; the last (MEMBER "Hello") ends at 126.
        let head = Head::parse(&m).unwrap();
        assert_eq!(
            (head.kind, head.body_len, head.fields_len),
            (1, 0, 126 - 16)
        );
        assert_eq!((head.body_at(), head.message_len()), (128, 128));
    }

    #[test]
    fn a_big_endian_head() {
        let m = *b"B\x02\x00\x01\x00\x00\x00\x05\x00\x00\x00\x01\x00\x00\x00\x09";
        let head = Head::parse(&m).unwrap();
        assert!(!head.little_endian);
        assert_eq!((head.kind, head.body_len, head.fields_len), (2, 5, 9));
        assert_eq!(head.message_len(), 32 + 5);
        assert_eq!(Head::parse(b"x123456789abcdef"), None);
    }

    #[test]
    fn a_call_and_its_return_read_back() {
        let call = method_call(7, None, "/", "org.freedesktop.DBus.Peer", "Ping");
        let mut buf = call.clone();
        buf.extend_from_slice(&method_return(1, 7, Some(":1.1")));
        let m = read_message(&mut std::io::empty(), &mut buf).unwrap();
        assert_eq!((m.head.kind, m.serial, m.flags), (1, 7, 0));
        assert_eq!(m.member.as_deref(), Some("Ping"));
        assert!(m.body.is_empty());
        let r = read_message(&mut std::io::empty(), &mut buf).unwrap();
        assert_eq!((r.head.kind, r.serial, r.reply_serial), (2, 1, Some(7)));
        assert_eq!(r.body, b"\x04\x00\x00\x00:1.1\x00");
        assert!(buf.is_empty());
        assert!(matches!(
            read_message(&mut std::io::empty(), &mut buf),
            Err(ReadError::Eof)
        ));
        // Cut short: not the clean end.
        let mut cut = call[..20].to_vec();
        assert!(matches!(
            read_message(&mut std::io::empty(), &mut cut),
            Err(ReadError::Io(_))
        ));
    }

    /// Reads from `input`, keeps what is written.
    struct Duplex {
        input: std::io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl std::io::Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl std::io::Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.output.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_call_is_seen_then_answered_until_the_end() {
        let leftover = hello_message();
        let ping = method_call(2, None, "/", "org.freedesktop.DBus.Peer", "Ping");
        let mut sock = Duplex {
            input: std::io::Cursor::new(ping),
            output: Vec::new(),
        };
        let mut seen = Vec::new();
        answer_calls_with(&mut sock, leftover, |m, sock: &mut Duplex| {
            // Seen before its answer.
            seen.push((m.member.clone(), sock.output.len()));
        })
        .unwrap();
        let hello_return = method_return(1, 1, Some(":1.1"));
        assert_eq!(
            seen,
            [
                (Some("Hello".to_string()), 0),
                (Some("Ping".to_string()), hello_return.len())
            ]
        );
        assert_eq!(
            sock.output,
            [hello_return, method_return(2, 2, None)].concat()
        );
        let mut cut = Duplex {
            input: std::io::Cursor::new(hello_message()[..20].to_vec()),
            output: Vec::new(),
        };
        assert!(matches!(
            answer_calls(&mut cut, Vec::new()),
            Err((calls, ReadError::Io(_))) if calls.is_empty()
        ));
    }
}
