//! SM2 key pairs, signatures (GB/T 32918.2) and public-key encryption (GB/T 32918.4).
//!
//! Thin, typed wrappers over RustCrypto `sm2`. Signatures always use the distinguishing ID
//! [`DEFAULT_DIST_ID`], the GB/T 32918 default; OpenSSL 3 must be told the same ID
//! (`-pkeyopt distid:1234567812345678`), since it uses an empty one by default.

use std::fmt;

use getrandom::SysRng;
use rand_core::UnwrapErr;
use signature::{RandomizedSigner, Verifier};
use sm2::elliptic_curve::Generate;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::{KeyError, KeyId, sm3_digest};

/// The default SM2 distinguishing ID of GB/T 32918 (`1234567812345678`).
pub const DEFAULT_DIST_ID: &str = "1234567812345678";

/// Most bytes an SM2 ciphertext ([`PublicKey::encrypt`], DER `C1‖C3‖C2` as GM/T 0009
/// encodes it) adds to its plaintext: the SEQUENCE header, the two coordinates of C1 as
/// INTEGERs (33 bytes each at most), the SM3 hash C3 and C2's OCTET STRING header. Callers
/// size their limits on ciphertexts from it.
pub const SM2_CIPHERTEXT_OVERHEAD_MAX: usize = 128;

/// An SM2 secret key with its public half.
///
/// The secret scalar lives in `sm2::SecretKey`, which zeroizes on drop. `Debug` shows only
/// the key id. There is no `Serialize`: secrets leave memory only through the encrypted
/// keystore or an explicit PKCS#8 export.
pub struct KeyPair {
    secret: sm2::SecretKey,
    public: PublicKey,
}

impl KeyPair {
    /// A fresh key pair from the operating system's random source.
    pub fn generate() -> Self {
        let secret = <sm2::SecretKey as Generate>::generate_from_rng(&mut UnwrapErr(SysRng));
        Self::from_secret(secret)
    }

    fn from_secret(secret: sm2::SecretKey) -> Self {
        let public = PublicKey::from_sm2(secret.public_key());
        Self { secret, public }
    }

    /// Read a secret key from its 32 big-endian bytes.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_slice(bytes)
            .map_err(|_| KeyError::MalformedSecretKey("not a scalar in [1, n-1] of 32 bytes"))?;
        Ok(Self::from_secret(secret))
    }

    /// The secret key's 32 big-endian bytes. Handle with care: the buffer zeroizes on drop.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes().into())
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key id of the public half.
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    /// Sign `msg` with SM2 under [`DEFAULT_DIST_ID`] and a fresh random nonce.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        let signer = self.signer();
        Signature(signer.sign_with_rng(&mut UnwrapErr(SysRng), msg))
    }

    fn signer(&self) -> sm2::dsa::SigningKey {
        // The default ID is 16 bytes, so ENTL fits: construction cannot fail.
        sm2::dsa::SigningKey::new(DEFAULT_DIST_ID, &self.secret)
            .unwrap_or_else(|_| unreachable!("the default distinguishing ID is valid"))
    }

    /// Decrypt an SM2 ciphertext in the ASN.1 (DER) C1C3C2 form that OpenSSL 3 writes.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let key = sm2::pke::DecryptingKey::new(self.secret.clone());
        key.decrypt_der(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Sm2Cipher {
                op: "decryption",
                reason: "ciphertext malformed, not for this key, or tampered with",
            })
    }

    /// Export the secret key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), readable by OpenSSL 3.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| Zeroizing::new(pem.to_string()))
            .map_err(|e| KeyError::Pem {
                what: "PKCS#8 export",
                reason: e.to_string(),
            })
    }

    /// Read a PKCS#8 PEM secret key (`BEGIN PRIVATE KEY`) on the SM2 curve.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_pkcs8_pem(pem)
            .map_err(|e| read_error("SM2 private key PEM (PKCS#8)", e))?;
        Ok(Self::from_secret(secret))
    }

    /// Read a PKCS#8 DER secret key on the SM2 curve.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_pkcs8_der(der)
            .map_err(|e| read_error("SM2 private key DER (PKCS#8)", e))?;
        Ok(Self::from_secret(secret))
    }
}

/// A failed PEM or DER read of `what`, explained.
fn read_error(what: &'static str, e: impl std::fmt::Display) -> KeyError {
    KeyError::Pem {
        what,
        reason: explain_pkcs8(&e.to_string()),
    }
}

