//! `weinong-keys`: the consortium's commercial cryptography (商用密码) and key material.
//!
//! Owns: SM2 key pairs, signatures (GB/T 32918.2, distinguishing ID `1234567812345678`) and
//! public-key encryption (GB/T 32918.4, the ASN.1 form of OpenSSL 3); SM3 (GB/T 32905) and
//! HMAC-SM3; SM4-GCM (GB/T 32907) sealing; [`KeyId`]; the 32-byte id macro
//! ([`digest_id!`]) and the ids shared across crates ([`ModelId`]); the data-holding
//! [`Department`]s with all their names and numbers; the encrypted keystore file; sealed
//! secrets files ([`NamedSecrets`], [`DataSecrets`]: the same KDF and cipher as the
//! keystore); password files ([`read_password_file`]); PEM/DER import and export; resident
//! ID validation (GB 11643) and [`SubjectPseudonym`] (an RFC 9497 oblivious PRF over
//! ristretto255, from the `voprf` crate); the shared wall clock ([`clock::now_ms`]).
//!
//! Must not know: the ledger, transactions, networking or storage (it reads password files,
//! nothing else, from disk). Every primitive comes
//! from an audited RustCrypto crate; this crate only composes them and gives them types.
//! Secrets (`KeyPair`, `DataKey`, `Pepper`, `PseudonymKey`, `PseudonymBlinding`,
//! `ResidentId`, `NamedSecrets`, `DataSecrets`, passwords) zeroize on drop and never appear
//! in `Debug` output; secrets at rest are only ever written sealed under a password.
//!
//! Builds for `wasm32-unknown-unknown` (`scripts/wasm-test.sh`): verification, SM2
//! decryption, keystores opened from their text; randomness there comes from the JS host's
//! `crypto.getRandomValues` (getrandom's `wasm_js` backend, enabled for wasm32 only, see
//! `Cargo.toml`), and password files, the one file this crate reads, are native only.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod clock;
mod department;
mod digest_id;
mod error;
mod hash;
mod id_number;
mod key_id;
mod keystore;
mod model_id;
// Files: native only (a WebAssembly host has no file system; it passes bytes in).
#[cfg(not(target_arch = "wasm32"))]
mod password_file;
mod pseudonym;
pub mod request_auth;
mod sealed_secrets;
mod sm2_keys;
mod sm4_gcm;
mod verify_table;

pub use department::{Department, UnknownDepartment};
pub use error::KeyError;
pub use hash::{Digest, Sm3, hmac_sm3, hmac_sm3_verify, sm3_digest};
pub use id_number::{IdError, ResidentId, Sex, check_char, valid_date};
pub use key_id::KeyId;
pub use keystore::{
    KDF_ITERATIONS, KDF_ITERATIONS_MAX, KDF_ITERATIONS_MIN, KEYSTORE_BYTES_MAX,
    keystore_public_key, open_keystore, seal_keystore, seal_keystore_with_iterations,
};
pub use model_id::ModelId;
#[cfg(not(target_arch = "wasm32"))]
pub use password_file::{PASSWORD_FILE_BYTES_MAX, read_password_file};
pub use pseudonym::{
    BlindedId, EvaluatedId, OPRF_ELEMENT_LEN, OPRF_KEY_INFO, Pepper, PseudonymBlinding,
    PseudonymKey, SubjectPseudonym,
};
pub use request_auth::{
    RequestAuthError, RequestScope, RequestSignature, sign_request, verify_request,
};
pub use sealed_secrets::{
    DataSecrets, NamedSecrets, SEALED_SECRETS_BYTES_MAX, SEALED_SECRETS_VERSION,
    SECRET_VALUE_BYTES_MAX, SECRETS_PER_FILE_MAX,
};
pub use sm2_keys::{DEFAULT_DIST_ID, KeyPair, PublicKey, SM2_CIPHERTEXT_OVERHEAD_MAX, Signature};
pub use sm4_gcm::{DataKey, SEAL_OVERHEAD, SEALED_VERSION, Sealer};
pub use verify_table::PreparedPublicKey;
pub use zeroize::Zeroizing;

/// What [`digest_id!`] expands to reaches its dependencies through here, so the crates
/// that use it need none of their own. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use hex;
}
