//! The data categories a policy term reads, as the ledger's category codes
//! (`weinong_contracts::DataCategory::code`): what a department's access for a run records
//! and what a policy's registration declares. Codes, not the ledger's type, because this
//! crate knows the department schemas but not the ledger; the node checks (in a test) that
//! the features the shipped models read are classified here as the models declare them.

use std::collections::BTreeSet;

use super::spec::{Condition, PolicySpec, Term};
use crate::schema::Department;

/// Ledger category codes (the contracts' `DataCategory`).
pub mod code {
    /// 能力评估 (civil affairs).
    pub const ABILITY_ASSESSMENT: u8 = 0;
    /// Vital signs and body measures (health).
    pub const VITAL_SIGNS: u8 = 3;
    /// Diagnoses (health).
    pub const DIAGNOSES: u8 = 4;
    /// Falls (health).
    pub const FALLS: u8 = 5;
    /// Screening instruments (health: MMSE, AD8, Morse, Braden, MNA).
    pub const SCREENS: u8 = 6;
    /// Insurance claims (medical insurance).
    pub const INSURANCE_CLAIMS: u8 = 7;
    /// Hospital stays (medical insurance).
    pub const HOSPITAL_STAYS: u8 = 8;
    /// Medications (medical insurance).
    pub const MEDICATIONS: u8 = 9;
    /// Long-term-care insurance (medical insurance).
    pub const LONG_TERM_CARE: u8 = 10;
    /// The death register (civil affairs).
    pub const DEATH_REGISTER: u8 = 11;
}

/// The category of one feature or attribute of `department`.
pub fn feature_category(department: Department, feature: &str) -> u8 {
    let has = |parts: &[&str]| parts.iter().any(|p| feature.contains(p));
    match department {
        Department::CivilAffairs => {
            if has(&["death"]) {
                code::DEATH_REGISTER
            } else {
                code::ABILITY_ASSESSMENT
            }
        }
        Department::Health => {
            if has(&["fall"]) {
                code::FALLS
            } else if has(&["mmse", "ad8", "morse", "braden", "mna"]) {
                code::SCREENS
            } else if has(&["icd_", "cci_", "diagnos"]) {
                code::DIAGNOSES
            } else {
                code::VITAL_SIGNS
            }
        }
        Department::MedicalInsurance => {
            if has(&["ltc"]) {
                code::LONG_TERM_CARE
            } else if has(&["hospital"]) {
                code::HOSPITAL_STAYS
            } else if has(&["medication"]) {
                code::MEDICATIONS
            } else {
                code::INSURANCE_CLAIMS
            }
        }
    }
}

/// The category codes every term of `spec` reads (ascending): what its registration
/// declares.
pub fn policy_category_codes(spec: &PolicySpec) -> BTreeSet<u8> {
    spec.terms().iter().flat_map(term_category_codes).collect()
}

/// The category codes `term` reads (ascending).
pub fn term_category_codes(term: &Term) -> BTreeSet<u8> {
    let department = term.department();
    term.conditions()
        .iter()
        .map(|c| match (c, department) {
            (Condition::Diagnosis { .. }, Department::Health) => code::DIAGNOSES,
            (Condition::Diagnosis { .. }, _) => code::INSURANCE_CLAIMS,
            (c, d) => feature_category(d, c.feature().unwrap_or_default()),
        })
        .collect()
}
