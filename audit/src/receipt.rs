//! The requester's receipt (`weinong-assessment-receipt/1`): the result it was told and
//! the nonce that open the result commitment it recorded on the ledger, and that opening
//! ([`Receipt::open`]).

use serde::{Deserialize, Serialize};
use weinong_contracts::{ModelId, RequestId, ResultCommitment};

use crate::error::hex32;

/// Format tag of a receipt file.
pub const RECEIPT_FORMAT: &str = "weinong-assessment-receipt/1";

/// What the requester keeps: enough to recompute the commitment on the ledger. `outputs`
/// is one row per subject, each in the model's output order (`output_names`). Written by
/// `weinong assess`; read by the auditor (which accepts a receipt without `format`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    /// [`RECEIPT_FORMAT`].
    #[serde(default)]
    pub format: String,
    /// Request id, hex.
    pub request: String,
    /// Model id, hex.
    pub model: String,
    /// Subjects in the result.
    pub len: u32,
    /// The model's output names, in order.
    pub output_names: Vec<String>,
    /// One row of outputs per subject.
    pub outputs: Vec<Vec<i64>>,
    /// The commitment nonce, hex (keep it secret: with it the result can be confirmed).
    pub nonce: String,
    /// The commitment recorded on the ledger, hex.
    pub commitment: String,
}

impl Receipt {
    /// Commits to `rows` (one per subject, values named `names`) for `request` and
    /// `model` with `nonce` (32 random bytes the caller draws and keeps secret): the
    /// receipt, whose `commitment` is what the requester records on the ledger. `None`
    /// when there are more rows than a `u32` counts.
    pub fn commit(
        request: &RequestId,
        model: &ModelId,
        names: Vec<String>,
        rows: Vec<Vec<i64>>,
        nonce: &[u8; 32],
    ) -> Option<(Receipt, ResultCommitment)> {
        let flat: Vec<i64> = rows.iter().flatten().copied().collect();
        let len = u32::try_from(rows.len()).ok()?;
        let commitment = ResultCommitment::of(request, model, len, &flat, nonce);
        let receipt = Receipt {
            format: RECEIPT_FORMAT.to_owned(),
            request: request.to_hex(),
            model: model.to_hex(),
            len,
            output_names: names,
            outputs: rows,
            nonce: hex::encode(nonce),
            commitment: commitment.to_hex(),
        };
        Some((receipt, commitment))
    }

    /// Reads a receipt from its JSON.
    pub fn from_json(text: &str) -> Result<Receipt, crate::AuditError> {
        serde_json::from_str(text).map_err(|e| crate::AuditError::Receipt(e.to_string()))
    }

    /// The commitment this receipt's result and nonce give, checked against the receipt's
    /// own fields and against the request `id` and `model` it must be for; or what is
    /// wrong.
    pub fn open(&self, id: &RequestId, model: &ModelId) -> Result<ResultCommitment, String> {
        let request = hex32("receipt request", &self.request).map_err(|e| e.to_string())?;
        if request != *id.as_bytes() {
            return Err(format!(
                "the receipt is for request {}, not {id}",
                self.request
            ));
        }
        let receipt_model = hex32("receipt model", &self.model).map_err(|e| e.to_string())?;
        if receipt_model != *model.as_bytes() {
            return Err(format!(
                "the receipt is for model {}, the request uses {model}",
                self.model
            ));
        }
        let rows = u32::try_from(self.outputs.len()).map_err(|_| "too many rows".to_owned())?;
        if rows != self.len {
            return Err(format!("len is {}, but outputs has {rows} rows", self.len));
        }
        if let Some(row) = self
            .outputs
            .iter()
            .find(|o| o.len() != self.output_names.len())
        {
            return Err(format!(
                "a row has {} outputs, output_names has {}",
                row.len(),
                self.output_names.len()
            ));
        }
        let nonce = hex32("receipt nonce", &self.nonce).map_err(|e| e.to_string())?;
        let outputs: Vec<i64> = self.outputs.iter().flatten().copied().collect();
        let commitment = ResultCommitment::of(id, model, self.len, &outputs, &nonce);
        let claimed = hex32("receipt commitment", &self.commitment).map_err(|e| e.to_string())?;
        if claimed != *commitment.as_bytes() {
            return Err(format!(
                "its result and nonce give {commitment}, not its own commitment {}",
                self.commitment
            ));
        }
        Ok(commitment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_receipt_opens_and_an_edited_one_does_not() {
        let (id, model) = (RequestId::from_bytes([1; 32]), ModelId::from_bytes([2; 32]));
        let names = vec!["a".to_owned(), "b".to_owned()];
        let (receipt, commitment) =
            Receipt::commit(&id, &model, names, vec![vec![3, 4]], &[9; 32]).expect("small");
        assert_eq!(receipt.format, RECEIPT_FORMAT);
        assert_eq!(receipt.open(&id, &model), Ok(commitment));
        let mut edited = receipt.clone();
        edited.outputs = vec![vec![3, 5]];
        assert!(
            edited
                .open(&id, &model)
                .unwrap_err()
                .contains("not its own commitment")
        );
        let other = RequestId::from_bytes([7; 32]);
        assert!(
            receipt
                .open(&other, &model)
                .unwrap_err()
                .contains("is for request")
        );
        let json = serde_json::to_string(&receipt).expect("json");
        assert_eq!(
            Receipt::from_json(&json).expect("reads").commitment,
            receipt.commitment
        );
    }
}
