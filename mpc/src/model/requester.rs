//! Outputs for a requester outside the three parties: each party's [`OutputShare`], its
//! byte encoding, and [`reconstruct`], which the requester runs on the three shares.
//!
//! The shares come from [`super::secure::evaluate_party_for_requester`]: a 3-out-of-3
//! additive sharing over Z_2^64 of every output of every subject, re-randomised with a
//! fresh zero sharing, so one share alone (or any two) is uniformly random and says nothing
//! about the outputs. This module owns the share's encoding and the requester's arithmetic;
//! it knows nothing of keys or transport: the node encrypts each share's bytes to the
//! requester's SM2 key, and that encryption (not this format) protects them on the way.
//!
//! # What binds a share to its request
//!
//! SM2 encryption to the requester's public key says nothing of who made a ciphertext:
//! anyone can. So a share carries, inside its encoding (and so inside the encryption), the
//! [`ShareBinding`]: the request id it was computed for and the digest of the subject list
//! ([`subjects_digest`]); and the node that computed it SM2-signs
//! [`share_signature_message`] = `"weinong-result-share-v1"` ‖ consortium id ‖ request id ‖
//! party ‖ model id ‖ SM3 of the ciphertext. This module only builds those bytes: the
//! node signs them with its ledger key, the requester's client checks the signature
//! against the department's key on the ledger, then opens the share and checks the
//! binding against the request it asked about. [`reconstruct`] refuses shares whose
//! bindings differ.
//!
//! # Encoding, format version 2
//!
//! Deterministic, big-endian, with every size declared before the values:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `WNOS` ("Weinong output share") |
//! | 1 | format version, 2 |
//! | 1 | party index, 0, 1 or 2 |
//! | 32 | model id (SM3 of the canonical spec) |
//! | 32 | request id the share was computed for |
//! | 32 | subject-list digest ([`subjects_digest`]) |
//! | 4 | subjects `len`, u32, at most [`OUTPUT_SUBJECTS_MAX`] |
//! | 4 | output columns `k`, u32, at most [`OUTPUT_COLUMNS_MAX`] |
//! | 8·k·len | the values, column by column (output 0's `len` subjects first), u64 each |
//!
//! Decoding refuses bad magic, version 1 (no binding: [`ShareDecodeError::Unbound`]) or any
//! other unknown version, a party index over 2, sizes over the limits, and a body shorter
//! or longer than declared, in that order, before allocating.
//!
//! # What reconstruction checks
//!
//! Exactly one share from each party, all for the model given and the same subjects, each
//! with one column per model output; and every sum, read as `i64`, within its output's
//! declared range. The range check catches a share from another evaluation and most
//! corruption (a changed high bit moves a value far outside any output range), not every
//! change of a low bit: integrity on the way is the encryption's job.

use std::fmt;

use zeroize::Zeroize;

use crate::PartyId;

use super::batch::OutputBatch;
use super::decl::{Model, ModelId};
use super::error::{ReconstructError, ShareDecodeError};
use super::limits::{OUTPUT_COLUMNS_MAX, OUTPUT_SUBJECTS_MAX};

/// The magic bytes that open an encoded output share.
pub const SHARE_MAGIC: [u8; 4] = *b"WNOS";
/// The output-share format version this build writes and reads.
pub const SHARE_FORMAT_VERSION: u8 = 2;
/// The last format version without a [`ShareBinding`]; refused with its own error.
pub const SHARE_UNBOUND_VERSION: u8 = 1;
/// Bytes before the values: magic, version, party, model id, request id, subject-list
/// digest, subjects, columns.
pub const SHARE_HEADER_BYTES: usize = 4 + 1 + 1 + 32 + 32 + 32 + 4 + 4;
/// Domain separator that opens [`share_signature_message`] (a wire format owned by
/// `weinong-contracts`).
pub use weinong_contracts::share::{SHARE_SIGNATURE_DOMAIN, SUBJECTS_DIGEST_DOMAIN};

/// What a share was computed for, and the digest of a subject list: the wire format of
/// `weinong-contracts` (which the auditor and the requester read without this crate).
pub use weinong_contracts::share::{ShareBinding, subjects_digest};

