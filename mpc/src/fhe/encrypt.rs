//! The department side: one subject's inputs encrypted under the requester's compact public
//! key, as one packed compact ciphertext list.

use tfhe::CompactCiphertextList;
use tfhe::safe_serialization::safe_serialize;

use crate::model::{Holder, InputError, Model};

use super::cipher::push_value;
use super::error::FheError;
use super::keys::EncryptionKey;
use super::limits::INPUT_LIST_BYTES_MAX;
use super::plan::Plan;

/// Encrypts `values`, the model inputs `holder` holds for one subject in the order of
/// [`Plan::holder_inputs`], and returns the list in tfhe's safe serialization. Every value
/// is checked against its input's declared range first.
pub fn encrypt_inputs(
    model: &Model,
    plan: &Plan,
    holder: Holder,
    values: &[i64],
    key: &EncryptionKey,
) -> Result<Vec<u8>, FheError> {
    let indexes = Plan::holder_inputs(model, holder);
    if values.len() != indexes.len() {
        return Err(FheError::Input(InputError::Shape {
            reason: format!(
                "{} values for the {} inputs {holder} holds",
                values.len(),
                indexes.len()
            ),
        }));
    }
    let mut builder = CompactCiphertextList::builder(key.key());
    for (index, value) in indexes.iter().zip(values) {
        let input = &model.inputs()[*index];
        if !input.range.contains(*value) {
            return Err(FheError::Input(InputError::OutOfRange {
                file: format!("{holder} inputs"),
                line: 0,
                column: input.name.clone(),
                value: *value,
                range: input.range,
                decimals: 0,
            }));
        }
        push_value(&mut builder, plan.input_kind(*index), *value)?;
    }
    // Packed: two 2-bit blocks per LWE ciphertext, half the bytes on the wire; the
    // evaluator unpacks them while expanding.
    let list = builder.build_packed();
    let mut out = Vec::new();
    safe_serialize(&list, &mut out, INPUT_LIST_BYTES_MAX)
        .map_err(|e| FheError::Tfhe(e.to_string()))?;
    Ok(out)
}
