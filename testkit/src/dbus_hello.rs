//! The D-Bus `Hello` method call, the first message every client sends a
//! bus, marshalled by hand so that no D-Bus library is needed to get a
//! unique name from `dbus-daemon`.

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
    #[test]
    fn hello_is_128_bytes_with_its_header_fields_length() {
        let m = super::hello_message();
        assert_eq!(m.len(), 128);
        assert_eq!(&m[..4], b"l\x01\x00\x01");
        // Four fields from offset 16; the last (MEMBER "Hello") ends at 126.
        assert_eq!(u32::from_le_bytes([m[12], m[13], m[14], m[15]]), 126 - 16);
    }
}