/// The bytes a department signs for a sealed share it computed:
/// `"weinong-result-share-v1" ‖ consortium id (32) ‖ request id (32) ‖ party (1) ‖
/// model id (32) ‖ SM3 of the ciphertext (32)`. Every field after the domain has a fixed
/// size, so the concatenation is unambiguous.
pub fn share_signature_message(
    consortium: &[u8; 32],
    request: &[u8; 32],
    party: PartyId,
    model: &ModelId,
    ciphertext_sm3: &[u8; 32],
) -> Vec<u8> {
    weinong_contracts::share::share_signature_message(
        consortium,
        request,
        party.as_u8(),
        &model.0,
        ciphertext_sm3,
    )
}

/// Bytes of a [`BatchShare`]'s own header: magic, version, row count.
pub const BATCH_SHARE_HEADER_BYTES: usize = 4 + 1 + 4;

/// One party's additive share of a model's outputs over a batch of subjects, for the
/// requester. Its columns (one per model output, `len` values each) are wiped on drop and
/// never printed.
#[derive(Clone)]
pub struct OutputShare {
    party: PartyId,
    model: ModelId,
    binding: ShareBinding,
    len: u32,
    columns: Vec<Vec<u64>>,
}

/// Reads a share header's magic and format version, refusing any other.
fn read_magic_and_version(reader: &mut Reader, magic: [u8; 4]) -> Result<(), ShareDecodeError> {
    if reader.take::<4>() != Some(magic) {
        return Err(ShareDecodeError::BadMagic);
    }
    let [version] = reader.take::<1>().unwrap_or([0]);
    if version == SHARE_UNBOUND_VERSION {
        return Err(ShareDecodeError::Unbound { version });
    }
    if version != SHARE_FORMAT_VERSION {
        return Err(ShareDecodeError::UnknownVersion {
            version,
            supported: SHARE_FORMAT_VERSION,
        });
    }
    Ok(())
}

impl OutputShare {
    /// Assembles a share; the evaluation guarantees `len` values per column and the limits.
    pub(crate) fn new(
        party: PartyId,
        model: ModelId,
        len: u32,
        columns: Vec<Vec<u64>>,
    ) -> OutputShare {
        OutputShare {
            party,
            model,
            binding: ShareBinding::UNBOUND,
            len,
            columns,
        }
    }

    /// Binds the share to the request and subject list it was computed for (the node does
    /// this before encoding and sealing it).
    pub fn bind(&mut self, binding: ShareBinding) {
        self.binding = binding;
    }

    /// The request and subject list the share says it was computed for.
    pub fn binding(&self) -> ShareBinding {
        self.binding
    }

