//! A compiled model: its id, declarations (inputs, parameters, outputs) and IR.

use std::fmt;

use super::ir::{InputId, Ir, NodeId, ValueRange};

/// The department that holds an input, and so contributes it to the joint computation:
/// the workspace's one department type (`weinong_keys::Department`). Every MPC party is a
/// department ([`Department::party`](weinong_keys::Department::party) is its index); the
/// requester, who is no party, is a [`Recipient`] only. Specs name holders by
/// [`name`](weinong_keys::Department::name) (`civil_affairs`, `health`,
/// `medical_insurance`).
pub type Holder = weinong_keys::Department;

/// The data category of an input: what a consent must cover before the holder may
/// contribute it. The list, codes and holders are those of the ledger's data categories
/// (`weinong_contracts::DataCategory`; this crate cannot name that type, so a test in
/// `weinong-node` checks that the two lists agree); specs use the snake_case names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Civil affairs: ability assessments (GB/T 42195) and the facts recorded with them.
    AbilityAssessment,
    /// Civil affairs: household and income-check results.
    HouseholdIncome,
    /// Civil affairs: subsidies received.
    Subsidies,
    /// Health: vital signs and measurements (blood pressure, height, weight, BMI).
    VitalSigns,
    /// Health: diagnoses in the health record.
    Diagnoses,
    /// Health: recorded falls.
    Falls,
    /// Health: cognition and other screens (AD8, MMSE, MNA-SF, Braden, Morse).
    Screens,
    /// Medical insurance: claims with ICD-10 diagnoses.
    InsuranceClaims,
    /// Medical insurance: hospital stays.
    HospitalStays,
    /// Medical insurance: medication counts.
    Medications,
    /// Medical insurance: long-term-care insurance.
    LongTermCare,
    /// Civil affairs: the death register (死亡登记).
    DeathRegister,
}

impl Category {
    /// Every category, in code order.
    pub const ALL: [Category; 12] = [
        Category::AbilityAssessment,
        Category::HouseholdIncome,
        Category::Subsidies,
        Category::VitalSigns,
        Category::Diagnoses,
        Category::Falls,
        Category::Screens,
        Category::InsuranceClaims,
        Category::HospitalStays,
        Category::Medications,
        Category::LongTermCare,
        Category::DeathRegister,
    ];

    /// The ledger's one-byte code of this category.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The name used in specs (`ability_assessment`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::AbilityAssessment => "ability_assessment",
            Category::HouseholdIncome => "household_income",
            Category::Subsidies => "subsidies",
            Category::VitalSigns => "vital_signs",
            Category::Diagnoses => "diagnoses",
            Category::Falls => "falls",
            Category::Screens => "screens",
            Category::InsuranceClaims => "insurance_claims",
            Category::HospitalStays => "hospital_stays",
            Category::Medications => "medications",
            Category::LongTermCare => "long_term_care_insurance",
            Category::DeathRegister => "death_register",
        }
    }

    /// The category named `s`, if any.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The department that holds data of this category.
    pub const fn holder(self) -> Holder {
        match self {
            Category::AbilityAssessment
            | Category::HouseholdIncome
            | Category::Subsidies
            | Category::DeathRegister => Holder::CivilAffairs,
            Category::VitalSigns | Category::Diagnoses | Category::Falls | Category::Screens => {
                Holder::Health
            }
            Category::InsuranceClaims
            | Category::HospitalStays
            | Category::Medications
            | Category::LongTermCare => Holder::MedicalInsurance,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may receive an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    /// The authorised requester (an institution, for an admission).
    Requester,
    /// A department node.
    Department(Holder),
}

impl Recipient {
    /// The recipient named `s` (`requester` or a holder name), if any.
    pub fn parse(s: &str) -> Option<Recipient> {
        if s == "requester" {
            return Some(Recipient::Requester);
        }
        Holder::from_name(s).map(Recipient::Department)
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Requester => f.write_str("requester"),
            Recipient::Department(h) => h.fmt(f),
        }
    }
}

/// A model id: SM3 of the canonical spec (computed in [`super::canonical`]). One type with
/// the ledger's (`weinong_contracts::ModelId`), defined in `weinong-keys`.
pub use weinong_keys::ModelId;

