//! The canonical byte encoding shared by every signed or hashed structure of the
//! consortium: the ledger's transactions, blocks and certificates, and the contracts'
//! payloads and state digest (`weinong-contracts` writes and reads through this module).
//!
//! Rules (the same for all types, so one reader checks them all):
//! - a structure signed or stored on its own starts with a 4-byte ASCII type tag and a
//!   1-byte format version ([`Reader::tagged`]), so a signature over one type can never be
//!   read as another, and old formats stay decodable; a payload whose type is said
//!   elsewhere (the transaction kind) starts with its version byte alone
//!   ([`Reader::payload`]);
//! - integers are unsigned, fixed-width, big-endian;
//! - hashes and key ids are 32 raw bytes, signatures 64 bytes `r‖s`, public keys 65-byte
//!   uncompressed SEC1;
//! - an optional integer is a byte `0` (absent) or `1` followed by the value;
//! - variable-length bytes carry a `u32` length prefix, checked against a named limit
//!   before allocation; lists carry a `u16` or `u32` count, also checked;
//! - sets are sorted ascending with no duplicates (refused otherwise), so each value has
//!   exactly one encoding;
//! - decoding consumes the whole input: trailing bytes are an error.
//!
//! Every decoding error is a [`DecodeError`] naming the structure being read.

use weinong_keys::{Digest as _, Sm3};

use crate::error::DecodeError;

/// Where canonical bytes go: a buffer (to sign or store) or straight into SM3 (digests,
/// without building the bytes first).
pub trait Sink {
    /// Append `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sm3 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Appends canonical fields to a sink (by default a byte buffer).
pub struct Writer<S: Sink = Vec<u8>> {
    sink: S,
}

impl Writer<Vec<u8>> {
    /// A buffer that starts with a type tag and a format version.
    pub fn tagged(tag: &[u8; 4], version: u8) -> Self {
        let mut w = Self::new(Vec::with_capacity(128));
        w.bytes(tag);
        w.u8(version);
        w
    }
}

impl<S: Sink> Writer<S> {
    /// A writer appending to `sink` (nothing written yet).
    pub fn new(sink: S) -> Self {
        Self { sink }
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.sink.put(&[v]);
    }
    /// A big-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.sink.put(&v.to_be_bytes());
    }
    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.sink.put(&v.to_be_bytes());
    }
    /// A big-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.sink.put(&v.to_be_bytes());
    }
    /// Raw bytes, no length (fixed-size fields, or after an explicit length).
    pub fn bytes(&mut self, v: &[u8]) {
        self.sink.put(v);
    }
    /// An optional `u64`: `0`, or `1` and the value.
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
    /// A `u16` list count. Callers bound their lists by a `u16` limit before encoding; a
    /// longer list here is a bug in the caller, not bad input.
    pub fn count(&mut self, len: usize) {
        let count =
            u16::try_from(len).unwrap_or_else(|_| unreachable!("lists are bounded by u16 limits"));
        self.u16(count);
    }
    /// A `u64` count (maps in a state digest may exceed `u16`).
    pub fn count64(&mut self, len: usize) {
        self.u64(len as u64);
    }
    /// The sink, with everything written.
    pub fn finish(self) -> S {
        self.sink
    }
}

