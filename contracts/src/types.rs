//! The vocabulary of the contracts: block time, ids, roles, purposes and data categories.
//!
//! Purposes, data categories, roles and failure reasons are closed enums with documented
//! one-byte codes: a new one is a new payload format version, never a free-text field.

use std::fmt;

use weinong_ledger::DecodeError;

/// When a transaction is applied: the block's height and its time (milliseconds since the
/// Unix epoch, as the block header says). Contracts read no other clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockTime {
    /// Block height.
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

impl BlockTime {
    /// A block time.
    pub const fn new(height: u64, time_ms: u64) -> Self {
        Self { height, time_ms }
    }
}

impl fmt::Display for BlockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {} (time {} ms)", self.height, self.time_ms)
    }
}

/// Contract ids: [`weinong_keys::digest_id!`] types whose parse error is
/// `DecodeError::Invalid` naming the id, like every other field the contracts decode.
macro_rules! contract_ids {
    ($($(#[$meta:meta])* $name:ident, $what:literal;)+) => {$(
        weinong_keys::digest_id! {
            $(#[$meta])*
            pub struct $name([u8; 32]);
            parse_error(DecodeError, |_| DecodeError::Invalid {
                what: $what,
                reason: "expected 64 hex characters",
            });
        }
    )+};
}

contract_ids! {
    /// A consent's id, chosen by the registrar (e.g. SM3 of the consent form's evidence and
    /// a counter); unique on the ledger.
    ConsentId, "consent id";
    /// An assessment request's id, chosen by the requesting institution; unique.
    RequestId, "request id";
}

/// A registered model: SM3 of its canonical spec bytes (one type with the model
/// compiler's, defined in `weinong-keys`).
pub use weinong_keys::ModelId;

contract_ids! {
    /// SM3 of evidence kept off the ledger (a signed consent form, a withdrawal request).
    EvidenceHash, "evidence hash";
    /// SM3 of the list of fields a node read for one access (kept off the ledger).
    FieldsHash, "fields hash";
    /// A commitment to an assessment result (the result itself goes only to the requester).
    ResultCommitment, "result commitment";
}

contract_ids! {
    /// A registered 免申即享 policy: SM3 of its canonical spec bytes (the spec is defined
    /// by `weinong-connectors`' policy module and opaque here).
    PolicyId, "policy id";
    /// A policy run's id, chosen by the receiving department; unique on the ledger.
    RunId, "policy run id";
    /// The receiver's commitment to a completed run's matches: the root of a salted SM3
    /// Merkle tree ([`crate::policy_matches`]); shows nothing of who or how many matched.
    MatchesRoot, "policy matches root";
}

/// Domain tag that opens the bytes a [`ResultCommitment`] hashes.
pub const RESULT_COMMITMENT_TAG: &[u8] = b"weinong-result-v1";

impl ResultCommitment {
    /// The commitment to an assessment result: SM3 over
    ///
    /// ```text
    /// "weinong-result-v1" (17 ASCII bytes) ‖ request[32] ‖ model[32] ‖ len:u32
    ///   ‖ count:u32 ‖ output:i64 × count ‖ nonce[32]
    /// ```
    ///
    /// integers big-endian (`i64` two's complement). `len` is the number of subjects the
    /// request assessed; `outputs` is row-major: subject by subject, each subject's outputs
    /// in the model's declaration order, so `count` = `len` × outputs per subject. The
    /// nonce is 32 random bytes that only the requester holds: without it the small range
    /// of assessment outputs could be searched from the commitment. Anyone can recompute
    /// it with `openssl dgst -sm3` over the same bytes.
    ///
    /// `count` is `outputs.len()`, saturated at `u32::MAX`: a result that long cannot be
    /// an assessment (limits bound a request far below), so a saturated count only fails
    /// to match, never collides with a shorter result.
    pub fn of(
        request: &RequestId,
        model: &ModelId,
        len: u32,
        outputs: &[i64],
        nonce: &[u8; 32],
    ) -> ResultCommitment {
        use weinong_keys::{Digest as _, Sm3};
        let mut h = Sm3::new();
        h.update(RESULT_COMMITMENT_TAG);
        h.update(request.as_bytes());
        h.update(model.as_bytes());
        h.update(len.to_be_bytes());
        h.update(
            u32::try_from(outputs.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for v in outputs {
            h.update(v.to_be_bytes());
        }
        h.update(nonce);
        ResultCommitment(h.finalize().into())
    }
}

/// A consortium member (a department node), numbered at genesis or by governance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(pub u16);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member {}", self.0)
    }
}

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $label:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $code,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The one-byte code used in the canonical encoding.
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The value with this code.
            pub fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// A short English label (for messages and the CLI).
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            #[allow(dead_code, reason = "data categories decode as a set, never one by one")]
            pub(crate) fn decode(r: &mut weinong_ledger::codec::Reader<'_>) -> Result<Self, DecodeError> {
                let code = r.u8()?;
                Self::from_code(code).ok_or_else(|| r.invalid(concat!("unknown ", $what, " code")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

closed_enum!(
    /// What a key may do. Bound to a key with a validity window by governance.
    Role, "role" {
        /// Approves governance changes (k of n admins).
        Admin = 1, "admin";
        /// A department node: records accesses and assessment results.
        Department = 2, "department";
        /// A care institution (养老机构): requests assessments and receives results.
        Institution = 3, "institution";
        /// Reads and verifies the ledger; submits nothing.
        Auditor = 4, "auditor";
        /// A data steward: may fail (cancel) requests on a department's behalf.
        Steward = 5, "steward";
        /// Records consents and their withdrawal (the civil-affairs node, for the portal).
        Registrar = 6, "registrar";
    }
);

closed_enum!(
    /// Why data is used (PIPL Art. 6 and 23: purpose limitation). A consent names exactly
    /// one purpose; an access is accepted only for the purpose its request states.
    Purpose, "purpose" {
        /// Admission assessment for a care home (入住评估).
        AdmissionAssessment = 1, "admission assessment";
        /// Periodic re-assessment of a resident (定期评估).
        PeriodicAssessment = 2, "periodic assessment";
        /// Subsidy income check (补贴收入核对).
        SubsidyIncomeCheck = 3, "subsidy income check";
        /// Proactive eligibility push (免申即享).
        EligibilityPush = 4, "eligibility push";
        /// Supervision of service quality (云监管).
        Supervision = 5, "supervision";
    }
);

impl Purpose {
    /// Purposes an assessment request may state.
    pub const fn is_assessment(self) -> bool {
        matches!(
            self,
            Purpose::AdmissionAssessment | Purpose::PeriodicAssessment
        )
    }
}

closed_enum!(
    /// A kind of personal data, grouped by the department that holds it. Health and
    /// insurance categories are sensitive personal information (PIPL Art. 28) and need
    /// separate consent (Art. 29), which is why a consent lists categories explicitly.
    DataCategory, "data category" {
        /// Civil affairs: ability assessments (GB/T 42195).
        AbilityAssessment = 0, "ability assessment";
        /// Civil affairs: household and income-check results.
        HouseholdIncome = 1, "household income";
        /// Civil affairs: subsidies received.
        Subsidies = 2, "subsidies";
        /// Health: vital signs and measurements (blood pressure, height, weight, BMI).
        VitalSigns = 3, "vital signs";
        /// Health: diagnoses in the health record.
        Diagnoses = 4, "diagnoses";
        /// Health: recorded falls.
        Falls = 5, "falls";
        /// Health: cognition and other screens (AD8, MMSE, MNA-SF, Braden).
        Screens = 6, "screens";
        /// Medical insurance: claims with ICD-10 diagnoses.
        InsuranceClaims = 7, "insurance claims";
        /// Medical insurance: hospital stays.
        HospitalStays = 8, "hospital stays";
        /// Medical insurance: medication counts.
        Medications = 9, "medications";
        /// Medical insurance: long-term-care insurance.
        LongTermCare = 10, "long-term care insurance";
        /// Civil affairs: the death register (死亡登记), read to stop payments after a death.
        DeathRegister = 11, "death register";
    }
);

/// The department that holds a data category (the workspace's one department type, from
/// `weinong-keys`).
pub use weinong_keys::Department;

impl DataCategory {
    /// Which department holds this category.
    pub const fn holder(self) -> Department {
        match self {
            Self::AbilityAssessment
            | Self::HouseholdIncome
            | Self::Subsidies
            | Self::DeathRegister => Department::CivilAffairs,
            Self::VitalSigns | Self::Diagnoses | Self::Falls | Self::Screens => Department::Health,
            Self::InsuranceClaims
            | Self::HospitalStays
            | Self::Medications
            | Self::LongTermCare => Department::MedicalInsurance,
        }
    }
}

/// A set of data categories: a `u16` bit mask, bit `code` for each category.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CategorySet(u16);

impl CategorySet {
    /// The empty set.
    pub const EMPTY: CategorySet = CategorySet(0);

    /// The bits of every defined category.
    const KNOWN: u16 = {
        let mut mask = 0u16;
        let mut i = 0;
        while i < DataCategory::ALL.len() {
            mask |= 1 << DataCategory::ALL[i].code();
            i += 1;
        }
        mask
    };

    /// The set of the given categories.
    pub fn of(categories: &[DataCategory]) -> Self {
        Self(categories.iter().fold(0, |mask, c| mask | (1 << c.code())))
    }

    /// Whether the set holds `category`.
    pub const fn contains(self, category: DataCategory) -> bool {
        self.0 & (1 << category.code()) != 0
    }

    /// Whether every category of `other` is in this set.
    pub const fn covers(self, other: CategorySet) -> bool {
        other.0 & !self.0 == 0
    }

    /// The categories of `self` not in `other`.
    pub const fn minus(self, other: CategorySet) -> CategorySet {
        CategorySet(self.0 & !other.0)
    }

    /// The union.
    pub const fn union(self, other: CategorySet) -> CategorySet {
        CategorySet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The categories, in code order.
    pub fn iter(self) -> impl Iterator<Item = DataCategory> {
        DataCategory::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    /// The bit mask (the canonical encoding).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The set with this bit mask; `None` if an unknown bit is set.
    pub const fn from_bits(bits: u16) -> Option<Self> {
        if bits & !Self::KNOWN == 0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    pub(crate) fn decode_nonempty(
        r: &mut weinong_ledger::codec::Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let bits = r.u16()?;
        match Self::from_bits(bits) {
            None => Err(r.invalid("unknown data category bit set")),
            Some(set) if set.is_empty() => Err(r.invalid("empty set of data categories")),
            Some(set) => Ok(set),
        }
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<&str> = self.iter().map(DataCategory::label).collect();
        write!(f, "{{{}}}", labels.join(", "))
    }
}

closed_enum!(
    /// The legal basis a policy relies on (PIPL Art. 13): a closed list, so every run on the
    /// ledger names one an auditor can check.
    LegalBasis, "legal basis" {
        /// Needed to perform a statutory duty (e.g. stopping payments after a death).
        StatutoryDuty = 1, "statutory duty";
        /// Needed in the public interest (e.g. 免申即享 benefits, 百岁老人 care).
        PublicInterest = 2, "public interest";
        /// The people concerned consented.
        Consent = 3, "consent";
    }
);

closed_enum!(
    /// Why an assessment request failed.
    FailureReason, "failure reason" {
        /// The requester withdrew the request.
        Cancelled = 1, "cancelled by the requester";
        /// A needed consent was missing or withdrawn.
        ConsentMissing = 2, "consent missing or withdrawn";
        /// A department holds no data for the subject.
        DataUnavailable = 3, "data unavailable";
        /// The joint computation aborted (a peer left, a check failed).
        ComputationAborted = 4, "computation aborted";
        /// The request stayed open past its deadline.
        TimedOut = 5, "timed out";
    }
);
