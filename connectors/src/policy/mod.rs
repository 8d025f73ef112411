//! 免申即享 ("benefits without applying") policies as data: which subjects a *receiving*
//! department should learn about, by a condition that spans departments.
//!
//! A policy is a TOML file (`connectors/policies/*.toml`, shipped ones in [`SHIPPED`]):
//!
//! ```toml
//! name = "aged-80-alone-dementia"
//! title_zh = "80岁以上独居且近两年有痴呆诊断"
//! title_en = "Aged 80+, living alone, dementia diagnosed in the last 2 years"
//! receiver = "civil"
//! legal_basis = "public_interest"   # statutory_duty | public_interest | consent
//! mode = "intersection"             # or "cardinality"
//! [[terms]]                         # the receiver's own predicate comes first
//! department = "civil"
//! all = [ { feature = "age_years", op = ">=", value = 80 },
//!         { feature = "living_alone", op = "=", value = 1 } ]
//! [[terms]]
//! department = "insurance"
//! combine = "and"                   # "and" (∩) or "and_not" (\)
//! all = [ { diagnosis = ["F00", "F01", "F02", "F03", "G30"], within_months = 24 } ]
//! ```
//!
//! # Shape, and why
//!
//! The expression is always `R (∩|\) D1 (∩|\) D2 …`, evaluated left to right: `R` is the
//! receiver's own set (its term comes first), each other department appears at most once,
//! and each of its sets is combined with the running result by `and` (∩) or `and_not` (\).
//! Because ∩ and \ with a fixed left operand distribute over the running result
//! (`(R op1 D1) op2 D2 = R ∩ f1(D1) ∩ f2(D2)` with `f(D) = D` or its complement), the
//! receiver can run **one two-party PSI per other department** against its own set `R`
//! and combine the answers locally: no intermediate list ever reaches a department other
//! than the receiver, and each other department sees only what a PSI with `R` shows it.
//! `mode = "cardinality"` (the receiver learns only the count) is allowed with exactly one
//! other department, where a single PSI-cardinality gives `|R ∩ D1|` (or `|R| − |R ∩ D1|`).
//!
//! # Conditions
//!
//! A term holds `all = [...]`, a conjunction (order and duplicates do not matter) of:
//! - `{ feature = "x", op = "<op>", value = N }` with `op` one of `=`, `!=`, `<`, `<=`, `>`,
//!   `>=`; `{ feature = "x", in = [N, ...] }`; `{ feature = "x", known = true|false }`.
//!   Features are those [`crate::features::load_features`] computes for the department as of
//!   the evaluation date ([`crate::features::feature_names`]), plus a few register fields that
//!   no model reads ([`spec::attribute_names`]: civil affairs' `living_alone` and
//!   `care_grade` from the latest assessment on or before the date and `months_since_death`
//!   from its death-register date, medical insurance's `ltc_insured` from the latest
//!   claim). **An unknown value never satisfies a comparison or
//!   an `in`** (not even `!=`); only `known = false` selects it. A subject the department
//!   lists but holds no row for as of the date has every value unknown.
//! - `{ diagnosis = ["F00", "G30", ...], within_months = N }`: some record of the department
//!   dated on or before the date and fewer than `N` whole months before it (months counted
//!   like an age, as the features count them) carries a code with one of these ICD-10
//!   prefixes (`F00` matches `F00` and `F00.x`; `F00.1` only itself). Records are medical
//!   insurance's claims (`diagnoses`, `admit_date`) and health's check-ups (`diagnoses`,
//!   `exam_date`); civil affairs holds no diagnoses.
//!
//! Not in the language (kept small rather than half-working): disjunctions inside a term,
//! comparisons between two features, counts of records, free-text or date-valued fields.
//!
//! # Parts
//!
//! - [`spec`]: parsing, validation (typed [`PolicyError`]s naming the field and what to do),
//!   the canonical byte encoding and [`PolicyId`] (SM3 of it).
//! - [`predicate`]: one department's term over its own store ([`evaluate_term`]; with a
//!   chosen page size [`evaluate_term_in_pages`]), in pages of
//!   [`crate::limits::FEATURE_CHUNK_SUBJECTS`] subjects listed by [`subjects_page`].
//! - [`plain`]: the plaintext reference evaluation of a whole policy over all three stores
//!   ([`evaluate_plain`]), which the network (PSI) tests compare against.
//!
//! Must not know: the ledger, networking, the PSI protocol or any `mpc` type. Evaluation
//! results are personal data (lists of pseudonyms); nothing here logs them.

pub mod categories;
pub mod plain;
pub mod predicate;
pub mod spec;

pub use categories::{feature_category, policy_category_codes, term_category_codes};
pub use plain::evaluate_plain;
pub use predicate::{evaluate_term, evaluate_term_in_pages, subjects_page};
pub use spec::{
    Combine, Condition, LegalBasis, Mode, Op, PolicyError, PolicyId, PolicySpec, Term,
    attribute_names,
};

/// The shipped policies' TOML texts (`connectors/policies/`): aged 80+ living alone with a
/// recent dementia diagnosis; centenarians with a check-up in the last year; care grade 2+
/// without long-term-care insurance; and, in cardinality mode, how many residents aged 80+
/// living alone fell in the 12 months before their latest check-up; and, received by
/// medical insurance, which of its long-term-care insured civil affairs' death register
/// records as deceased (payments to stop).
pub const SHIPPED: [&str; 5] = [
    include_str!("../../policies/aged-80-alone-dementia.toml"),
    include_str!("../../policies/centenarians.toml"),
    include_str!("../../policies/care-grade-without-ltc.toml"),
    include_str!("../../policies/aged-80-alone-fell-count.toml"),
    include_str!("../../policies/deceased-ltc-insured.toml"),
];
