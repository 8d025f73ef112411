//! Data categories of model inputs, as the ledger knows them: the rule that ties a model's
//! registration and every department's access to what the model's inputs actually read.
//!
//! Every input of a model spec declares its data category (`weinong_mpc::model::Category`,
//! part of the spec and so of the model id). Two rules follow, both enforced here:
//!
//! - **Registration**: a `RegisterModel` change is admitted only if its spec bytes are a
//!   canonical spec that compiles and its declared categories equal those of the spec's
//!   inputs ([`check_registration`]). The contracts cannot check this (they must not
//!   depend on the model compiler), so `chain` runs it on every node before the contracts
//!   apply a transaction: every node runs the same code on the same bytes, so all refuse
//!   alike and the state digest stays shared. Blocks already stored are replayed without
//!   it (they were admitted when they were built).
//! - **Contribution**: a department's access must cover the categories of the inputs it
//!   contributes ([`contributed`]), and a node contributes inputs only where the access
//!   committed on its replica covers every one of them ([`uncovered`]); `assess` checks
//!   this right before it joins the MPC session.
//!
//! `weinong_mpc` cannot name `weinong_contracts::DataCategory`, so it keeps its own list
//! with the same codes; a test here checks that both lists agree in code, name and holder.
//!
//! Must not know: storage, HTTP or the network.

use weinong_contracts::{Call, CategorySet, Change, DataCategory};
use weinong_mpc::model::{Category, Holder, Model, compile_canonical};

/// The ledger's set of `categories`; `None` if one has no ledger code (the two lists
/// disagree: a build error the tests catch).
pub fn ledger_set(categories: &[Category]) -> Option<CategorySet> {
    let list = categories
        .iter()
        .map(|c| DataCategory::from_code(c.code()))
        .collect::<Option<Vec<DataCategory>>>()?;
    Some(CategorySet::of(&list))
}

/// The categories of the inputs `holder` contributes to `model` (empty if none): what its
/// access must cover. `None` only if the category lists disagree.
pub fn contributed(model: &Model, holder: Holder) -> Option<CategorySet> {
    ledger_set(&model.categories_of(holder))
}

/// The inputs `holder` contributes to `model` whose category `committed` does not cover,
/// by name; empty when the committed access covers every one.
pub fn uncovered(model: &Model, holder: Holder, committed: CategorySet) -> Vec<String> {
    model
        .inputs()
        .iter()
        .filter(|i| i.holder == holder)
        .filter(|i| {
            DataCategory::from_code(i.category.code()).is_none_or(|c| !committed.contains(c))
        })
        .map(|i| format!("{} ({})", i.name, i.category))
        .collect()
}

/// Whether `call` may be applied as far as model registration goes: anything but a
/// `RegisterModel` passes; a registration passes only if its spec bytes are a canonical
/// spec that compiles and it declares exactly the data categories of the spec's inputs.
/// The error says what is wrong and what to do.
pub fn check_registration(call: &Call) -> Result<(), String> {
    let Call::Governance(g) = call else {
        return Ok(());
    };
    if let Change::RegisterPolicy {
        categories, spec, ..
    } = &g.change
    {
        return check_policy_registration(*categories, spec);
    }
    let Change::RegisterModel { categories, spec } = &g.change else {
        return Ok(());
    };
    let model = compile_canonical(spec).map_err(|e| format!("model registration refused: {e}"))?;
    let derived = ledger_set(&model.categories()).ok_or_else(|| {
        "model registration refused: the spec names a data category the ledger does not know"
            .to_owned()
    })?;
    if derived != *categories {
        let mut problems = Vec::new();
        let missing = derived.minus(*categories);
        if !missing.is_empty() {
            problems.push(format!("omits {missing}, which its inputs read"));
        }
        let extra = categories.minus(derived);
        if !extra.is_empty() {
            problems.push(format!("adds {extra}, which no input reads"));
        }
        return Err(format!(
            "model registration refused: model {} declares {categories} but {}; declare exactly the categories of its inputs ({derived}), as `weinong model check` lists them",
            model.name(),
            problems.join(" and ")
        ));
    }
    Ok(())
}

/// A `RegisterPolicy` is admitted only if its spec bytes are the canonical form of a policy
/// the nodes ship (they run only those) and it declares exactly the categories its terms
/// read ([`policy_categories`]).
fn check_policy_registration(categories: CategorySet, spec: &[u8]) -> Result<(), String> {
    use weinong_connectors::policy::{PolicySpec, SHIPPED};
    let shipped = SHIPPED
        .iter()
        .filter_map(|t| PolicySpec::from_toml(t).ok())
        .find(|p| p.canonical_bytes() == spec)
        .ok_or_else(|| {
            "policy registration refused: the spec is not the canonical form of a policy the nodes ship; list them with `weinong policy list`".to_owned()
        })?;
    let derived = policy_categories(&shipped);
    if derived != categories {
        return Err(format!(
            "policy registration refused: policy {} declares {categories} but its terms read {derived}; declare exactly those",
            shipped.name()
        ));
    }
    Ok(())
}

/// The data categories a policy term reads, as the ledger's set (the connectors classify
/// each feature of their schemas; a test checks that they agree with the shipped models'
/// inputs).
pub fn term_categories(term: &weinong_connectors::policy::Term) -> CategorySet {
    ledger_categories(weinong_connectors::policy::term_category_codes(term))
}

/// The categories every term of `spec` reads: what its registration declares.
pub fn policy_categories(spec: &weinong_connectors::policy::PolicySpec) -> CategorySet {
    ledger_categories(weinong_connectors::policy::policy_category_codes(spec))
}

