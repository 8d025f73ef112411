//! The plaintext reference evaluation of a whole policy: every term over its department's
//! store, combined left to right. The network evaluation (one PSI per other department,
//! combined by the receiver) must give exactly this set; its tests compare against it.
//! It sees every department's list, so it is for tests and single-operator tools only.

use std::collections::BTreeSet;

use weinong_keys::SubjectPseudonym;

use super::predicate::evaluate_term;
use super::spec::{Combine, PolicyError, PolicySpec};
use crate::date::Date;
use crate::schema::Department;
use crate::store::Store;

/// `R (∩|\) D1 (∩|\) D2 …` as of `as_of`, with each term evaluated over the store given for
/// its department in `stores` (the same store may serve several departments). For
/// `Mode::Cardinality` the receiver would learn only the set's size.
///
/// Errors: no store for a department of the policy (`Evaluation`), or a term's read
/// failing.
pub async fn evaluate_plain(
    spec: &PolicySpec,
    stores: &[(Department, &Store)],
    as_of: Date,
) -> Result<BTreeSet<SubjectPseudonym>, PolicyError> {
    let store_of = |department: Department| {
        stores
            .iter()
            .find(|(d, _)| *d == department)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                PolicyError::Evaluation(format!(
                    "policy {} needs {department}'s store and none was given",
                    spec.name()
                ))
            })
    };
    let receiver = spec.receiver();
    let mut result: BTreeSet<SubjectPseudonym> =
        evaluate_term(store_of(receiver)?, receiver, spec.receiver_term(), as_of)
            .await?
            .into_iter()
            .collect();
    for (combine, term) in spec.other_terms() {
        let department = term.department();
        let set: BTreeSet<SubjectPseudonym> =
            evaluate_term(store_of(department)?, department, term, as_of)
                .await?
                .into_iter()
                .collect();
        result = match combine {
            Combine::And => result.intersection(&set).copied().collect(),
            Combine::AndNot => result.difference(&set).copied().collect(),
        };
    }
    Ok(result)
}