/// Whether an input is an integer or a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// An integer in the declared unit.
    Int,
    /// 0 or 1.
    Bool,
}

/// Where an input's values come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSource {
    /// A CSV column of the holder's table. With `decimals = d`, the cell `12.3` is read as
    /// `12.3 × 10^d` exactly (no floating point). An optional column may be empty: the value
    /// is then `fill` and the column's known-flag input is 0.
    Column {
        /// The CSV header naming the column.
        column: String,
        /// Decimal places in the CSV (the model works in units of 10^-decimals).
        decimals: u8,
        /// For an optional column: the value used where a cell is empty, and the flag input.
        optional: Option<(i64, InputId)>,
    },
    /// 1 where the optional input's cell was present, 0 where it was empty.
    KnownFlag(InputId),
}

/// A declared input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDecl {
    /// The name used in expressions.
    pub name: String,
    /// The department that holds it.
    pub holder: Holder,
    /// Its data category (held by `holder`); a known-flag input has its input's category.
    pub category: Category,
    /// Integer or condition.
    pub value_type: ValueType,
    /// Valid values; anything outside is rejected before evaluation.
    pub range: ValueRange,
    /// The unit (documentation only).
    pub unit: String,
    /// What the input is.
    pub doc: String,
    /// Where the values come from.
    pub source: InputSource,
}

/// A named parameter: a public constant chosen where the sources disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamDecl {
    /// The name used in expressions and tables.
    pub name: String,
    /// The value this model uses.
    pub value: i64,
    /// The values the parameter may take.
    pub allowed: ValueRange,
    /// Why it is a parameter and what the sources say.
    pub doc: String,
}

/// A declared output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDecl {
    /// Column name in results.
    pub name: String,
    /// The IR node computing it.
    pub node: NodeId,
    /// Its possible values.
    pub range: ValueRange,
    /// Who may receive it.
    pub recipients: Vec<Recipient>,
    /// What it means (value codes included).
    pub doc: String,
}

/// A compiled model.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) id: ModelId,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) inputs: Vec<InputDecl>,
    pub(crate) params: Vec<ParamDecl>,
    pub(crate) outputs: Vec<OutputDecl>,
    pub(crate) ir: Ir,
}

impl Model {
    /// SM3 of the canonical spec.
    pub fn id(&self) -> ModelId {
        self.id
    }
    /// The model's name, e.g. `admission-v1`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The model's version string.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// Inputs, indexed by [`InputId`]; sorted by name, each optional input's flag following it.
    pub fn inputs(&self) -> &[InputDecl] {
        &self.inputs
    }
    /// The input named `name`.
    pub fn input(&self, name: &str) -> Option<(InputId, &InputDecl)> {
        let index = self.inputs.iter().position(|i| i.name == name)?;
        Some((InputId::from_index(index), &self.inputs[index]))
    }
    /// Parameters, sorted by name.
    pub fn params(&self) -> &[ParamDecl] {
        &self.params
    }
    /// Outputs, sorted by name.
    pub fn outputs(&self) -> &[OutputDecl] {
        &self.outputs
    }
    /// The output named `name`.
    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.outputs.iter().position(|o| o.name == name)
    }
    /// The compiled IR.
    pub fn ir(&self) -> &Ir {
        &self.ir
    }
    /// The data categories of the inputs `holder` contributes, in code order (empty if it
    /// contributes none): what its access record must cover.
    pub fn categories_of(&self, holder: Holder) -> Vec<Category> {
        let mut categories: Vec<Category> = self
            .inputs
            .iter()
            .filter(|i| i.holder == holder)
            .map(|i| i.category)
            .collect();
        categories.sort();
        categories.dedup();
        categories
    }
    /// The data categories of all inputs, in code order: what a registration declares.
    pub fn categories(&self) -> Vec<Category> {
        let mut categories: Vec<Category> = self.inputs.iter().map(|i| i.category).collect();
        categories.sort();
        categories.dedup();
        categories
    }
    /// The holders that contribute at least one input.
    pub fn holders(&self) -> Vec<Holder> {
        let mut holders: Vec<Holder> = self.inputs.iter().map(|i| i.holder).collect();
        holders.sort();
        holders.dedup();
        holders
    }
}
