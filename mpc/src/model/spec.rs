//! The TOML spec file as written: field names, types and spans (the format is documented in
//! `mpc/models/README.md`). Unknown fields are refused by the parser with their line.
//!
//! These are file types only; [`super::compile`] checks them and builds the model.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpecFile {
    pub format_version: Spanned<i64>,
    pub model: ModelMeta,
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, ParamSpec>,
    pub inputs: BTreeMap<Spanned<String>, InputSpec>,
    #[serde(default)]
    pub tables: BTreeMap<Spanned<String>, TableSpec>,
    #[serde(default)]
    pub derived: BTreeMap<Spanned<String>, Spanned<String>>,
    pub outputs: BTreeMap<Spanned<String>, OutputSpec>,
}

/// `[model]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelMeta {
    pub name: Spanned<String>,
    pub version: Spanned<String>,
    pub title: String,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "documentation carried into the model id, not used in compilation"
    )]
    pub sources: Vec<String>,
}

/// `[params.NAME]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParamSpec {
    pub value: Spanned<i64>,
    pub allowed: Spanned<[i64; 2]>,
    pub doc: String,
}

/// `[inputs.NAME]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputSpec {
    pub holder: Spanned<String>,
    pub category: Spanned<String>,
    #[serde(rename = "type")]
    pub value_type: Spanned<String>,
    // Required fields first, in the order a missing one is reported.
    pub doc: String,
    #[serde(default)]
    pub range: Option<Spanned<[i64; 2]>>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub decimals: Option<Spanned<u8>>,
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    #[serde(default)]
    pub optional: Option<Spanned<OptionalSpec>>,
}

/// `optional = { fill = N, flag = "NAME_known" }`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionalSpec {
    pub fill: Spanned<i64>,
    pub flag: Spanned<String>,
}

/// `[tables.NAME]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableSpec {
    pub bands: Spanned<Vec<Spanned<(Bound, Bound)>>>,
    pub doc: String,
}

/// A table bound or value: an integer or a parameter name.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum Bound {
    Int(i64),
    Param(String),
}

/// `[outputs.NAME]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputSpec {
    pub value: Spanned<String>,
    pub to: Spanned<Vec<Spanned<String>>>,
    pub doc: String,
}
