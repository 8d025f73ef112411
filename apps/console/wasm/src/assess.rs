//! The care home's side of one assessment, in the page: the request transaction, then —
//! once the three departments' sealed output shares are served — the requester's checks
//! (`weinong_audit::requester`: signatures, signers' standing, bindings to this request and
//! subject), opening with the logged-in key, reconstruction (`weinong-mpc`), and the
//! result commitment with a fresh nonce, exactly as `weinong assess request --wait` does.
//! The page fetches what the checks need (the consortium id, the request's history, the
//! signers' key records) and passes it in; nothing here touches the network.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weinong_api::dto::{HistoryBody, KeyBody, SealedShareBody};
use weinong_audit::Receipt;
use weinong_audit::requester::{RequestFacts, ServedShare, SignerFacts, check_shares};
use weinong_contracts::{
    AssessmentRequest, Call, ModelId, Purpose, RequestId, ResultCommitment, ResultRecord,
};
use weinong_keys::SubjectPseudonym;
use weinong_mpc::model::{Model, OutputShare, SHIPPED, compile, reconstruct, subjects_digest};

use crate::ConsoleError;
use crate::key::{ConsoleKey, hex32};
use crate::tx::{SignedTx, random32};

/// What the page passes to open a result.
#[derive(Debug, Deserialize)]
pub struct OpenInput {
    /// The request id, hex.
    pub request: String,
    /// The shipped model's name (`admission-v1`, …).
    pub model: String,
    /// The subject's pseudonym the request was made for, hex (binds the shares to them).
    pub subject: String,
    /// The consortium id, hex (`GET /v1/governance`).
    pub consortium: String,
    /// `GET /v1/requests/{id}/history`.
    pub history: HistoryBody,
    /// `GET /v1/assessments/{id}`'s three sealed shares.
    pub shares: Vec<SealedShareBody>,
    /// `GET /v1/keys/{id}` of each share's signer that the ledger knows.
    pub signers: Vec<KeyBody>,
}

/// One output of the result, as the report shows it.
#[derive(Debug, Serialize)]
pub struct OutputValue {
    /// The model's output name.
    pub name: String,
    /// Its value.
    pub value: i64,
    /// The model's documentation of it (with the value codes).
    pub doc: String,
}

/// What became of opening a result.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Opened {
    /// The result, checked and reconstructed, with the receipt to keep and the
    /// commitment to record.
    Result {
        /// The outputs in the model's order.
        outputs: Vec<OutputValue>,
        /// The receipt (result and nonce: health data, kept by the care home only).
        receipt: Receipt,
        /// The commitment to record on the ledger, hex.
        commitment: String,
    },
    /// The served shares were refused; nothing was opened; why.
    Refused {
        /// The refusal, naming the party and the check.
        reason: String,
    },
}

/// A shipped model by name.
pub fn shipped_model(name: &str) -> Result<Model, ConsoleError> {
    let mut names = Vec::new();
    for source in SHIPPED {
        let model =
            compile(source).map_err(|e| ConsoleError::Form(format!("shipped model: {e}")))?;
        if model.name() == name {
            return Ok(model);
        }
        names.push(model.name().to_owned());
    }
    Err(ConsoleError::Form(format!(
        "unknown model {name:?}; one of {}",
        names.join(", ")
    )))
}

impl ConsoleKey {
    /// An assessment request for `subject` (hex pseudonym) with a fresh request id; the
    /// purpose follows the model (periodic models: periodic assessment).
    pub fn assessment_request(
        &self,
        model: &str,
        subject: &str,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        let model = shipped_model(model)?;
        let purpose = if model.name().starts_with("periodic") {
            Purpose::PeriodicAssessment
        } else {
            Purpose::AdmissionAssessment
        };
        let request = RequestId::from_bytes(random32()?);
        let call = Call::AssessmentRequest(AssessmentRequest {
            request,
            subject: SubjectPseudonym::from_bytes(hex32("subject pseudonym", subject)?),
            purpose,
            model: ModelId::from_bytes(model.id().0),
        });
        self.sign_call(&call, request.to_hex(), nonce, time_ms)
    }

    /// Checks and opens the three served shares, reconstructs the outputs and commits to
    /// them with a fresh nonce.
    pub fn open_result(&self, input: &OpenInput) -> Result<Opened, ConsoleError> {
        let model = shipped_model(&input.model)?;
        let request = RequestId::from_bytes(hex32("request id", &input.request)?);
        let subject = hex32("subject pseudonym", &input.subject)?;
        let consortium = hex32("consortium id", &input.consortium)?;
        let served: Vec<ServedShare> =
            match input.shares.iter().map(ServedShare::from_body).collect() {
                Ok(served) => served,
                Err(refusal) => {
                    return Ok(Opened::Refused {
                        reason: refusal.to_string(),
                    });
                }
            };
        let facts = RequestFacts::from_history(consortium, *request.as_bytes(), &input.history)
            .map_err(|e| ConsoleError::Form(format!("request {request}: {e}")))?;
        let mut signers = BTreeMap::new();
        for key in &input.signers {
            let id = hex32("signer key id", &key.key_id)?;
            let facts = SignerFacts::from_key(key)
                .map_err(|e| ConsoleError::Form(format!("key {}: {e}", key.key_id)))?;
            signers.insert(weinong_keys::KeyId::from_bytes(id), facts);
        }
        let shares = match check_shares(
            &served,
            &facts,
            &signers,
            self.key_pair(),
            Some(subjects_digest(std::iter::once(&subject))),
            |b| OutputShare::from_bytes(b).map_err(|e| e.to_string()),
            OutputShare::binding,
        ) {
            Ok(shares) => shares,
            Err(refusal) => {
                return Ok(Opened::Refused {
                    reason: refusal.to_string(),
                });
            }
        };
        let outputs = reconstruct(&model, &shares).map_err(|e| {
            ConsoleError::Form(format!("the output shares do not fit together: {e}"))
        })?;
        let row = outputs.row(0);
        let names: Vec<String> = model.outputs().iter().map(|o| o.name.clone()).collect();
        let nonce = zeroize::Zeroizing::new(random32()?);
        let model_id = ModelId::from_bytes(model.id().0);
        let (receipt, commitment) =
            Receipt::commit(&request, &model_id, names, vec![row.clone()], &nonce)
                .ok_or_else(|| ConsoleError::Form("too many subjects".into()))?;
        let outputs = model
            .outputs()
            .iter()
            .zip(row)
            .map(|(o, value)| OutputValue {
                name: o.name.clone(),
                value,
                doc: o.doc.clone(),
            })
            .collect();
        Ok(Opened::Result {
            outputs,
            receipt,
            commitment: commitment.to_hex(),
        })
    }

    /// The result record: the commitment (hex) to request `request`'s result.
    pub fn result_record(
        &self,
        request: &str,
        model: &str,
        commitment: &str,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        let model = shipped_model(model)?;
        let request = RequestId::from_bytes(hex32("request id", request)?);
        let call = Call::ResultRecord(ResultRecord {
            request,
            model: ModelId::from_bytes(model.id().0),
            commitment: ResultCommitment::from_bytes(hex32("commitment", commitment)?),
        });
        self.sign_call(&call, request.to_hex(), nonce, time_ms)
    }
}
