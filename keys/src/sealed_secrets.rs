//! Sealed secrets: named secret values in one file, under SM4-GCM with a password-derived
//! key (the keystore's KDF and cipher). A department node's data secrets
//! ([`DataSecrets`]: its SM4 data key and the consortium pepper) and a requester's FHE
//! client key live in such files; nothing secret is ever written in the clear.
//!
//! Format (versioned JSON; `salt` lower-case hex, `sealed` standard base64):
//!
//! ```json
//! { "format": "weinong-sealed-secrets", "version": 1, "kind": "data-secrets",
//!   "names": ["data_key", "pepper"],
//!   "kdf": { "name": "pbkdf2-hmac-sm3", "iterations": 200000, "salt": "<32 hex>" },
//!   "cipher": { "name": "sm4-gcm", "sealed": "<base64 of DataKey::seal output>" } }
//! ```
//!
//! `kind` says what the file is for (a data-secrets file is not opened as an FHE key);
//! `names` lists the secrets inside, sorted, so a reader can say which one is missing
//! without the password. The plaintext under the seal is, for each name in that order, its
//! value's length (4 bytes, big-endian) and the value. The associated data of the seal is
//! the canonical header (format, version, kind, names, KDF name, iterations, salt), so
//! editing any header field makes opening fail.
//!
//! **Extending.** A new secret is a new name: the container format does not change, and
//! files written before it still open (a typed reader decides whether the name is
//! required). A reader refuses names it does not know rather than dropping them, so an
//! older build never re-seals a file without a secret it did not understand.
//!
//! **Old files.** Data-secrets files from before sealing (plaintext JSON with `data_key`
//! and `pepper`) are refused with [`KeyError::PlaintextSecrets`], whose message says how to
//! re-seal them (`weinong data reseal`); they are never read silently.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keystore::{CIPHER_NAME, Cipher, KDF_NAME, Kdf, derive_key, fresh_headers};
use crate::{DataKey, KDF_ITERATIONS, KDF_ITERATIONS_MAX, KDF_ITERATIONS_MIN, KeyError, Pepper};

const FORMAT: &str = "weinong-sealed-secrets";
/// Version of the sealed-secrets container.
pub const SEALED_SECRETS_VERSION: u32 = 1;
/// The largest sealed-secrets file read (an FHE client key is about 47 KiB).
pub const SEALED_SECRETS_BYTES_MAX: usize = 1 << 20;
/// The largest single secret value.
pub const SECRET_VALUE_BYTES_MAX: usize = 512 * 1024;
/// The most secrets in one file.
pub const SECRETS_PER_FILE_MAX: usize = 16;
/// The longest secret name or kind.
const NAME_CHARS_MAX: usize = 64;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    version: u32,
    kind: String,
    names: Vec<String>,
    kdf: Kdf,
    cipher: Cipher,
}

fn header_aad(f: &File) -> Vec<u8> {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        f.format,
        f.version,
        f.kind,
        f.names.join(","),
        f.kdf.name,
        f.kdf.iterations,
        f.kdf.salt
    )
    .into_bytes()
}

fn err(message: impl Into<String>) -> KeyError {
    KeyError::Secrets(message.into())
}

/// A name or kind: 1 to 64 characters of `a-z`, `0-9`, `_` and `-` (so the header's
/// comma-joined list in the associated data is unambiguous).
fn check_name(what: &str, name: &str) -> Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.len() <= NAME_CHARS_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(format!(
            "{what} {name:?} must be 1 to {NAME_CHARS_MAX} characters of a-z, 0-9, '_' or '-'"
        )))
    }
}

/// Named secret values of one kind, to seal into a file or as opened from one. Values
/// zeroize on drop; `Debug` shows the kind and names only.
#[derive(Clone)]
pub struct NamedSecrets {
    kind: String,
    values: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

impl NamedSecrets {
    /// An empty set of secrets of `kind` (e.g. `data-secrets`, `fhe-client-key`).
    pub fn new(kind: &str) -> Result<Self, KeyError> {
        check_name("kind", kind)?;
        Ok(Self {
            kind: kind.to_string(),
            values: BTreeMap::new(),
        })
    }