fn explain_pkcs8(raw: &str) -> String {
    if raw.contains("OID") || raw.contains("algorithm") {
        format!("{raw} (is it an SM2 key? RSA, P-256 and other curves are refused)")
    } else {
        raw.to_owned()
    }
}

impl ZeroizeOnDrop for KeyPair {}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyPair {{ key_id: {}, secret: <redacted> }}",
            self.key_id()
        )
    }
}

/// An SM2 public key, with its [`KeyId`] computed once.
#[derive(Clone)]
pub struct PublicKey {
    verifying: sm2::dsa::VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    fn from_sm2(key: sm2::PublicKey) -> Self {
        let verifying = sm2::dsa::VerifyingKey::new(DEFAULT_DIST_ID, key)
            .unwrap_or_else(|_| unreachable!("the default distinguishing ID is valid"));
        let sec1 = key.to_sec1_point(false);
        let id = KeyId::from_bytes(sm3_digest(sec1.as_bytes()));
        Self { verifying, id }
    }

    /// Parse SEC1 bytes (65-byte uncompressed or 33-byte compressed).
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let key = sm2::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| KeyError::MalformedPublicKey("not a point on the SM2 curve"))?;
        Ok(Self::from_sm2(key))
    }

    /// The 65-byte uncompressed SEC1 encoding (`04‖x‖y`).
    pub fn to_sec1_bytes(&self) -> Vec<u8> {
        self.sm2_key().to_sec1_point(false).as_bytes().to_vec()
    }

    fn sm2_key(&self) -> sm2::PublicKey {
        sm2::PublicKey::from(&self.verifying)
    }

    /// The key id: SM3 of [`Self::to_sec1_bytes`].
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Verify an SM2 signature over `msg` under [`DEFAULT_DIST_ID`].
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), KeyError> {
        self.verifying
            .verify(msg, &sig.0)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The `sm2` crate's verifying key, for callers that need the raw curve point.
    pub fn as_verifying_key(&self) -> &sm2::dsa::VerifyingKey {
        &self.verifying
    }

    /// Encrypt `msg` to this key; the result is the ASN.1 (DER) C1C3C2 form of OpenSSL 3.
    pub fn encrypt(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = sm2::pke::EncryptingKey::new(self.sm2_key());
        key.encrypt_der(&mut UnwrapErr(SysRng), msg)
            .map_err(|_| KeyError::Sm2Cipher {
                op: "encryption",
                reason: "message too long or empty",
            })
    }

    /// Export as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub fn to_spki_pem(&self) -> Result<String, KeyError> {
        self.sm2_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Pem {
                what: "public key export",
                reason: e.to_string(),
            })
    }

    /// Read a SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`) on the SM2 curve.
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        sm2::PublicKey::from_public_key_pem(pem)
            .map(Self::from_sm2)
            .map_err(|e| read_error("SM2 public key PEM (SubjectPublicKeyInfo)", e))
    }

    /// Read a SubjectPublicKeyInfo DER on the SM2 curve.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        sm2::PublicKey::from_public_key_der(der)
            .map(Self::from_sm2)
            .map_err(|e| read_error("SM2 public key DER (SubjectPublicKeyInfo)", e))
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

/// An SM2 signature (r, s).
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(sm2::dsa::Signature);

impl Signature {
    /// Parse the 64-byte `r‖s` form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 64 {
            return Err(KeyError::MalformedSignature("expected 64 bytes r||s"));
        }
        sm2::dsa::Signature::from_slice(bytes)
            .map(Self)
            .map_err(|_| {
                KeyError::MalformedSignature("r or s is zero or not below the group order")
            })
    }

    /// The 64-byte `r‖s` form.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes().into()
    }

    /// Parse the DER `SEQUENCE { r INTEGER, s INTEGER }` that OpenSSL writes.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        if der.is_empty() {
            return Err(KeyError::MalformedSignature("empty input"));
        }
        sm2::dsa::Signature::from_der(der).map(Self).map_err(|_| {
            KeyError::MalformedSignature("not a DER SEQUENCE of two INTEGERs r, s (truncated?)")
        })
    }

    /// The DER form, as OpenSSL writes it.
    pub fn to_der(&self) -> Vec<u8> {
        self.0.to_der().to_vec()
    }

    /// The `sm2` crate's signature.
    pub fn as_sm2(&self) -> &sm2::dsa::Signature {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.to_bytes()))
    }
}

/// Constant-time comparison of two key pairs' secrets.
impl ConstantTimeEq for KeyPair {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.secret_bytes().ct_eq(&*other.secret_bytes())
    }
}
