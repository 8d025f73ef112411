//! `weinong-connectors`: a department node's data — canonical schemas, importers (CSV, XLSX,
//! JSON Lines with column mapping files), the cleaning pipeline, quality reports, storage
//! through sqlx (SQLite embedded, PostgreSQL in production, one set of migrations), and the
//! seeded generator of synthetic Shanghai data. Departments are the workspace's one
//! [`weinong_keys::Department`] (re-exported as [`Department`]); this crate owns their data
//! schemas ([`TableSpec::of`]).
//!
//! Must not know: the ledger, MPC, networking or HTTP. Identifying fields (ID number, name,
//! phone, address) exist in the clear only in memory while a row is cleaned; at rest they
//! are sealed with SM4-GCM under the node's data key ([`weinong_keys::DataKey`]) and rows are
//! keyed by [`weinong_keys::SubjectPseudonym`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod clean;
pub mod date;
mod error;
pub mod features;
pub mod icd10;
pub mod identity;
pub mod import;
pub mod limits;
pub mod policy;
pub mod report;
pub mod schema;
pub mod source;
pub mod store;
pub mod synth;
mod write;

pub use clean::{Rule, Value};
pub use error::ConnectorError;
pub use features::{FeatureTable, feature_names, load_features};
pub use import::{ImportOptions, Secrets, import_file};
pub use report::{QualityReport, to_html};
pub use schema::{Department, TableSpec};
pub use source::Mapping;
pub use store::{Backend, Store};
pub use synth::{SynthConfig, SynthSummary, synthesize};