    /// What the secrets are for.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Adds secret `name`; refuses a second value under one name.
    pub fn insert(&mut self, name: &str, value: &[u8]) -> Result<(), KeyError> {
        check_name("secret name", name)?;
        if value.len() > SECRET_VALUE_BYTES_MAX {
            return Err(err(format!(
                "secret {name:?} is {} bytes, over the limit of {SECRET_VALUE_BYTES_MAX}",
                value.len()
            )));
        }
        if self.values.contains_key(name) {
            return Err(err(format!("secret {name:?} given twice")));
        }
        if self.values.len() >= SECRETS_PER_FILE_MAX {
            return Err(err(format!(
                "more than {SECRETS_PER_FILE_MAX} secrets in one file"
            )));
        }
        self.values
            .insert(name.to_string(), Zeroizing::new(value.to_vec()));
        Ok(())
    }

    /// The value of secret `name`, if present. Handle with care.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.values.get(name).map(|v| v.as_slice())
    }

    /// The value of secret `name`, or an error naming the missing secret.
    pub fn require(&self, name: &str) -> Result<&[u8], KeyError> {
        self.get(name).ok_or_else(|| {
            err(format!(
                "the {} file holds no secret {name:?} (it holds {:?})",
                self.kind,
                self.names().collect::<Vec<_>>()
            ))
        })
    }

    /// The secrets' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Seals the secrets under `password` into file text.
    pub fn seal(&self, password: &[u8]) -> Result<String, KeyError> {
        self.seal_with_iterations(password, KDF_ITERATIONS)
    }

    /// As [`Self::seal`] with an explicit PBKDF2 iteration count (≥ [`KDF_ITERATIONS_MIN`]).
    pub fn seal_with_iterations(
        &self,
        password: &[u8],
        iterations: u32,
    ) -> Result<String, KeyError> {
        if !(KDF_ITERATIONS_MIN..=KDF_ITERATIONS_MAX).contains(&iterations) {
            return Err(err(format!(
                "iterations must be between {KDF_ITERATIONS_MIN} and {KDF_ITERATIONS_MAX}"
            )));
        }
        if password.is_empty() {
            return Err(err("an empty password seals nothing: give a password"));
        }
        let (salt, kdf, cipher) = fresh_headers(iterations)?;
        let mut file = File {
            format: FORMAT.into(),
            version: SEALED_SECRETS_VERSION,
            kind: self.kind.clone(),
            names: self.values.keys().cloned().collect(),
            kdf,
            cipher,
        };
        let total: usize = self.values.values().map(|v| 4 + v.len()).sum();
        let mut plain = Zeroizing::new(Vec::with_capacity(total));
        for value in self.values.values() {
            let len = u32::try_from(value.len()).map_err(|_| err("secret too long"))?;
            plain.extend_from_slice(&len.to_be_bytes());
            plain.extend_from_slice(value);
        }
        let kek = derive_key(password, &salt, iterations);
        let sealed = kek.seal(&header_aad(&file), &plain)?;
        file.cipher.sealed = BASE64.encode(sealed);
        let mut text = serde_json::to_string_pretty(&file).map_err(|e| err(e.to_string()))?;
        text.push('\n');
        Ok(text)
    }

    /// The kind and names recorded in sealed-secrets text, read without the password.
    pub fn peek(text: &str) -> Result<(String, Vec<String>), KeyError> {
        let file = parse(text)?;
        Ok((file.kind, file.names))
    }