    /// The party that computed this share.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// The model evaluated.
    pub fn model(&self) -> ModelId {
        self.model
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        // u32 always fits usize on the platforms we build for (64-bit).
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    /// Whether the share covers no subjects.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The share's columns, one per model output ([`Model::outputs`] order), each with
    /// [`OutputShare::len`] ring elements. Uniformly random alone; never log them.
    pub fn columns(&self) -> &[Vec<u64>] {
        &self.columns
    }

    /// The format-version-2 encoding (see the module doc): deterministic, so equal shares
    /// encode to equal bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let values: usize = self.columns.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(SHARE_HEADER_BYTES + 8 * values);
        out.extend_from_slice(&SHARE_MAGIC);
        out.push(SHARE_FORMAT_VERSION);
        out.push(self.party.as_u8());
        out.extend_from_slice(&self.model.0);
        out.extend_from_slice(&self.binding.request);
        out.extend_from_slice(&self.binding.subjects);
        out.extend_from_slice(&self.len.to_be_bytes());
        // At most OUTPUT_COLUMNS_MAX columns (checked by the evaluation and the decoder).
        let columns = u32::try_from(self.columns.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&columns.to_be_bytes());
        for column in &self.columns {
            for value in column {
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
        out
    }

    /// Decodes [`OutputShare::to_bytes`]'s encoding, refusing anything else with a typed
    /// error. The declared size is checked against `bytes` before anything is allocated.
    pub fn from_bytes(bytes: &[u8]) -> Result<OutputShare, ShareDecodeError> {
        let too_short = ShareDecodeError::TooShort {
            len: bytes.len(),
            header: SHARE_HEADER_BYTES,
        };
        let (header, body) = bytes
            .split_at_checked(SHARE_HEADER_BYTES)
            .ok_or(too_short)?;
        let mut reader = Reader(header);
        read_magic_and_version(&mut reader, SHARE_MAGIC)?;
        let [index] = reader.take::<1>().unwrap_or([u8::MAX]);
        let party = PartyId::new(index).map_err(|_| ShareDecodeError::BadParty { index })?;
        let model = ModelId(reader.take::<32>().unwrap_or([0; 32]));
        let binding = ShareBinding {
            request: reader.take::<32>().unwrap_or([0; 32]),
            subjects: reader.take::<32>().unwrap_or([0; 32]),
        };
        let len = u32::from_be_bytes(reader.take::<4>().unwrap_or([0xff; 4]));
        let columns = u32::from_be_bytes(reader.take::<4>().unwrap_or([0xff; 4]));
        if !fits(columns, OUTPUT_COLUMNS_MAX) {
            return Err(ShareDecodeError::TooManyColumns {
                columns: u64::from(columns),
                max: OUTPUT_COLUMNS_MAX,
            });
        }
        if !fits(len, OUTPUT_SUBJECTS_MAX) {
            return Err(ShareDecodeError::TooManySubjects {
                len: u64::from(len),
                max: OUTPUT_SUBJECTS_MAX,
            });
        }
        // Both factors are under their limits, so the product fits in u64 (< 2^29).
        let declared = u64::from(columns) * u64::from(len) * 8;
        let found = u64::try_from(body.len()).unwrap_or(u64::MAX);
        if found < declared {
            return Err(ShareDecodeError::Truncated {
                declared,
                found: body.len(),
            });
        }
        if found > declared {
            let extra = usize::try_from(found - declared).unwrap_or(usize::MAX);
            return Err(ShareDecodeError::TrailingBytes { extra });
        }
        // The body length equals declared, so every size below is bounded by `bytes`.
        let per_column = usize::try_from(len).unwrap_or(usize::MAX);
        let columns = if per_column == 0 {
            vec![Vec::new(); usize::try_from(columns).unwrap_or(0)]
        } else {
            body.chunks_exact(8 * per_column)
                .map(|column| {
                    column
                        .chunks_exact(8)
                        .map(|word| {
                            let mut be = [0u8; 8];
                            be.copy_from_slice(word);
                            u64::from_be_bytes(be)
                        })
                        .collect()
                })
                .collect()
        };
        Ok(OutputShare {
            party,
            model,
            binding,
            len,
            columns,
        })
    }
}

impl Drop for OutputShare {
    fn drop(&mut self) {
        for column in &mut self.columns {
            column.zeroize();
        }
    }
}

impl fmt::Debug for OutputShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OutputShare({}, model {}, {} subjects × {} outputs, <redacted>)",
            self.party,
            self.model,
            self.len,
            self.columns.len()
        )
    }
}

/// The magic bytes that open an encoded batch share.
pub const BATCH_SHARE_MAGIC: [u8; 4] = *b"WNBS";

/// One party's output share for a batch request, with the rows it covers: indices into
/// the request's subject list, strictly ascending, one per subject of the share.
///
/// Encoding (version 2, as [`SHARE_FORMAT_VERSION`]; version 1 is refused as unbound):
/// magic `WNBS`, version, rows `n` as u32, `n` u32 indices, then the [`OutputShare`]
/// encoding (which carries the [`ShareBinding`]), whose subject count must be `n`.
#[derive(Clone, Debug)]
pub struct BatchShare {
    /// Indices into the batch's subject list, strictly ascending.
    pub rows: Vec<u32>,
    /// The outputs of those rows, in the same order.
    pub share: OutputShare,
}

