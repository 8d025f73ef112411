//! The requester's keys: the client key it keeps, and the two public keys it publishes.
//!
//! - [`RequesterKeys`]: the TFHE client (secret) key. It stays with the requester, decrypts
//!   the outputs and nothing else; its `Debug` is redacted and its serialized form is held
//!   in a zeroizing buffer. (tfhe's `ClientKey` itself does not zeroize its memory on drop;
//!   that is upstream's, and the key lives only in the requester's process.)
//! - [`EncryptionKey`]: the compact public key the departments encrypt under.
//! - [`EvaluationKey`]: the server key the evaluator computes with (bootstrapping and
//!   keyswitching keys), which reveals nothing about the inputs.
//!
//! Both public keys travel compressed (seeded) and are read back with tfhe's safe
//! deserializer: a size limit from [`super::limits`], a header and type check, then a
//! conformance check against the pinned parameter set.

use std::fmt;

use tfhe::prelude::*;
use tfhe::safe_serialization::{DeserializationConfig, safe_serialize};
use tfhe::{ClientKey, CompactPublicKey, CompressedCompactPublicKey, CompressedServerKey};
use zeroize::Zeroizing;

use super::error::FheError;
use super::limits::{CLIENT_KEY_BYTES_MAX, COMPACT_PUBLIC_KEY_BYTES_MAX, SERVER_KEY_BYTES_MAX};
use super::params::{PARAMETER_SET_NAME, config, pke_parameters};

/// The requester's TFHE client key.
pub struct RequesterKeys {
    client: ClientKey,
}

impl fmt::Debug for RequesterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequesterKeys(<secret>)")
    }
}

impl RequesterKeys {
    /// Generates a fresh client key under the pinned parameters (tfhe's CSPRNG, seeded from
    /// the operating system).
    pub fn generate() -> RequesterKeys {
        RequesterKeys {
            client: ClientKey::generate(config()),
        }
    }

    /// The compact public key for the departments.
    pub fn encryption_key(&self) -> EncryptionKey {
        let compressed = CompressedCompactPublicKey::new(&self.client);
        let key = compressed.decompress();
        EncryptionKey { compressed, key }
    }

    /// The compressed server key for the evaluator.
    pub fn evaluation_key(&self) -> EvaluationKey {
        EvaluationKey {
            compressed: self.client.generate_compressed_server_key(),
        }
    }

    /// The client key in tfhe's safe serialization, in a buffer zeroized on drop.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, FheError> {
        let mut out = Zeroizing::new(Vec::new());
        safe_serialize(&self.client, &mut *out, CLIENT_KEY_BYTES_MAX)
            .map_err(|e| FheError::Tfhe(e.to_string()))?;
        Ok(out)
    }

    /// Reads a client key written by [`RequesterKeys::to_bytes`], checking its size, header
    /// and parameters.
    pub fn from_bytes(bytes: &[u8]) -> Result<RequesterKeys, FheError> {
        const WHAT: &str = "client key";
        check_len(WHAT, bytes, CLIENT_KEY_BYTES_MAX)?;
        let client: ClientKey = DeserializationConfig::new(CLIENT_KEY_BYTES_MAX)
            .disable_conformance()
            .deserialize_from(bytes)
            .map_err(|reason| FheError::Malformed { what: WHAT, reason })?;
        // A client key has no conformance check of its own; its computation parameters must
        // be the pinned ones.
        let expected: tfhe::shortint::AtomicPatternParameters =
            super::params::compute_parameters().into();
        if client.computation_parameters() != expected {
            return Err(FheError::NotConformant {
                what: WHAT,
                expected: PARAMETER_SET_NAME.to_owned(),
            });
        }
        Ok(RequesterKeys { client })
    }

    pub(crate) fn client_key(&self) -> &ClientKey {
        &self.client
    }
}

/// The compact public key the departments encrypt their inputs under.
#[derive(Clone)]
pub struct EncryptionKey {
    compressed: CompressedCompactPublicKey,
    key: CompactPublicKey,
}

impl EncryptionKey {
    /// The compressed key in tfhe's safe serialization.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FheError> {
        key_to_bytes(&self.compressed, COMPACT_PUBLIC_KEY_BYTES_MAX)
    }

    /// Reads a compressed compact public key: size limit, header, then conformance with the
    /// pinned public-key parameters.
    pub fn from_bytes(bytes: &[u8]) -> Result<EncryptionKey, FheError> {
        let compressed = key_from_bytes::<CompressedCompactPublicKey>(
            "compact public key",
            bytes,
            COMPACT_PUBLIC_KEY_BYTES_MAX,
            |k| k.is_conformant(&pke_parameters()),
        )?;
        let key = compressed.decompress();
        Ok(EncryptionKey { compressed, key })
    }

    pub(crate) fn key(&self) -> &CompactPublicKey {
        &self.key
    }
}

/// The compressed server key the evaluator computes with.
#[derive(Clone)]
pub struct EvaluationKey {
    compressed: CompressedServerKey,
}

impl EvaluationKey {
    /// Reads a compressed server key: size limit, header, then conformance with the whole
    /// pinned configuration (computation and public-key keyswitch parameters).
    pub fn from_bytes(bytes: &[u8]) -> Result<EvaluationKey, FheError> {
        let compressed = key_from_bytes::<CompressedServerKey>(
            "compressed server key",
            bytes,
            SERVER_KEY_BYTES_MAX,
            |k| k.is_conformant(&config().into()),
        )?;
        Ok(EvaluationKey { compressed })
    }

    /// The compressed key in tfhe's safe serialization.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FheError> {
        key_to_bytes(&self.compressed, SERVER_KEY_BYTES_MAX)
    }

    pub(crate) fn compressed(&self) -> &CompressedServerKey {
        &self.compressed
    }
}

/// A public key in tfhe's safe serialization, refused past `max` bytes.
fn key_to_bytes<K: serde::Serialize + tfhe::Versionize + tfhe::named::Named>(
    key: &K,
    max: u64,
) -> Result<Vec<u8>, FheError> {
    let mut out = Vec::new();
    safe_serialize(key, &mut out, max).map_err(|e| FheError::Tfhe(e.to_string()))?;
    Ok(out)
}

/// Reads a public key: size limit, header, then `conforms` (the pinned parameters); tfhe's
/// own conformant read would not tell a malformed blob from a foreign parameter set.
fn key_from_bytes<K: serde::de::DeserializeOwned + tfhe::Unversionize + tfhe::named::Named>(
    what: &'static str,
    bytes: &[u8],
    max: u64,
    conforms: impl FnOnce(&K) -> bool,
) -> Result<K, FheError> {
    check_len(what, bytes, max)?;
    let key: K = DeserializationConfig::new(max)
        .disable_conformance()
        .deserialize_from(bytes)
        .map_err(|reason| FheError::Malformed { what, reason })?;
    if !conforms(&key) {
        return Err(FheError::NotConformant {
            what,
            expected: PARAMETER_SET_NAME.to_owned(),
        });
    }
    Ok(key)
}

/// Refuses a blob longer than `max` before any parsing.
pub(crate) fn check_len(what: &'static str, bytes: &[u8], max: u64) -> Result<(), FheError> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > max {
        return Err(FheError::TooLarge { what, len, max });
    }
    Ok(())
}