    /// Opens sealed-secrets text of `kind` with `password`.
    pub fn open(text: &str, kind: &str, password: &[u8]) -> Result<Self, KeyError> {
        let file = parse(text)?;
        if file.kind != kind {
            return Err(err(format!(
                "this file holds {:?} secrets, not {kind:?}: wrong file?",
                file.kind
            )));
        }
        let salt = hex::decode(&file.kdf.salt).map_err(|e| err(format!("salt is not hex: {e}")))?;
        let sealed = BASE64
            .decode(&file.cipher.sealed)
            .map_err(|e| err(format!("sealed is not base64: {e}")))?;
        let kek = derive_key(password, &salt, file.kdf.iterations);
        let plain = kek
            .open(&header_aad(&file), &sealed)
            .map_err(|_| err("wrong password, or the file was tampered with"))?;
        let mut out = Self::new(&file.kind)?;
        let mut rest: &[u8] = &plain;
        for name in &file.names {
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                return Err(err(format!("secret {name:?} is cut short")));
            };
            let len = usize::try_from(u32::from_be_bytes(*len))
                .map_err(|_| err(format!("secret {name:?} is too long")))?;
            if len > tail.len() {
                return Err(err(format!("secret {name:?} is cut short")));
            }
            let (value, tail) = tail.split_at(len);
            out.insert(name, value)?;
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(err("bytes after the last secret"));
        }
        Ok(out)
    }
}

impl fmt::Debug for NamedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedSecrets")
            .field("kind", &self.kind)
            .field("names", &self.names().collect::<Vec<_>>())
            .field("values", &"<redacted>")
            .finish()
    }
}

fn parse(text: &str) -> Result<File, KeyError> {
    if text.len() > SEALED_SECRETS_BYTES_MAX {
        return Err(err(format!(
            "file larger than {SEALED_SECRETS_BYTES_MAX} bytes"
        )));
    }
    if text.trim().is_empty() {
        return Err(err("file is empty"));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| err(format!("not a sealed-secrets file (JSON: {e})")))?;
    if let Some(object) = value.as_object()
        && !object.contains_key("format")
        && (object.contains_key("data_key") || object.contains_key("pepper"))
    {
        return Err(KeyError::PlaintextSecrets);
    }
    // `value` may hold secrets of an unexpected file; it is dropped unread.
    let file: File = serde_json::from_value(value)
        .map_err(|e| err(format!("not a sealed-secrets file ({e})")))?;
    if file.format != FORMAT {
        return Err(err(format!(
            "format is {:?}, expected {FORMAT:?}",
            file.format
        )));
    }
    if file.version != SEALED_SECRETS_VERSION {
        return Err(err(format!(
            "unsupported version {} (this build reads {SEALED_SECRETS_VERSION}): upgrade weinong",
            file.version
        )));
    }
    if file.kdf.name != KDF_NAME || file.cipher.name != CIPHER_NAME {
        return Err(err(format!(
            "unsupported kdf/cipher {}/{} (expected {KDF_NAME}/{CIPHER_NAME})",
            file.kdf.name, file.cipher.name
        )));
    }
    if !(KDF_ITERATIONS_MIN..=KDF_ITERATIONS_MAX).contains(&file.kdf.iterations) {
        return Err(err(format!(
            "kdf iterations {} outside {KDF_ITERATIONS_MIN}..={KDF_ITERATIONS_MAX}",
            file.kdf.iterations
        )));
    }
    check_name("kind", &file.kind)?;
    if file.names.len() > SECRETS_PER_FILE_MAX {
        return Err(err(format!(
            "more than {SECRETS_PER_FILE_MAX} secrets in one file"
        )));
    }
    for name in &file.names {
        check_name("secret name", name)?;
    }
    if !file.names.windows(2).all(|w| w[0] < w[1]) {
        return Err(err("names must be sorted and distinct"));
    }
    Ok(file)
}

