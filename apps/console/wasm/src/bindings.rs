//! The `#[wasm_bindgen]` surface the page imports (`pkg/weinong_console_wasm.js`). Results
//! cross as JSON text (the page parses them); a refusal is a JS `Error` whose message is
//! `CODE: text` with [`ConsoleError::code`], which the page maps to Chinese.

use wasm_bindgen::prelude::*;

use crate::{Blinding, ConsoleError, ConsoleKey, GrantForm, OpenInput};

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
        json(
            &self
                .0
                .sign(consortium, node, method, target, body, whole(time_ms))
                .map_err(js_error)?,
        )
    }
}

/// A JS number of milliseconds or a nonce: an exact integer far below 2^53.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(n: f64) -> u64 {
    n.max(0.0) as u64
}

#[wasm_bindgen(js_class = ConsoleKey)]
impl JsConsoleKey {
    /// A consent grant (`form`: JSON of [`GrantForm`]) as a signed transaction, JSON
    /// `{hex, hash, consent}`.
    #[wasm_bindgen(js_name = consentGrant)]
    pub fn consent_grant(&self, form: &str, nonce: f64, time_ms: f64) -> Result<String, JsError> {
        let form: GrantForm = serde_json::from_str(form)
            .map_err(|e| js_error(ConsoleError::Form(format!("the grant form: {e}"))))?;
        json(
            &self
                .0
                .consent_grant(&form, whole(nonce), whole(time_ms))
                .map_err(js_error)?,
        )
    }

    /// The opening of a run of a policy (hex id) as a signed transaction, JSON
    /// `{hex, hash, id}` (`id`: the new run's id).
    #[wasm_bindgen(js_name = policyRun)]
    pub fn policy_run(&self, policy: &str, nonce: f64, time_ms: f64) -> Result<String, JsError> {
        json(
            &self
                .0
                .policy_run(policy, whole(nonce), whole(time_ms))
                .map_err(js_error)?,
        )
    }

    /// The withdrawal of a consent (hex id) as a signed transaction, JSON `{hex, hash, consent}`.
    #[wasm_bindgen(js_name = consentWithdraw)]
    pub fn consent_withdraw(
        &self,
        consent: &str,
        nonce: f64,
        time_ms: f64,
    ) -> Result<String, JsError> {
        json(
            &self
                .0
                .consent_withdraw(consent, whole(nonce), whole(time_ms))
                .map_err(js_error)?,
        )
    }
}

#[wasm_bindgen(js_class = ConsoleKey)]
impl JsConsoleKey {
    /// An assessment request for a subject (hex pseudonym) as a signed transaction, JSON
    /// `{hex, hash, id}` (`id`: the new request id).
    #[wasm_bindgen(js_name = assessmentRequest)]
    pub fn assessment_request(
        &self,
        model: &str,
        subject: &str,
        nonce: f64,
        time_ms: f64,
    ) -> Result<String, JsError> {
        json(
            &self
                .0
                .assessment_request(model, subject, whole(nonce), whole(time_ms))
                .map_err(js_error)?,
        )
    }

    /// Checks, opens and commits to a served result (`input`: JSON of [`OpenInput`]);
    /// JSON of [`crate::Opened`].
    #[wasm_bindgen(js_name = openResult)]
    pub fn open_result(&self, input: &str) -> Result<String, JsError> {
        let input: OpenInput = serde_json::from_str(input)
            .map_err(|e| js_error(ConsoleError::Form(format!("the served result: {e}"))))?;
        json(&self.0.open_result(&input).map_err(js_error)?)
    }

    /// The result commitment's record as a signed transaction, JSON `{hex, hash, id}`.
    #[wasm_bindgen(js_name = resultRecord)]
    pub fn result_record(
        &self,
        request: &str,
        model: &str,
        commitment: &str,
        nonce: f64,
        time_ms: f64,
    ) -> Result<String, JsError> {
        json(
            &self
                .0
                .result_record(request, model, commitment, whole(nonce), whole(time_ms))
                .map_err(js_error)?,
        )
    }
}

#[wasm_bindgen(js_class = ConsoleKey)]
impl JsConsoleKey {
    /// The proposal file with this admin's approval added, JSON.
    #[wasm_bindgen(js_name = approveProposal)]
    pub fn approve_proposal(&self, proposal: &str) -> Result<String, JsError> {
        self.0.approve_proposal(proposal).map_err(js_error)
    }

    /// The governance transaction of a proposal file, JSON `{hex, hash, id}` (`id`: its
    /// sequence number).
    #[wasm_bindgen(js_name = governanceTx)]
    pub fn governance_tx(
        &self,
        proposal: &str,
        nonce: f64,
        time_ms: f64,
    ) -> Result<String, JsError> {
        json(
            &self
                .0
                .governance_tx(proposal, whole(nonce), whole(time_ms))
                .map_err(js_error)?,
        )
    }
}

/// A role-binding proposal file without approvals, JSON (see [`crate::bind_role_proposal`]);
/// `valid_until` 0 for none.
#[wasm_bindgen(js_name = bindRoleProposal)]
pub fn bind_role_proposal(
    consortium: &str,
    seq: f64,
    public: &str,
    role: &str,
    valid_from: f64,
    valid_until: f64,
) -> Result<String, JsError> {
    let until = (valid_until > 0.0).then(|| whole(valid_until));
    let p = crate::bind_role_proposal(
        consortium,
        whole(seq),
        public,
        role,
        whole(valid_from),
        until,
    )
    .map_err(js_error)?;
    json(&p)
}

/// What a proposal file proposes, JSON of [`crate::ProposalView`].
#[wasm_bindgen(js_name = viewProposal)]
pub fn view_proposal(proposal: &str) -> Result<String, JsError> {
    json(&crate::view_proposal(proposal).map_err(js_error)?)
}

/// One ID number blinded for the pseudonym OPRF (see [`Blinding`]).
#[wasm_bindgen(js_name = Blinding)]
pub struct JsBlinding(Option<Blinding>);

#[wasm_bindgen(js_class = Blinding)]
impl JsBlinding {
    /// Checks and blinds `id`.
    pub fn blind(id: &str) -> Result<JsBlinding, JsError> {
        Blinding::blind(id)
            .map(|b| JsBlinding(Some(b)))
            .map_err(js_error)
    }

    /// The blinded element, hex.
    pub fn blinded(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(String::new, |b| b.blinded().to_owned())
    }

    /// The pseudonym (hex) from the node's evaluated element; once.
    pub fn finish(&mut self, evaluated: &str) -> Result<String, JsError> {
        let blinding = self
            .0
            .take()
            .ok_or_else(|| js_error(ConsoleError::Oprf("this blinding was used already".into())))?;
        blinding.finish(evaluated).map_err(js_error)
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

/// A certified head's summary as JSON, if its certificate holds (see [`crate::verify_head`]).
#[wasm_bindgen(js_name = verifyHead)]
pub fn verify_head(head: &str) -> Result<String, JsError> {
    json(&crate::verify_head(head).map_err(js_error)?)
}

/// Whether the saved head `old`'s log is a prefix of `new`'s, JSON of [`crate::Consistency`].
#[wasm_bindgen(js_name = checkConsistency)]
pub fn check_consistency(old: &str, new: &str, proof: &str) -> Result<String, JsError> {
    json(&crate::check_consistency(old, new, proof).map_err(js_error)?)
}