impl BatchShare {
    /// The current version's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let share = self.share.to_bytes();
        let mut out =
            Vec::with_capacity(BATCH_SHARE_HEADER_BYTES + 4 * self.rows.len() + share.len());
        out.extend_from_slice(&BATCH_SHARE_MAGIC);
        out.push(SHARE_FORMAT_VERSION);
        let n = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        for row in &self.rows {
            out.extend_from_slice(&row.to_be_bytes());
        }
        out.extend_from_slice(&share);
        out
    }

    /// Decodes [`BatchShare::to_bytes`], refusing bad magic or version, a row count over
    /// the limit or past the end, rows not strictly ascending, and a share whose subject
    /// count is not the row count.
    pub fn from_bytes(bytes: &[u8]) -> Result<BatchShare, ShareDecodeError> {
        let (header, rest) =
            bytes
                .split_at_checked(BATCH_SHARE_HEADER_BYTES)
                .ok_or(ShareDecodeError::TooShort {
                    len: bytes.len(),
                    header: BATCH_SHARE_HEADER_BYTES,
                })?;
        let mut reader = Reader(header);
        read_magic_and_version(&mut reader, BATCH_SHARE_MAGIC)?;
        let n = u32::from_be_bytes(reader.take::<4>().unwrap_or([0xff; 4]));
        if !fits(n, OUTPUT_SUBJECTS_MAX) {
            return Err(ShareDecodeError::TooManySubjects {
                len: u64::from(n),
                max: OUTPUT_SUBJECTS_MAX,
            });
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let (rows, share) = rest
            .split_at_checked(4 * n)
            .ok_or(ShareDecodeError::Truncated {
                declared: 4 * n as u64,
                found: rest.len(),
            })?;
        let rows: Vec<u32> = rows
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if rows.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ShareDecodeError::RowsNotAscending);
        }
        let share = OutputShare::from_bytes(share)?;
        if share.len() != rows.len() {
            return Err(ShareDecodeError::RowCount {
                rows: rows.len(),
                subjects: share.len(),
            });
        }
        Ok(BatchShare { rows, share })
    }
}

/// Whether a declared count is within `max`.
fn fits(count: u32, max: usize) -> bool {
    usize::try_from(count).is_ok_and(|c| c <= max)
}

/// Reads fixed-size fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (field, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*field)
    }
}