/// Reads canonical fields, naming the structure in every error.
pub struct Reader<'a> {
    what: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over a tagged structure named `what`: checks the type tag and the format
    /// version, and returns the reader positioned after them.
    pub fn tagged(
        what: &'static str,
        input: &'a [u8],
        tag: &[u8; 4],
        version: u8,
    ) -> Result<Self, DecodeError> {
        let mut r = Self { what, rest: input };
        let found: [u8; 4] = r.array()?;
        if &found != tag {
            return Err(DecodeError::WrongTag {
                what,
                expected: *tag,
                found,
            });
        }
        r.version(version)?;
        Ok(r)
    }

    /// A reader over a payload named `what` (its type said elsewhere): checks the version
    /// byte, and returns the reader positioned after it.
    pub fn payload(what: &'static str, input: &'a [u8], version: u8) -> Result<Self, DecodeError> {
        let mut r = Self { what, rest: input };
        r.version(version)?;
        Ok(r)
    }

    fn version(&mut self, supported: u8) -> Result<(), DecodeError> {
        let found = self.u8()?;
        if found != supported {
            return Err(DecodeError::UnknownVersion {
                what: self.what,
                supported,
                found,
            });
        }
        Ok(())
    }

    /// The structure being read (for errors the caller builds).
    pub fn what(&self) -> &'static str {
        self.what
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated { what: self.what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    /// `N` raw bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }
    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// A big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// An optional `u64` (see [`Writer::opt_u64`]); a flag other than 0 or 1 is invalid.
    pub fn opt_u64(&mut self) -> Result<Option<u64>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.u64()?)),
            _ => Err(self.invalid("option flag is neither 0 nor 1")),
        }
    }
    /// `TooLong` naming `field` when a length read off the wire is above `max`.
    fn at_most(&self, field: &'static str, len: u64, max: u64) -> Result<(), DecodeError> {
        if len > max {
            return Err(DecodeError::TooLong {
                what: self.what,
                field,
                len,
                max,
            });
        }
        Ok(())
    }
    /// A `u16` list count of at most `max` (the list named `field`).
    pub fn count(&mut self, field: &'static str, max: u16) -> Result<u16, DecodeError> {
        let count = self.u16()?;
        self.at_most(field, u64::from(count), u64::from(max))?;
        Ok(count)
    }
    /// A `u32`-length-prefixed byte string of at most `max` bytes (the field named
    /// `field`).
    pub fn var_bytes(&mut self, field: &'static str, max: u32) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()?;
        self.at_most(field, u64::from(len), u64::from(max))?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated { what: self.what })?;
        self.take(len)
    }
    /// An [`DecodeError::Invalid`] naming the structure being read and `reason`.
    pub fn invalid(&self, reason: &'static str) -> DecodeError {
        DecodeError::Invalid {
            what: self.what,
            reason,
        }
    }
    /// Fails unless the whole input was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what: self.what,
                count: self.rest.len() as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_sink_hashes_the_same_bytes_a_buffer_holds() {
        fn write<S: Sink>(w: &mut Writer<S>) {
            w.u8(1);
            w.u16(0x0203);
            w.u32(0x0405_0607);
            w.u64(0x0809_0a0b_0c0d_0e0f);
            w.opt_u64(None);
            w.opt_u64(Some(7));
            w.count(2);
            w.count64(3);
            w.bytes(b"xy");
        }
        let mut buf = Writer::new(Vec::new());
        write(&mut buf);
        let bytes = buf.finish();
        assert_eq!(bytes.len(), 1 + 2 + 4 + 8 + 1 + 9 + 2 + 8 + 2);
        let mut h = Writer::new(Sm3::default());
        write(&mut h);
        let digest: [u8; 32] = h.finish().finalize().into();
        assert_eq!(digest, weinong_keys::sm3_digest(&bytes));
    }

    #[test]
    fn readers_check_tags_versions_limits_and_trailing_bytes() {
        let mut w = Writer::tagged(b"TEST", 3);
        w.opt_u64(Some(9));
        w.count(5);
        let bytes = w.finish();
        let mut r = Reader::tagged("test", &bytes, b"TEST", 3).expect("tag and version");
        assert_eq!(r.opt_u64().expect("option"), Some(9));
        assert!(matches!(
            r.count("items", 4),
            Err(DecodeError::TooLong { len: 5, max: 4, .. })
        ));
        assert!(matches!(
            Reader::tagged("test", &bytes, b"TEST", 4),
            Err(DecodeError::UnknownVersion { found: 3, .. })
        ));
        assert!(matches!(
            Reader::tagged("test", &bytes, b"TSET", 3),
            Err(DecodeError::WrongTag { .. })
        ));
        let r = Reader::payload("test", &[1, 0], 1).expect("version");
        assert!(matches!(
            r.finish(),
            Err(DecodeError::TrailingBytes { count: 1, .. })
        ));
        let mut r = Reader::payload("test", &[1, 2], 1).expect("version");
        assert!(matches!(r.opt_u64(), Err(DecodeError::Invalid { .. })));
    }
}
