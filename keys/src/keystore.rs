//! The encrypted keystore file: an SM2 secret key under SM4-GCM with a password-derived key.
//!
//! Format (versioned JSON, all binary fields lower-case hex):
//!
//! ```json
//! { "format": "weinong-keystore", "version": 1,
//!   "key_id": "<64 hex>", "public_key": "<130 hex, SEC1 uncompressed>",
//!   "kdf": { "name": "pbkdf2-hmac-sm3", "iterations": 200000, "salt": "<32 hex>" },
//!   "cipher": { "name": "sm4-gcm", "sealed": "<hex of DataKey::seal output>" } }
//! ```
//!
//! The associated data of the seal is the canonical header (format, version, key id, public
//! key, KDF name, iterations and salt), so editing any header field makes opening fail.
//! After decryption the secret's public key must equal the recorded one.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{DataKey, KeyError, KeyPair, PublicKey};

const FORMAT: &str = "weinong-keystore";
const VERSION: u32 = 1;
pub(crate) const KDF_NAME: &str = "pbkdf2-hmac-sm3";
pub(crate) const CIPHER_NAME: &str = "sm4-gcm";
/// PBKDF2 iterations for new keystores.
pub const KDF_ITERATIONS: u32 = 200_000;
/// The fewest iterations a keystore may declare; fewer is refused as tampering.
pub const KDF_ITERATIONS_MIN: u32 = 100_000;
/// The most iterations accepted, so a hostile file cannot stall a node.
pub const KDF_ITERATIONS_MAX: u32 = 10_000_000;
/// The largest keystore file read.
pub const KEYSTORE_BYTES_MAX: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    version: u32,
    key_id: String,
    public_key: String,
    kdf: Kdf,
    cipher: Cipher,
}

/// The KDF header of a password-sealed file (keystores and sealed secrets share it).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Kdf {
    pub(crate) name: String,
    pub(crate) iterations: u32,
    pub(crate) salt: String,
}

/// The cipher header of a password-sealed file; `sealed` is the encoding of the sealed bytes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cipher {
    pub(crate) name: String,
    pub(crate) sealed: String,
}

/// A fresh random salt and the headers that record it, for a file about to be sealed.
/// `Cipher::sealed` stays empty: it is filled in after sealing, since the header is the
/// associated data.
pub(crate) fn fresh_headers(iterations: u32) -> Result<([u8; 16], Kdf, Cipher), KeyError> {
    let salt: [u8; 16] = crate::sm4_gcm::random_bytes()?;
    let kdf = Kdf {
        name: KDF_NAME.into(),
        iterations,
        salt: hex::encode(salt),
    };
    let cipher = Cipher {
        name: CIPHER_NAME.into(),
        sealed: String::new(),
    };
    Ok((salt, kdf, cipher))
}

fn header_aad(f: &File) -> Vec<u8> {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        f.format, f.version, f.key_id, f.public_key, f.kdf.name, f.kdf.iterations, f.kdf.salt
    )
    .into_bytes()
}

pub(crate) fn derive_key(password: &[u8], salt: &[u8], iterations: u32) -> DataKey {
    let mut out = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<sm3::Sm3>(password, salt, iterations, &mut *out);
    DataKey::from_bytes(*out)
}

/// Encrypt `key` under `password` into keystore JSON text.
pub fn seal_keystore(key: &KeyPair, password: &[u8]) -> Result<String, KeyError> {
    seal_keystore_with_iterations(key, password, KDF_ITERATIONS)
}

/// As [`seal_keystore`] with an explicit iteration count (≥ [`KDF_ITERATIONS_MIN`]).
pub fn seal_keystore_with_iterations(
    key: &KeyPair,
    password: &[u8],
    iterations: u32,
) -> Result<String, KeyError> {
    if !(KDF_ITERATIONS_MIN..=KDF_ITERATIONS_MAX).contains(&iterations) {
        return Err(KeyError::Keystore(format!(
            "iterations must be between {KDF_ITERATIONS_MIN} and {KDF_ITERATIONS_MAX}"
        )));
    }
    let (salt, kdf, cipher) = fresh_headers(iterations)?;
    let mut file = File {
        format: FORMAT.into(),
        version: VERSION,
        key_id: key.key_id().to_hex(),
        public_key: hex::encode(key.public_key().to_sec1_bytes()),
        kdf,
        cipher,
    };
    let kek = derive_key(password, &salt, iterations);
    let sealed = kek.seal(&header_aad(&file), &*key.secret_bytes())?;
    file.cipher.sealed = hex::encode(sealed);
    serde_json::to_string_pretty(&file).map_err(|e| KeyError::Keystore(e.to_string()))
}

