//! A subject's pseudonym by the consortium's oblivious PRF (RFC 9497), in the page: the ID
//! number is checked and blinded here, a department node evaluates the blinded element
//! (`POST /v1/pseudonyms/evaluate`), and the answer is unblinded here. Neither the ID nor
//! the pseudonym key crosses; the blind stays in WebAssembly memory.

use weinong_keys::{EvaluatedId, PseudonymBlinding, ResidentId};

use crate::ConsoleError;

/// One ID number, blinded, waiting for the node's evaluation.
pub struct Blinding {
    state: PseudonymBlinding,
    blinded: String,
}

impl Blinding {
    /// Checks `id` (GB 11643: 18 characters, date, check digit) and blinds it.
    pub fn blind(id: &str) -> Result<Blinding, ConsoleError> {
        let id = ResidentId::parse(id.trim()).map_err(|e| ConsoleError::BadId(e.to_string()))?;
        let (state, blinded) =
            PseudonymBlinding::blind(&id).map_err(|e| ConsoleError::BadId(e.to_string()))?;
        Ok(Blinding {
            state,
            blinded: hex::encode(blinded.to_bytes()),
        })
    }

    /// The blinded element to send, hex.
    pub fn blinded(&self) -> &str {
        &self.blinded
    }

    /// The pseudonym (hex) from the node's evaluated element (hex).
    pub fn finish(self, evaluated: &str) -> Result<String, ConsoleError> {
        let bytes = hex::decode(evaluated.trim())
            .map_err(|e| ConsoleError::Oprf(format!("the node's answer is not hex: {e}")))?;
        let element =
            EvaluatedId::from_bytes(&bytes).map_err(|e| ConsoleError::Oprf(e.to_string()))?;
        self.state
            .finish(&element)
            .map(|p| p.to_hex())
            .map_err(|e| ConsoleError::Oprf(e.to_string()))
    }
}
