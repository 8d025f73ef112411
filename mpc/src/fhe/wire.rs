//! The encrypted outputs of one subject, as the evaluator sends them to the requester.
//!
//! Format (version 1), all integers big-endian:
//!
//! ```text
//! magic "WNFHEOUT" | version u8 = 1 | count u32 | count × (kind u8 | length u32 | value)
//! ```
//!
//! `kind` is 0 for an `FheBool` or N for an `FheIntN`; `value` is tfhe's safe serialization
//! of it. The requester knows from the model how many outputs there are and how each is
//! encrypted, and refuses anything else; each value is read with a size limit and checked
//! against the pinned parameters.

use super::cipher::{Cipher, Kind};
use super::error::FheError;
use super::keys::check_len;
use super::limits::{OUTPUT_VALUE_BYTES_MAX, OUTPUTS_BYTES_MAX, OUTPUTS_COUNT_MAX};

const MAGIC: &[u8; 8] = b"WNFHEOUT";
const VERSION: u8 = 1;
const WHAT: &str = "encrypted outputs";

/// The encrypted outputs of one subject, in model output order.
#[derive(Clone)]
pub struct EncryptedOutputs {
    values: Vec<Cipher>,
}

impl std::fmt::Debug for EncryptedOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<Kind> = self.values.iter().map(Cipher::kind).collect();
        write!(f, "EncryptedOutputs({kinds:?})")
    }
}

impl EncryptedOutputs {
    pub(crate) fn new(values: Vec<Cipher>) -> EncryptedOutputs {
        EncryptedOutputs { values }
    }

    pub(crate) fn values(&self) -> &[Cipher] {
        &self.values
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FheError> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        let count = u32::try_from(self.values.len())
            .ok()
            .filter(|c| *c <= OUTPUTS_COUNT_MAX)
            .ok_or_else(|| FheError::Internal("more outputs than the format allows".into()))?;
        out.extend_from_slice(&count.to_be_bytes());
        for value in &self.values {
            let bytes = value.to_bytes()?;
            let len = u32::try_from(bytes.len())
                .map_err(|_| FheError::Internal("an output value over 4 GiB".into()))?;
            out.push(value.kind().tag());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// Reads the wire form, expecting exactly `kinds` (from the model's plan).
    pub fn from_bytes(bytes: &[u8], kinds: &[Kind]) -> Result<EncryptedOutputs, FheError> {
        check_len(WHAT, bytes, OUTPUTS_BYTES_MAX)?;
        let mut reader = Reader { rest: bytes };
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(shape("not an encrypted-outputs blob (bad magic)".into()));
        }
        let version = reader.take(1)?[0];
        if version != VERSION {
            return Err(shape(format!(
                "format version {version}, this build reads {VERSION}"
            )));
        }
        let count = reader.u32()?;
        if u64::from(count) != kinds.len() as u64 {
            return Err(shape(format!(
                "{count} values, the model has {} outputs",
                kinds.len()
            )));
        }
        let mut values = Vec::with_capacity(kinds.len());
        for (index, kind) in kinds.iter().enumerate() {
            let tag = reader.take(1)?[0];
            if tag != kind.tag() {
                return Err(shape(format!(
                    "output {index} has kind tag {tag}, the model's plan says {}",
                    kind.tag()
                )));
            }
            let len = reader.u32()?;
            if u64::from(len) > OUTPUT_VALUE_BYTES_MAX {
                return Err(FheError::TooLarge {
                    what: "encrypted output value",
                    len: u64::from(len),
                    max: OUTPUT_VALUE_BYTES_MAX,
                });
            }
            let body = reader.take(usize::try_from(len).unwrap_or(usize::MAX))?;
            values.push(Cipher::from_bytes(*kind, body)?);
        }
        if !reader.rest.is_empty() {
            return Err(shape(format!("{} trailing bytes", reader.rest.len())));
        }
        Ok(EncryptedOutputs { values })
    }
}

fn shape(reason: String) -> FheError {
    FheError::Shape { what: WHAT, reason }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FheError> {
        if self.rest.len() < n {
            return Err(shape(format!(
                "truncated: {n} bytes wanted, {} left",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, FheError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}