/// The public half recorded in a keystore, read without the password.
pub fn keystore_public_key(text: &str) -> Result<PublicKey, KeyError> {
    let file = parse(text)?;
    public_of(&file)
}

fn public_of(file: &File) -> Result<PublicKey, KeyError> {
    let bytes = hex::decode(&file.public_key)
        .map_err(|e| KeyError::Keystore(format!("public_key is not hex: {e}")))?;
    let public = PublicKey::from_sec1_bytes(&bytes)?;
    if public.key_id().to_hex() != file.key_id {
        return Err(KeyError::Keystore(
            "key_id does not match public_key: file tampered with".into(),
        ));
    }
    Ok(public)
}

fn parse(text: &str) -> Result<File, KeyError> {
    if text.len() > KEYSTORE_BYTES_MAX {
        return Err(KeyError::Keystore(format!(
            "file larger than {KEYSTORE_BYTES_MAX} bytes"
        )));
    }
    if text.trim().is_empty() {
        return Err(KeyError::Keystore("file is empty".into()));
    }
    let file: File = serde_json::from_str(text)
        .map_err(|e| KeyError::Keystore(format!("not a weinong keystore (JSON: {e})")))?;
    if file.format != FORMAT {
        return Err(KeyError::Keystore(format!(
            "format is {:?}, expected {FORMAT:?}",
            file.format
        )));
    }
    if file.version != VERSION {
        return Err(KeyError::Keystore(format!(
            "unsupported version {} (this build reads {VERSION})",
            file.version
        )));
    }
    if file.kdf.name != KDF_NAME || file.cipher.name != CIPHER_NAME {
        return Err(KeyError::Keystore(format!(
            "unsupported kdf/cipher {}/{} (expected {KDF_NAME}/{CIPHER_NAME})",
            file.kdf.name, file.cipher.name
        )));
    }
    if !(KDF_ITERATIONS_MIN..=KDF_ITERATIONS_MAX).contains(&file.kdf.iterations) {
        return Err(KeyError::Keystore(format!(
            "kdf iterations {} outside {KDF_ITERATIONS_MIN}..={KDF_ITERATIONS_MAX}",
            file.kdf.iterations
        )));
    }
    Ok(file)
}

/// Decrypt a keystore with `password`.
pub fn open_keystore(text: &str, password: &[u8]) -> Result<KeyPair, KeyError> {
    let file = parse(text)?;
    let public = public_of(&file)?;
    let salt = hex::decode(&file.kdf.salt)
        .map_err(|e| KeyError::Keystore(format!("salt is not hex: {e}")))?;
    let sealed = hex::decode(&file.cipher.sealed)
        .map_err(|e| KeyError::Keystore(format!("sealed is not hex: {e}")))?;
    let kek = derive_key(password, &salt, file.kdf.iterations);
    let secret = kek
        .open(&header_aad(&file), &sealed)
        .map_err(|_| KeyError::Keystore("wrong password, or the file was tampered with".into()))?;
    let key = KeyPair::from_secret_bytes(&secret)?;
    if key.public_key() != &public {
        return Err(KeyError::Keystore(
            "secret does not match the recorded public key".into(),
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_wrong_password_and_tamper() {
        let key = KeyPair::generate();
        let text = seal_keystore_with_iterations(&key, b"pw", KDF_ITERATIONS_MIN).unwrap();
        let back = open_keystore(&text, b"pw").unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(keystore_public_key(&text).unwrap(), *key.public_key());
        let err = open_keystore(&text, b"wrong").err().unwrap();
        assert!(err.to_string().contains("wrong password"), "{err}");
        // Editing the iteration count is caught by the AAD.
        let edited = text.replace(
            &format!("\"iterations\": {KDF_ITERATIONS_MIN}"),
            "\"iterations\": 100001",
        );
        assert_ne!(edited, text);
        assert!(open_keystore(&edited, b"pw").is_err());
        assert!(
            open_keystore("", b"pw")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(open_keystore("{", b"pw").is_err());
    }
}
