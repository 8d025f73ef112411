//! The canonical byte encoding shared by every signed or hashed ledger structure.
//!
//! Rules (the same for all types, so one reader checks them all):
//! - every structure starts with a 4-byte ASCII type tag and a 1-byte format version, so a
//!   signature over one type can never be read as another, and old formats stay decodable;
//! - integers are unsigned, fixed-width, big-endian;
//! - hashes and key ids are 32 raw bytes, signatures 64 bytes `r‖s`, public keys 65-byte
//!   uncompressed SEC1;
//! - variable-length bytes carry a `u32` length prefix, checked against a named limit
//!   before allocation; lists carry a `u16` or `u32` count, also checked;
//! - sets are sorted ascending with no duplicates (refused otherwise), so each value has
//!   exactly one encoding;
//! - decoding consumes the whole input: trailing bytes are an error.

use crate::error::DecodeError;

/// Appends canonical fields to a byte buffer.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(tag: &[u8; 4], version: u8) -> Self {
        let mut w = Self {
            buf: Vec::with_capacity(128),
        };
        w.bytes(tag);
        w.u8(version);
        w
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical fields, naming the structure in every error.
pub(crate) struct Reader<'a> {
    what: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks the type tag and version; returns the reader positioned after them.
    pub(crate) fn open(
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
        let found = r.u8()?;
        if found != version {
            return Err(DecodeError::UnknownVersion {
                what,
                supported: version,
                found,
            });
        }
        Ok(r)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated { what: self.what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// A `u32`-length-prefixed byte string of at most `max` bytes.
    pub(crate) fn var_bytes(
        &mut self,
        field: &'static str,
        max: u32,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()?;
        if len > max {
            return Err(DecodeError::TooLong {
                what: self.what,
                field,
                len: u64::from(len),
                max: u64::from(max),
            });
        }
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated { what: self.what })?;
        self.take(len)
    }
    /// Fails unless the whole input was consumed.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what: self.what,
                count: self.rest.len() as u64,
            })
        }
    }
    pub(crate) fn what(&self) -> &'static str {
        self.what
    }
}