/// A department node's data secrets: its own SM4 data key (sealing identifying fields at
/// rest) and the consortium's pseudonym pepper. Sealed as kind [`DataSecrets::KIND`] with
/// secrets `data_key` (16 bytes) and `pepper` (32 bytes). Both zeroize on drop; `Debug` is
/// redacted.
///
/// To add a secret (e.g. an OPRF key), add a field, its name to [`DataSecrets::NAMES`],
/// and read it in [`DataSecrets::from_named`] (optional if older files lack it).
#[derive(Clone)]
pub struct DataSecrets {
    /// SM4-GCM key for identifying fields (the node's own).
    pub data_key: DataKey,
    /// HMAC-SM3 key for subject pseudonyms (the consortium's).
    pub pepper: Pepper,
}

impl DataSecrets {
    /// The sealed file's kind.
    pub const KIND: &'static str = "data-secrets";
    /// Every secret name this build reads from a data-secrets file.
    pub const NAMES: &'static [&'static str] = &["data_key", "pepper"];

    /// A fresh random data key with the consortium's `pepper`.
    pub fn generate(pepper: Pepper) -> Result<Self, KeyError> {
        Ok(Self {
            data_key: DataKey::generate()?,
            pepper,
        })
    }

    /// The secrets by name, for sealing.
    pub fn to_named(&self) -> Result<NamedSecrets, KeyError> {
        let mut named = NamedSecrets::new(Self::KIND)?;
        named.insert("data_key", self.data_key.expose_bytes())?;
        named.insert("pepper", self.pepper.expose_bytes())?;
        Ok(named)
    }

    /// Reads opened secrets; refuses a name this build does not know (a newer file).
    pub fn from_named(named: &NamedSecrets) -> Result<Self, KeyError> {
        if named.kind() != Self::KIND {
            return Err(err(format!(
                "{:?} secrets are not {:?}",
                named.kind(),
                Self::KIND
            )));
        }
        if let Some(unknown) = named.names().find(|n| !Self::NAMES.contains(n)) {
            return Err(err(format!(
                "the data secrets hold {unknown:?}, which this build does not know: upgrade weinong"
            )));
        }
        let data_key: [u8; 16] = named
            .require("data_key")?
            .try_into()
            .map_err(|_| err("data_key must be 16 bytes"))?;
        let pepper: [u8; 32] = named
            .require("pepper")?
            .try_into()
            .map_err(|_| err("pepper must be 32 bytes"))?;
        Ok(Self {
            data_key: DataKey::from_bytes(data_key),
            pepper: Pepper::from_bytes(pepper),
        })
    }

    /// Seals the data secrets under `password` into file text.
    pub fn seal(&self, password: &[u8]) -> Result<String, KeyError> {
        self.to_named()?.seal(password)
    }

    /// Opens a data-secrets file's text with `password`.
    pub fn open(text: &str, password: &[u8]) -> Result<Self, KeyError> {
        Self::from_named(&NamedSecrets::open(text, Self::KIND, password)?)
    }

    /// Reads a plaintext data-secrets file of an older weinong (JSON with `data_key`, 32
    /// hex characters, and `pepper`, 64), for `weinong data reseal` only.
    pub fn from_plaintext_json(text: &str) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Old<'a> {
            // Borrowed from `text`: no unzeroized copies.
            data_key: &'a str,
            pepper: &'a str,
        }
        if text.len() > SEALED_SECRETS_BYTES_MAX {
            return Err(err("file too large for plaintext data secrets"));
        }
        let old: Old = serde_json::from_str(text).map_err(|e| {
            err(format!(
                "not a plaintext data-secrets file (expected JSON with data_key and pepper: {e})"
            ))
        })?;
        let mut key = Zeroizing::new([0u8; 16]);
        hex::decode_to_slice(old.data_key.trim(), key.as_mut()).map_err(|e| KeyError::Hex {
            what: "data_key (32 hex characters)",
            reason: e.to_string(),
        })?;
        Ok(Self {
            data_key: DataKey::from_bytes(*key),
            pepper: Pepper::from_hex(old.pepper)?,
        })
    }
}

impl fmt::Debug for DataSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataSecrets { data_key: <redacted>, pepper: <redacted> }")
    }
}

#[cfg(test)]
mod tests {
    use subtle::ConstantTimeEq;