/// The requester's side: sums the three parties' shares of `model`'s outputs modulo 2^64
/// and reads each sum as a signed value. Needs exactly one share from each party, all for
/// `model`, over the same subjects and bound to the same request and subject list, with
/// one column per output; refuses any value outside its output's declared range, naming
/// the output and the subject.
pub fn reconstruct(model: &Model, shares: &[OutputShare]) -> Result<OutputBatch, ReconstructError> {
    let [first, second, third] = shares else {
        return Err(ReconstructError::ShareCount {
            found: shares.len(),
        });
    };
    let mut seen = [false; 3];
    for share in shares {
        if share.model != model.id() {
            return Err(ReconstructError::ModelMismatch {
                party: share.party,
                found: share.model,
                expected: model.id(),
            });
        }
        if std::mem::replace(&mut seen[share.party.index()], true) {
            return Err(ReconstructError::DuplicateParty { party: share.party });
        }
        if share.binding != first.binding {
            return Err(ReconstructError::BindingMismatch {
                party: share.party,
                first_party: first.party,
            });
        }
        if share.len != first.len {
            return Err(ReconstructError::LenMismatch {
                party: share.party,
                found: share.len(),
                first_party: first.party,
                expected: first.len(),
            });
        }
        if share.columns.len() != model.outputs().len() {
            return Err(ReconstructError::ColumnCount {
                party: share.party,
                found: share.columns.len(),
                expected: model.outputs().len(),
            });
        }
    }
    let mut columns = Vec::with_capacity(model.outputs().len());
    for (index, output) in model.outputs().iter().enumerate() {
        let column: Vec<i64> = first.columns[index]
            .iter()
            .zip(&second.columns[index])
            .zip(&third.columns[index])
            .map(|((a, b), c)| a.wrapping_add(*b).wrapping_add(*c) as i64)
            .collect();
        if let Some(subject) = column.iter().position(|v| !output.range.contains(*v)) {
            return Err(ReconstructError::OutOfRange {
                output: output.name.clone(),
                subject,
                range: output.range,
            });
        }
        columns.push(column);
    }
    Ok(OutputBatch { columns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_share_round_trips_and_refuses_what_is_not_one() {
        let share = OutputShare::new(
            PartyId::P2,
            ModelId([3; 32]),
            2,
            vec![vec![1, 2], vec![u64::MAX, 0]],
        );
        let batch = BatchShare {
            rows: vec![4, 9],
            share: {
                let mut share = share;
                share.bind(ShareBinding {
                    request: [5; 32],
                    subjects: [6; 32],
                });
                share
            },
        };
        let bytes = batch.to_bytes();
        let back = BatchShare::from_bytes(&bytes).expect("round trip");
        assert_eq!(back.rows, vec![4, 9]);
        assert_eq!(back.share.to_bytes(), batch.share.to_bytes());
        assert_eq!(back.share.binding().request, [5; 32]);
        assert_eq!(back.share.binding().subjects, [6; 32]);
        let mut old = bytes.clone();
        old[4] = SHARE_UNBOUND_VERSION;
        assert_eq!(
            BatchShare::from_bytes(&old).err(),
            Some(ShareDecodeError::Unbound { version: 1 })
        );

        let mut swapped = bytes.clone();
        swapped[9..13].copy_from_slice(&9u32.to_be_bytes());
        swapped[13..17].copy_from_slice(&4u32.to_be_bytes());
        assert_eq!(
            BatchShare::from_bytes(&swapped).err(),
            Some(ShareDecodeError::RowsNotAscending)
        );
        let mut count = bytes.clone();
        count[5..9].copy_from_slice(&1u32.to_be_bytes());
        assert!(
            BatchShare::from_bytes(&count).is_err(),
            "row count off by one"
        );
        let mut huge = bytes.clone();
        huge[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            BatchShare::from_bytes(&huge),
            Err(ShareDecodeError::TooManySubjects { .. })
        ));
        assert_eq!(
            BatchShare::from_bytes(&bytes[..bytes.len() - 1]).err(),
            Some(ShareDecodeError::Truncated {
                declared: 32,
                found: 31
            })
        );
        assert_eq!(
            BatchShare::from_bytes(b"WNOS").err(),
            Some(ShareDecodeError::TooShort { len: 4, header: 9 })
        );
        let mut magic = bytes;
        magic[0] = b'X';
        assert_eq!(
            BatchShare::from_bytes(&magic).err(),
            Some(ShareDecodeError::BadMagic)
        );
    }

    #[test]
    fn the_header_length_matches_the_layout() {
        let share = OutputShare::new(PartyId::P1, ModelId([7; 32]), 0, vec![Vec::new(); 3]);
        assert_eq!(share.to_bytes().len(), SHARE_HEADER_BYTES);
        let back = OutputShare::from_bytes(&share.to_bytes()).expect("round trip");
        assert_eq!(back.columns().len(), 3);
        assert_eq!(back.party(), PartyId::P1);
        assert_eq!(back.binding(), ShareBinding::UNBOUND);
    }

    #[test]
    fn a_version_1_share_is_refused_as_unbound() {
        let mut share = OutputShare::new(PartyId::P0, ModelId([7; 32]), 1, vec![vec![9]]);
        share.bind(ShareBinding {
            request: [1; 32],
            subjects: [2; 32],
        });
        let mut bytes = share.to_bytes();
        let back = OutputShare::from_bytes(&bytes).expect("round trip");
        assert_eq!(back.binding(), share.binding());
        bytes[4] = 1;
        let err = OutputShare::from_bytes(&bytes).unwrap_err();
        assert_eq!(err, ShareDecodeError::Unbound { version: 1 });
        assert!(err.to_string().contains("request id"), "{err}");
    }

    #[test]
    fn the_digest_and_the_signed_message_bind_every_field() {
        let a = [[1u8; 32], [2; 32]];
        let d = subjects_digest(a.iter());
        assert_ne!(d, subjects_digest(a[..1].iter()));
        assert_ne!(d, subjects_digest([[2u8; 32], [1; 32]].iter()));
        assert_eq!(d, subjects_digest(a.iter()));
        let base =
            share_signature_message(&[1; 32], &[2; 32], PartyId::P1, &ModelId([3; 32]), &[4; 32]);
        assert!(base.starts_with(SHARE_SIGNATURE_DOMAIN));
        assert_eq!(base.len(), SHARE_SIGNATURE_DOMAIN.len() + 129);
        for other in [
            share_signature_message(&[9; 32], &[2; 32], PartyId::P1, &ModelId([3; 32]), &[4; 32]),
            share_signature_message(&[1; 32], &[9; 32], PartyId::P1, &ModelId([3; 32]), &[4; 32]),
            share_signature_message(&[1; 32], &[2; 32], PartyId::P2, &ModelId([3; 32]), &[4; 32]),
            share_signature_message(&[1; 32], &[2; 32], PartyId::P1, &ModelId([9; 32]), &[4; 32]),
            share_signature_message(&[1; 32], &[2; 32], PartyId::P1, &ModelId([3; 32]), &[9; 32]),
        ] {
            assert_ne!(base, other);
        }
    }
}
