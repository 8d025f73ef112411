//! The `#[wasm_bindgen]` surface the page imports (`pkg/weinong_console_wasm.js`). Results
//! cross as JSON text (the page parses them); a refusal is a JS `Error` whose message is
//! `CODE: text` with [`ConsoleError::code`], which the page maps to Chinese.

use wasm_bindgen::prelude::*;

use crate::{ConsoleError, ConsoleKey};

fn js_error(e: ConsoleError) -> JsError {
    JsError::new(&format!("{}: {e}", e.code()))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(|e| JsError::new(&format!("internal: {e}")))
}

/// The logged-in key (see [`ConsoleKey`]); the page keeps one in its Web Worker.
#[wasm_bindgen(js_name = ConsoleKey)]
pub struct JsConsoleKey(ConsoleKey);

#[wasm_bindgen(js_class = ConsoleKey)]
impl JsConsoleKey {
    /// Opens the keystore text with the password's UTF-8 bytes, which are wiped.
    pub fn open(keystore: &str, mut password: Vec<u8>) -> Result<JsConsoleKey, JsError> {
        ConsoleKey::open(keystore, &mut password)
            .map(JsConsoleKey)
            .map_err(js_error)
    }

    /// The key id, hex.
    #[wasm_bindgen(js_name = keyId)]
    pub fn key_id(&self) -> String {
        self.0.key_id().to_hex()
    }

    /// The signature headers of one request, as JSON `[[name, value], …]`.
    pub fn sign(
        &self,
        consortium: &str,
        node: &str,
        method: &str,
        target: &str,
        body: &[u8],
        time_ms: f64,
    ) -> Result<String, JsError> {
        // A JS number of milliseconds since 1970 is an exact integer far below 2^53.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let time_ms = time_ms.max(0.0) as u64;
        json(
            &self
                .0
                .sign(consortium, node, method, target, body, time_ms)
                .map_err(js_error)?,
        )
    }
}

/// A request bundle's report as JSON (see [`crate::verify_bundle`]); `genesis` empty for
/// none, `receipt` empty for none.
#[wasm_bindgen(js_name = verifyBundle)]
pub fn verify_bundle(
    text: &str,
    genesis: &[u8],
    genesis_name: &str,
    receipt: &str,
) -> Result<String, JsError> {
    let genesis = (!genesis.is_empty()).then_some((genesis, genesis_name));
    let receipt = (!receipt.is_empty()).then_some(receipt);
    json(&crate::verify_bundle(text, genesis, receipt).map_err(js_error)?)
}
