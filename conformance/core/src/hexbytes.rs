//! Byte strings that appear in the files as lower-case hex.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes, written as a lower-case hex string (`""` for none).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex(pub Vec<u8>);

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", hex::encode(&self.0))
    }
}

impl From<Vec<u8>> for Hex {
    fn from(v: Vec<u8>) -> Self {
        Hex(v)
    }
}

impl From<&[u8]> for Hex {
    fn from(v: &[u8]) -> Self {
        Hex(v.to_vec())
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Hex;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of hex digit pairs")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Hex, E> {
                hex::decode(v)
                    .map(Hex)
                    .map_err(|e| E::custom(format!("invalid hex {v:?}: {e}")))
            }
        }
        d.deserialize_str(V)
    }
}