    use super::*;
    use crate::{ResidentId, SubjectPseudonym};

    const PW: &[u8] = b"correct horse";

    fn fast_seal(s: &DataSecrets) -> String {
        s.to_named()
            .unwrap()
            .seal_with_iterations(PW, KDF_ITERATIONS_MIN)
            .unwrap()
    }

    fn same(a: &DataSecrets, b: &DataSecrets) -> bool {
        a.data_key.expose_bytes() == b.data_key.expose_bytes()
            && bool::from(a.pepper.ct_eq(&b.pepper))
    }

    #[test]
    fn data_secrets_round_trip() {
        let s = DataSecrets::generate(Pepper::generate().unwrap()).unwrap();
        let text = fast_seal(&s);
        let back = DataSecrets::open(&text, PW).unwrap();
        assert!(same(&s, &back));
        // The opened pepper derives the same pseudonyms.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(
            SubjectPseudonym::derive(&s.pepper, &id),
            SubjectPseudonym::derive(&back.pepper, &id)
        );
        // Nothing secret in the file's text.
        assert!(!text.contains(&hex::encode(s.data_key.expose_bytes())));
        assert!(!text.contains(s.pepper.to_hex().as_str()));
        assert!(!text.contains(&BASE64.encode(s.pepper.expose_bytes())));
        assert_eq!(
            NamedSecrets::peek(&text).unwrap(),
            (
                "data-secrets".to_string(),
                vec!["data_key".to_string(), "pepper".to_string()]
            )
        );
        // Two seals of the same secrets differ (salt, nonce).
        assert_ne!(fast_seal(&s), text);
    }

    #[test]
    fn wrong_password_and_wrong_kind_are_refused() {
        let s = DataSecrets::generate(Pepper::generate().unwrap()).unwrap();
        let text = fast_seal(&s);
        let e = DataSecrets::open(&text, b"correct horsf").unwrap_err();
        assert!(e.to_string().contains("wrong password"), "{e}");
        let e = NamedSecrets::open(&text, "fhe-client-key", PW).unwrap_err();
        assert!(e.to_string().contains("not \"fhe-client-key\""), "{e}");
        assert!(s.to_named().unwrap().seal(b"").is_err());
    }

    #[test]
    fn tampering_is_refused() {
        let s = DataSecrets::generate(Pepper::generate().unwrap()).unwrap();
        let text = fast_seal(&s);
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        let sealed = BASE64
            .decode(file["cipher"]["sealed"].as_str().unwrap())
            .unwrap();
        // Every bit of the ciphertext, nonce, tag and version byte.
        for i in 0..sealed.len() {
            for bit in [0, 3, 7] {
                let mut t = sealed.clone();
                t[i] ^= 1 << bit;
                let mut edited = file.clone();
                edited["cipher"]["sealed"] = BASE64.encode(&t).into();
                let e = DataSecrets::open(&edited.to_string(), PW).unwrap_err();
                assert!(e.to_string().contains("tampered"), "byte {i}: {e}");
            }
        }
        // Header fields are bound by the associated data.
        let edits: [(&str, serde_json::Value); 4] = [
            ("iterations", (KDF_ITERATIONS_MIN + 1).into()),
            ("salt", "00".repeat(16).into()),
            ("kind", "data-secretz".into()),
            ("names", serde_json::json!(["data_key", "peppers"])),
        ];
        for (field, value) in edits {
            let mut edited = file.clone();
            match field {
                "iterations" | "salt" => edited["kdf"][field] = value,
                _ => edited[field] = value,
            }
            let named =
                NamedSecrets::open(&edited.to_string(), edited["kind"].as_str().unwrap(), PW);
            assert!(named.is_err(), "{field} edited and still opens");
        }
        // A removed name is a changed header too.
        let mut edited = file.clone();
        edited["names"] = serde_json::json!(["data_key"]);
        assert!(DataSecrets::open(&edited.to_string(), PW).is_err());
    }

    #[test]
    fn plaintext_old_file_is_refused_with_how_to_reseal() {
        let old = format!(
            "{{\"data_key\":\"{}\",\"pepper\":\"{}\"}}\n",
            "11".repeat(16),
            "22".repeat(32)
        );
        let e = DataSecrets::open(&old, PW).unwrap_err();
        assert_eq!(e, KeyError::PlaintextSecrets);
        let message = e.to_string();
        assert!(message.contains("plaintext"), "{message}");
        assert!(message.contains("weinong data reseal"), "{message}");
        // The migration reads it, and the re-sealed file opens to the same secrets.
        let migrated = DataSecrets::from_plaintext_json(&old).unwrap();
        assert_eq!(migrated.data_key.expose_bytes(), &[0x11; 16]);
        let back = DataSecrets::open(&fast_seal(&migrated), PW).unwrap();
        assert!(same(&migrated, &back));
        assert!(DataSecrets::from_plaintext_json("{\"data_key\":\"11\"}").is_err());
        // Other junk is not called plaintext secrets.
        for junk in ["", "{", "[1]", "{\"format\":\"x\"}", "\u{0}"] {
            let e = DataSecrets::open(junk, PW).unwrap_err();
            assert_ne!(e, KeyError::PlaintextSecrets, "{junk:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let s = DataSecrets::generate(Pepper::from_bytes([0xab; 32])).unwrap();
        let named = s.to_named().unwrap();
        for text in [
            format!("{s:?}"),
            format!("{named:?}"),
            format!("{named:#?}"),
        ] {
            assert!(!text.to_lowercase().contains("abab"), "{text}");
            assert!(!text.contains("171"), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
        assert!(format!("{named:?}").contains("pepper"));
    }

    #[test]
    fn a_second_secret_is_a_new_name_not_a_new_format() {
        let mut named = DataSecrets::generate(Pepper::generate().unwrap())
            .unwrap()
            .to_named()
            .unwrap();
        named.insert("oprf_key", &[5; 32]).unwrap();
        let text = named.seal_with_iterations(PW, KDF_ITERATIONS_MIN).unwrap();
        let opened = NamedSecrets::open(&text, DataSecrets::KIND, PW).unwrap();
        assert_eq!(opened.get("oprf_key"), Some(&[5u8; 32][..]));
        assert_eq!(
            opened.names().collect::<Vec<_>>(),
            ["data_key", "oprf_key", "pepper"]
        );
        // A build that does not know the name says so instead of dropping it.
        let e = DataSecrets::open(&text, PW).unwrap_err();
        assert!(e.to_string().contains("oprf_key"), "{e}");
        // A missing required secret is named.
        let mut partial = NamedSecrets::new(DataSecrets::KIND).unwrap();
        partial.insert("data_key", &[1; 16]).unwrap();
        let text = partial
            .seal_with_iterations(PW, KDF_ITERATIONS_MIN)
            .unwrap();
        let e = DataSecrets::open(&text, PW).unwrap_err();
        assert!(e.to_string().contains("no secret \"pepper\""), "{e}");
        // Values of any length up to the limit, including empty and binary.
        let mut blob = NamedSecrets::new("fhe-client-key").unwrap();
        blob.insert("client_key", &[]).unwrap();
        blob.insert("other", &vec![0xff; 70_000]).unwrap();
        assert!(blob.insert("other", &[1]).is_err());
        assert!(blob.insert("Bad Name", &[1]).is_err());
        assert!(
            blob.insert("big", &vec![0; SECRET_VALUE_BYTES_MAX + 1])
                .is_err()
        );
        let text = blob.seal_with_iterations(PW, KDF_ITERATIONS_MIN).unwrap();
        let back = NamedSecrets::open(&text, "fhe-client-key", PW).unwrap();
        assert_eq!(back.get("client_key"), Some(&[][..]));
        assert_eq!(back.get("other").map(<[u8]>::len), Some(70_000));
    }
}
