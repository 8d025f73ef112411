//! The logged-in key: opened from a keystore inside the page, signing `/v1` requests.

use serde::Serialize;
use weinong_keys::request_auth::{RequestScope, sign_request};
use weinong_keys::{KeyId, KeyPair, keystore_public_key, open_keystore};
use zeroize::Zeroize;

use crate::ConsoleError;

/// A keystore's key, opened in the page. The secret lives only in WebAssembly memory and
/// is wiped when this is dropped (`KeyPair` zeroizes on drop); nothing returns it.
pub struct ConsoleKey {
    key: KeyPair,
}

/// The five signature headers of one request (`x-weinong-key`, `-time`, `-signature`,
/// `-consortium`, `-node`), as the page sets them.
#[derive(Debug, Serialize)]
pub struct SignedHeaders(pub Vec<(String, String)>);

impl ConsoleKey {
    /// Opens `keystore` (the JSON text of a `weinong keys new` file) with `password`, and
    /// wipes the password bytes whatever the outcome.
    pub fn open(keystore: &str, password: &mut [u8]) -> Result<ConsoleKey, ConsoleError> {
        let opened = Self::open_inner(keystore, password);
        password.zeroize();
        opened
    }

    fn open_inner(keystore: &str, password: &[u8]) -> Result<ConsoleKey, ConsoleError> {
        // Parsing first tells a file that is not a keystore from a wrong password.
        keystore_public_key(keystore).map_err(|e| ConsoleError::NotAKeystore(e.to_string()))?;
        let key = open_keystore(keystore, password).map_err(|_| ConsoleError::WrongPassword)?;
        Ok(ConsoleKey { key })
    }

    /// The key id (SM3 of the public key), which the ledger binds roles to.
    pub fn key_id(&self) -> KeyId {
        self.key.key_id()
    }

    pub(crate) fn key_pair(&self) -> &KeyPair {
        &self.key
    }

    /// Signs one request for the node `node` (its key id, hex) of the consortium
    /// `consortium` (hex), exactly as `weinong-api`'s client does: `method`, the path and
    /// query as sent, the body bytes and the time in milliseconds since the Unix epoch.
    pub fn sign(
        &self,
        consortium: &str,
        node: &str,
        method: &str,
        target: &str,
        body: &[u8],
        time_ms: u64,
    ) -> Result<SignedHeaders, ConsoleError> {
        let scope = RequestScope {
            consortium: hex32("consortium", consortium)?,
            node: KeyId::from_bytes(hex32("node key id", node)?),
        };
        let signature = sign_request(&self.key, &scope, method, target, body, time_ms)
            .map_err(|e| ConsoleError::Sign(e.to_string()))?;
        Ok(SignedHeaders(
            signature
                .headers()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        ))
    }
}

pub(crate) fn hex32(what: &'static str, text: &str) -> Result<[u8; 32], ConsoleError> {
    let bytes = hex::decode(text.trim()).map_err(|e| ConsoleError::Scope {
        what,
        reason: e.to_string(),
    })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| ConsoleError::Scope {
        what,
        reason: format!("{} bytes", bytes.len()),
    })
}
