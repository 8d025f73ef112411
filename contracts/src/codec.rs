//! The canonical encoding of contract payloads and of the state digest.
//!
//! The rules are the ledger's (see `weinong_ledger::tx`), applied to payloads:
//! - a payload starts with its format version byte ([`PAYLOAD_VERSION`]); the transaction
//!   kind (signed, outside the payload) says which payload it is. Structures signed on
//!   their own (governance changes, rotation statements) start with a 4-byte ASCII tag and
//!   the version, so a signature over one can never be read as another;
//! - integers are unsigned, fixed-width, big-endian; times are milliseconds of block time;
//! - hashes, key ids, pseudonyms and ids are 32 raw bytes, signatures 64 bytes `r‖s`,
//!   public keys 65-byte uncompressed SEC1;
//! - an optional value is a byte `0` (absent) or `1` followed by the value;
//! - enums are one byte (their documented code); sets of categories are a `u16` bit mask
//!   with no unknown bit set;
//! - variable-length bytes carry a `u32` length and lists a `u16` count, checked against a
//!   named limit before allocation; lists that are sets are strictly ascending;
//! - decoding consumes the whole input: trailing bytes are an error.

use weinong_keys::{Digest, Sm3};
use weinong_ledger::DecodeError;

/// The payload format version this build writes and reads.
pub const PAYLOAD_VERSION: u8 = 1;

/// Where canonical bytes go: a buffer (to sign or store) or straight into SM3 (digests).
pub(crate) trait Sink {
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

/// Appends canonical fields to a sink.
pub(crate) struct Writer<S: Sink> {
    sink: S,
}

impl<S: Sink> Writer<S> {
    pub(crate) fn new(sink: S) -> Self {
        Self { sink }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.sink.put(&[v]);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.sink.put(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.sink.put(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.sink.put(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.sink.put(v);
    }
    pub(crate) fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
    /// A list count. Callers bound their lists by a `u16` limit before encoding; a longer
    /// list here is our bug.
    pub(crate) fn count(&mut self, len: usize) {
        let count =
            u16::try_from(len).unwrap_or_else(|_| unreachable!("lists are bounded by u16 limits"));
        self.u16(count);
    }
    /// A state-digest count (maps in the state may exceed `u16`).
    pub(crate) fn count64(&mut self, len: usize) {
        self.u64(len as u64);
    }
    pub(crate) fn finish(self) -> S {
        self.sink
    }
}

/// Reads canonical fields, naming the structure in every error.
pub(crate) struct Reader<'a> {
    what: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over a payload: checks the version byte.
    pub(crate) fn payload(what: &'static str, input: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Self { what, rest: input };
        let found = r.u8()?;
        if found != PAYLOAD_VERSION {
            return Err(DecodeError::UnknownVersion {
                what,
                supported: PAYLOAD_VERSION,
                found,
            });
        }
        Ok(r)
    }

    /// A reader over a tagged structure: checks the tag and version.
    pub(crate) fn tagged(
        what: &'static str,
        input: &'a [u8],
        tag: &[u8; 4],
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
        if found != PAYLOAD_VERSION {
            return Err(DecodeError::UnknownVersion {
                what,
                supported: PAYLOAD_VERSION,
                found,
            });
        }
        Ok(r)
    }

    pub(crate) fn what(&self) -> &'static str {
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
    pub(crate) fn opt_u64(&mut self) -> Result<Option<u64>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.u64()?)),
            _ => Err(self.invalid("option flag is neither 0 nor 1")),
        }
    }
    /// A `u16` list count of at most `max`.
    pub(crate) fn count(&mut self, field: &'static str, max: u16) -> Result<u16, DecodeError> {
        let count = self.u16()?;
        if count > max {
            return Err(DecodeError::TooLong {
                what: self.what,
                field,
                len: u64::from(count),
                max: u64::from(max),
            });
        }
        Ok(count)
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
    pub(crate) fn invalid(&self, reason: &'static str) -> DecodeError {
        DecodeError::Invalid {
            what: self.what,
            reason,
        }
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
}
