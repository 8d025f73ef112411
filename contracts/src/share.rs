//! The wire format that binds a sealed output share to its request: what a department
//! signs for a share it computed ([`share_signature_message`]) and what the share's
//! plaintext carries ([`ShareBinding`], [`subjects_digest`]).
//!
//! These bytes are a consensus and wire format shared by the nodes (which sign), the
//! requester (which checks before opening) and the auditor (which checks a request
//! bundle's share signatures), so they live here, beside the payloads; `weinong-mpc`
//! re-exports them for its share encoding. Only byte layouts and SM3 (from
//! `weinong-keys`): no MPC arithmetic, no keys.

use weinong_keys::{Digest, Sm3};

/// Domain separator that opens [`share_signature_message`].
pub const SHARE_SIGNATURE_DOMAIN: &[u8] = b"weinong-result-share-v1";
/// Domain separator that opens the hashed bytes of [`subjects_digest`].
pub const SUBJECTS_DIGEST_DOMAIN: &[u8] = b"weinong-subjects-v1";

/// What a share was computed for: the request id and the digest of the request's subject
/// list ([`subjects_digest`]). Both are inside the encoded share, so inside the
/// encryption to the requester: a node that serves another request's ciphertext cannot
/// change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShareBinding {
    /// The request id (32 bytes, as on the ledger).
    pub request: [u8; 32],
    /// [`subjects_digest`] of the request's subject list (one subject for a single
    /// request; the whole list, ascending, for a batch).
    pub subjects: [u8; 32],
}

impl ShareBinding {
    /// All zeros: what an evaluation returns before the node binds the share. A requester
    /// refuses it (no request has the all-zero id).
    pub const UNBOUND: ShareBinding = ShareBinding {
        request: [0; 32],
        subjects: [0; 32],
    };
}

/// `SM3("weinong-subjects-v1" ‖ n:u64 ‖ subject_1 ‖ … ‖ subject_n)`: the digest of a
/// request's subject list (32-byte pseudonyms, in the request's order: a batch's list is
/// ascending) that a share's [`ShareBinding`] carries.
pub fn subjects_digest<'a>(subjects: impl ExactSizeIterator<Item = &'a [u8; 32]>) -> [u8; 32] {
    let mut hasher = Sm3::new();
    hasher.update(SUBJECTS_DIGEST_DOMAIN);
    hasher.update(
        u64::try_from(subjects.len())
            .unwrap_or(u64::MAX)
            .to_be_bytes(),
    );
    for subject in subjects {
        hasher.update(subject);
    }
    hasher.finalize().into()
}

/// The bytes a department signs for a sealed share it computed:
/// `"weinong-result-share-v1" ‖ consortium id (32) ‖ request id (32) ‖ party (1) ‖
/// model id (32) ‖ SM3 of the ciphertext (32)`. Every field after the domain has a fixed
/// size, so the concatenation is unambiguous. `party` is the MPC party index, 0, 1 or 2
/// (checked by the caller).
pub fn share_signature_message(
    consortium: &[u8; 32],
    request: &[u8; 32],
    party: u8,
    model: &[u8; 32],
    ciphertext_sm3: &[u8; 32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(SHARE_SIGNATURE_DOMAIN.len() + 32 * 4 + 1);
    out.extend_from_slice(SHARE_SIGNATURE_DOMAIN);
    out.extend_from_slice(consortium);
    out.extend_from_slice(request);
    out.push(party);
    out.extend_from_slice(model);
    out.extend_from_slice(ciphertext_sm3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_message_is_the_domain_then_fixed_size_fields() {
        let m = share_signature_message(&[1; 32], &[2; 32], 1, &[3; 32], &[4; 32]);
        assert!(m.starts_with(SHARE_SIGNATURE_DOMAIN));
        assert_eq!(m.len(), SHARE_SIGNATURE_DOMAIN.len() + 129);
        assert_eq!(m[SHARE_SIGNATURE_DOMAIN.len() + 64], 1);
        assert_ne!(
            m,
            share_signature_message(&[1; 32], &[2; 32], 2, &[3; 32], &[4; 32])
        );
    }

    #[test]
    fn the_subjects_digest_depends_on_order_and_count() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let ab = subjects_digest([&a, &b].into_iter());
        assert_ne!(ab, subjects_digest([&b, &a].into_iter()));
        assert_ne!(ab, subjects_digest([&a].into_iter()));
    }
}