fn ledger_categories(codes: impl IntoIterator<Item = u8>) -> CategorySet {
    let list: Vec<DataCategory> = codes
        .into_iter()
        .filter_map(DataCategory::from_code)
        .collect();
    CategorySet::of(&list)
}

#[cfg(test)]
mod tests {
    use weinong_contracts::{Approval, Governance};
    use weinong_keys::KeyPair;
    use weinong_mpc::model::{ADMISSION_V1, PERIODIC_V1, PERIODIC_V2, canonical_form, compile};

    use super::*;

    #[test]
    fn the_model_category_list_is_the_ledgers() {
        assert_eq!(Category::ALL.len(), DataCategory::ALL.len());
        for (m, l) in Category::ALL.iter().zip(DataCategory::ALL) {
            assert_eq!(m.code(), l.code(), "{m}");
            // The CLI reads labels with `_`/`-` as spaces; the spec names are those labels.
            assert_eq!(
                m.as_str().replace('_', " "),
                l.label().replace('-', " "),
                "{m}"
            );
            assert_eq!(m.holder(), l.holder(), "{m}");
        }
    }

    fn registration(source: &str, categories: CategorySet) -> Call {
        let key = KeyPair::generate();
        Call::Governance(Governance {
            seq: 0,
            change: Change::RegisterModel {
                categories,
                spec: canonical_form(source).expect("canonical"),
            },
            approvals: vec![Approval {
                admin: key.key_id(),
                signature: key.sign(b"not checked here"),
            }],
        })
    }

    fn set(categories: &[DataCategory]) -> CategorySet {
        CategorySet::of(categories)
    }

    #[test]
    fn a_registration_must_declare_exactly_its_inputs_categories() {
        use DataCategory as C;
        let admission = set(&[
            C::AbilityAssessment,
            C::VitalSigns,
            C::Falls,
            C::Screens,
            C::InsuranceClaims,
        ]);
        assert_eq!(
            check_registration(&registration(ADMISSION_V1, admission)),
            Ok(())
        );
        let periodic = set(&[
            C::AbilityAssessment,
            C::VitalSigns,
            C::Falls,
            C::InsuranceClaims,
            C::HospitalStays,
        ]);
        assert_eq!(
            check_registration(&registration(PERIODIC_V1, periodic)),
            Ok(())
        );
        let trends = set(&[C::AbilityAssessment, C::VitalSigns, C::InsuranceClaims]);
        assert_eq!(
            check_registration(&registration(PERIODIC_V2, trends)),
            Ok(())
        );

        let omits = admission.minus(set(&[C::Screens]));
        let e = check_registration(&registration(ADMISSION_V1, omits)).expect_err("omits");
        assert!(e.contains("omits {screens}"), "{e}");
        let extra = admission.union(set(&[C::Medications]));
        let e = check_registration(&registration(ADMISSION_V1, extra)).expect_err("extra");
        assert!(e.contains("adds {medications}"), "{e}");

        // Bytes that are not a canonical spec cannot be registered at all.
        let mut raw = registration(ADMISSION_V1, admission);
        if let Call::Governance(g) = &mut raw
            && let Change::RegisterModel { spec, .. } = &mut g.change
        {
            *spec = ADMISSION_V1.as_bytes().to_vec();
        }
        let e = check_registration(&raw).expect_err("raw TOML");
        assert!(e.contains("not a canonical model spec"), "{e}");
    }

    #[test]
    fn contributed_and_uncovered_follow_the_inputs() {
        let model = compile(ADMISSION_V1).expect("shipped");
        let health = contributed(&model, Holder::Health).expect("known");
        assert_eq!(
            health,
            set(&[
                DataCategory::VitalSigns,
                DataCategory::Falls,
                DataCategory::Screens
            ])
        );
        assert!(uncovered(&model, Holder::Health, health).is_empty());
        let without_screens = health.minus(set(&[DataCategory::Screens]));
        let left = uncovered(&model, Holder::Health, without_screens);
        assert!(left.iter().any(|i| i == "mmse_total (screens)"), "{left:?}");
        assert!(left.iter().all(|i| i.ends_with("(screens)")), "{left:?}");
        assert_eq!(
            uncovered(&model, Holder::Health, CategorySet::EMPTY).len(),
            model
                .inputs()
                .iter()
                .filter(|i| i.holder == Holder::Health)
                .count()
        );
    }

    /// The connectors' classification of features agrees with the categories the shipped
    /// models declare for the inputs that read those features.
    #[test]
    fn policy_feature_categories_agree_with_the_shipped_models() {
        use weinong_connectors::policy::feature_category;
        use weinong_mpc::model::InputSource;
        let mut checked = 0;
        for text in weinong_mpc::model::SHIPPED {
            let model = compile(text).expect("shipped model");
            for input in model.inputs() {
                let feature = match &input.source {
                    InputSource::Column { column, .. } => column.clone(),
                    InputSource::KnownFlag(_) => continue,
                };
                let department = match input.holder {
                    Holder::CivilAffairs => weinong_keys::Department::CivilAffairs,
                    Holder::Health => weinong_keys::Department::Health,
                    Holder::MedicalInsurance => weinong_keys::Department::MedicalInsurance,
                };
                assert_eq!(
                    feature_category(department, &feature),
                    input.category.code(),
                    "{} reads {feature} as {}",
                    model.name(),
                    input.category
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} inputs checked");
    }
}
