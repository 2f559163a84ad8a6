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
    let mut m = vec![b'l', 1, 0, 1];
    m.extend_from_slice(&0u32.to_le_bytes()); // body length
    m.extend_from_slice(&1u32.to_le_bytes()); // serial
    m.extend_from_slice(&0u32.to_le_bytes()); // header fields' array length, below
    let start = m.len();
    for (code, sig, value) in [
        (1u8, b'o', "/org/freedesktop/DBus"),
        (6, b's', "org.freedesktop.DBus"),
        (2, b's', "org.freedesktop.DBus"),
        (3, b's', "Hello"),
    ] {
        pad(&mut m, 8);
        m.extend_from_slice(&[code, 1, sig, 0]);
        m.extend_from_slice(&(value.len() as u32).to_le_bytes());
        m.extend_from_slice(value.as_bytes());
        m.push(0);
    }
    let len = (m.len() - start) as u32;
    m[12..16].copy_from_slice(&len.to_le_bytes());
    pad(&mut m, 8);
    m
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
}
