//! Private set intersection (PSI) for policy matching (免申即享, centenarian lists, death
//! register reconciliation): two protocols over the same sessions, ECDH-PSI on
//! ristretto255 and KKRT16 OPRF-based PSI ([`kkrt`], the faster default for intersections).
//!
//! # What this module owns
//!
//! Two departments each hold a list of resident IDs. The **receiver** learns which of its
//! IDs the **sender** also holds (or, in cardinality-only mode, only how many); the sender
//! learns only how many distinct IDs the receiver has. Neither sees the other's list.
//!
//! - [`group`]: hash to ristretto255 (RFC 9380, SHA-512, Weinong's tag) and blinding with a
//!   fresh secret scalar, batched over all cores.
//! - [`input`]: one CSV column streamed in chunks, normalised and validated as GB 11643
//!   resident IDs; invalid rows are skipped, counted and reported by line.
//! - [`kkrt`]: KKRT16 batched-OPRF PSI from base OT, OT extension, AES and cuckoo hashing,
//!   each piece in its own module.
//! - [`wire`] / [`channel`] / [`net`] / [`session`]: frames with size limits, time-outs
//!   and keep-alives over any [`Connection`] (TCP here; the node's authenticated libp2p
//!   streams for policy runs); the sender and receiver roles; [`local`] runs both in one
//!   process. Inputs are an [`IdentifierSource`]: a CSV column or a list in memory.
//!
//! It must not know about the ledger, the node, consent or who the departments are: a
//! caller checks the consent and access records and hands over a file and a socket.
//!
//! # Security
//!
//! Both protocols are semi-honest. ECDH: security under DDH in ristretto255 with the
//! hash as a random oracle (Huberman–Franklin–Hogg / Meadows DH-PSI). KKRT: see [`kkrt`]
//! (CDH for the base OTs, AES as a PRF, SHA-256 as a random oracle). Each party sorts its own blinded points, so
//! row order and duplicate counts stay private; the sender shuffles the doubly-blinded
//! points it returns in cardinality-only mode. Both learn the other's distinct set size.
//! Secret scalars are fresh per run, zeroized on drop and never printed. A malicious
//! party could deviate (e.g. return garbage): that is out of scope, as for DESIGN.md's MPC.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//! use weinong_mpc::psi::{IdentifierReader, Mode, NoProgress, run_local};
//!
//! let a = IdentifierReader::open(Path::new("civil-affairs.csv"), "id")?;
//! let b = IdentifierReader::open(Path::new("insurance.csv"), "id")?;
//! let mut out = Vec::new();
//! let (report, _) = run_local(a, b, Mode::Intersection, &mut out, &NoProgress)?;
//! println!("{} in both lists", report.intersection);
//! # Ok::<(), weinong_mpc::psi::PsiError>(())
//! ```

pub mod channel;
pub mod error;
pub mod group;
pub mod input;
pub mod kkrt;
pub mod limits;
pub mod local;
pub mod net;
pub mod progress;
pub mod session;
pub mod wire;

pub use channel::{Connection, ConnectionControl, Shaped, Traffic};
pub use error::PsiError;
pub use group::{BlindingKey, HASH_TO_GROUP_DST, PointBytes, hash_to_group};
pub use input::{
    IdentifierList, IdentifierReader, IdentifierSource, InputStats, InvalidReason, InvalidRow,
    SourceRow,
};
pub use local::{run_local, run_local_with};
pub use net::{accept_from, connect, listen, peer_host};
pub use progress::{NoProgress, Progress, Stage};
pub use session::{
    ReceiverReport, SenderReport, run_receiver, run_receiver_rows, run_receiver_rows_with,
    run_receiver_with, run_sender, run_sender_with,
};
pub use wire::{Mode, Protocol, Role};
