//! Assessment models as data: the spec format, the compiler to one IR, and its backends.
//!
//! A model spec (TOML, documented with an annotated example in `mpc/models/README.md`)
//! names the inputs and which department holds each, the parameters where sources disagree,
//! range tables, derived quantities and outputs with their recipients. [`compile`] checks it
//! (errors name line and field) and lowers it to an [`Ir`]: a DAG of vector operations
//! (add, sub, mul, constant mul, compare, select, sum, range lookup) in which every node
//! knows its value range. The model id is SM3 of the canonical spec ([`canonical`]); its type,
//! [`ModelId`], and the holders' type, [`Holder`] (= `weinong_keys::Department`), are the
//! workspace's shared ones from `weinong-keys`, so the ledger names the same values.
//!
//! Backends run the IR a whole batch of subjects per node: [`Plaintext`] is the reference,
//! [`Mpc`] runs it on the three-party engine of this crate. Every backend must equal the
//! plaintext one exactly on every valid input. In a deployment each department node runs
//! [`evaluate_party_for_requester`] and the requester combines the three [`OutputShare`]s
//! with [`reconstruct`] ([`requester`]).
//!
//! This module owns no cryptography and no transport: it calls the engine's public API.
//! It knows nothing of the ledger, the node or where CSV files come from; [`inputs`] reads
//! department tables from any reader and joins them by subject pseudonym.

pub mod batch;
pub mod canonical;
mod compile;
pub mod decl;
pub mod error;
mod expr;
pub mod inputs;
pub mod ir;
pub mod limits;
pub mod plain;
pub mod requester;
pub mod sample;
pub mod secure;
mod spec;

pub use batch::{Backend, InputBatch, OutputBatch};
pub use compile::{FORMAT_VERSION, canonical_form, compile, compile_canonical};
pub use decl::{
    Category, Holder, InputDecl, InputSource, Model, ModelId, OutputDecl, ParamDecl, Recipient,
    ValueType,
};
pub use error::{
    EvalError, InputError, ReconstructError, ShareDecodeError, SpecError, SpecLocation,
};
pub use ir::{Band, CompareOp, InputId, Ir, Node, NodeId, Op, OpCounts, ValueRange};
pub use plain::{Plaintext, evaluate_plain};
pub use requester::{
    BatchShare, OutputShare, ShareBinding, reconstruct, share_signature_message, subjects_digest,
};
pub use secure::{Mpc, PartyInputs, evaluate_party, evaluate_party_for_requester};

/// The shipped admission model spec (`mpc/models/admission-v1.toml`).
pub const ADMISSION_V1: &str = include_str!("../../models/admission-v1.toml");
/// The shipped periodic model spec (`mpc/models/periodic-v1.toml`).
pub const PERIODIC_V1: &str = include_str!("../../models/periodic-v1.toml");
/// The shipped periodic model with trends over each resident's last four assessments and
/// check-ups (`mpc/models/periodic-v2.toml`).
pub const PERIODIC_V2: &str = include_str!("../../models/periodic-v2.toml");
/// Every shipped model spec, in the order the CLI lists them. Nodes compute these, the
/// devnet registers them, and `--model NAME` finds them by their `[model] name`.
pub const SHIPPED: [&str; 3] = [ADMISSION_V1, PERIODIC_V1, PERIODIC_V2];
