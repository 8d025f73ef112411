//! `#[serde(with = "weinong_node::p2p::bytes")]` for `Vec<u8>` fields of p2p messages.
//!
//! serde writes a plain `Vec<u8>` as a sequence of integers: in CBOR up to two bytes per
//! byte, encoded and decoded one element at a time. This writes one CBOR byte string
//! instead (the size of the data plus a few header bytes). Use it for every large byte field
//! of a `Req`/`Resp` (encoded transactions, Raft entries, snapshots).

use std::fmt;

use serde::de::Visitor;
use serde::{Deserializer, Serializer};

/// Writes `bytes` as one byte string.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

/// Reads a byte string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_byte_buf(ByteBuf)
}

struct ByteBuf;

impl<'de> Visitor<'de> for ByteBuf {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Plain {
        data: Vec<u8>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Compact {
        #[serde(with = "super")]
        data: Vec<u8>,
    }

    fn cbor<T: Serialize>(value: &T) -> Vec<u8> {
        cbor4ii::serde::to_vec(Vec::new(), value).expect("encode")
    }

    #[test]
    fn byte_string_round_trips_and_is_compact() {
        let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        let compact = cbor(&Compact { data: data.clone() });
        let plain = cbor(&Plain { data: data.clone() });
        assert!(compact.len() < data.len() + 32, "{}", compact.len());
        assert!(plain.len() > data.len() * 3 / 2, "{}", plain.len());
        let back: Compact = cbor4ii::serde::from_slice(&compact).expect("decode");
        assert_eq!(back.data, data);
        assert!(
            cbor4ii::serde::from_slice::<Compact>(&plain).is_err(),
            "the integer-array form is not a byte string"
        );
    }
}
