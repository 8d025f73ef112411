//! `weinong-console-wasm`: what the web console (`apps/console`) runs inside the browser,
//! compiled to WebAssembly with `wasm-bindgen --target web`.
//!
//! Owns three things, each a thin composition of crates the CLI uses too, so the page and
//! the CLI cannot disagree:
//! - [`ConsoleKey`]: a keystore opened with its password (`weinong-keys`' PBKDF2-HMAC-SM3
//!   and AES-GCM), held in the page's WebAssembly memory only, wiped when dropped; it signs
//!   `/v1` requests exactly as `weinong-api`'s client does ([`weinong_keys::request_auth`]).
//! - [`ConsoleKey::consent_grant`] and [`ConsoleKey::consent_withdraw`]: the registrar's
//!   transactions, built with the contracts' codec and signed as `weinong-api` signs;
//!   [`Blinding`]: a subject's pseudonym by the consortium's OPRF, the ID blinded here.
//! - [`ConsoleKey::assessment_request`], [`ConsoleKey::open_result`] and
//!   [`ConsoleKey::result_record`]: the care home's assessment, as `weinong assess request
//!   --wait` makes it (checks of the served shares, opening, reconstruction, commitment).
//! - [`bind_role_proposal`], [`ConsoleKey::approve_proposal`] and
//!   [`ConsoleKey::governance_tx`]: k-of-n governance from several browsers, through the
//!   same proposal file as `weinong tx governance`.
//! - [`verify_head`] and [`check_consistency`]: a co-signed tree head, and a saved head's
//!   log being a prefix of today's.
//! - [`verify_bundle`]: a request bundle's verification by `weinong-audit`, the report the
//!   CLI's `weinong audit verify` prints, line for line ([`BundleReport::lines`]).
//! - [`ConsoleError`]: every refusal with a closed [`ConsoleError::code`], which the page
//!   turns into Chinese text that says what to do.
//!
//! Must not know: the network, the DOM, storage or the clock (the page passes the time in);
//! the page owns fetching and showing. The `#[wasm_bindgen]` surface is `bindings` (wasm32
//! only); everything else is plain Rust, tested natively (`tests/`).

#![deny(missing_docs)]
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod assess;
#[cfg(target_arch = "wasm32")]
mod bindings;
mod error;
mod governance;
mod heads;
mod key;
mod pseudonym;
mod tx;
mod verify;

pub use assess::{OpenInput, Opened, OutputValue, shipped_model};
pub use error::ConsoleError;
pub use governance::{ProposalView, bind_role_proposal, public_key_of, view_proposal};
pub use heads::{Consistency, HeadView, check_consistency, verify_head};
pub use key::{ConsoleKey, SignedHeaders};
pub use pseudonym::Blinding;
pub use tx::{GrantForm, SignedTx};
pub use verify::{BundleReport, verify_bundle};
