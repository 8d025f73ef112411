//! `weinong-mpc`: three-party secure computation for Weinong.
//!
//! # What this crate owns
//!
//! - [`rss`]: the MPC engine. 2-out-of-3 replicated secret sharing (Araki et al. 2016, ABY3)
//!   over Z_2^64 (arithmetic) and Z_2 (boolean, bit-sliced in `u64` words), semi-honest with
//!   an honest majority. Every operation works on whole vectors and every communication
//!   round sends at most one batched message per neighbour.
//! - [`transport`]: the [`Transport`] seam with an in-process implementation (tests,
//!   benchmarks) and loopback/LAN TCP with per-session, per-direction HMAC-SM3 framing.
//! - [`run_three`]: runs one three-party computation in-process (three threads), for tests,
//!   benchmarks and `weinong mpc selftest`.
//!
//! It must not know about the ledger, the node, HTTP or who the departments are: a
//! [`Party`] is a position (P0, P1, P2) in a session, nothing more.
//!
//! # Threat model
//!
//! Semi-honest, honest majority: any single party that follows the protocol learns nothing
//! beyond its own inputs and the outputs revealed to it. A malicious party can make the
//! output wrong (security with abort is the next step, see DESIGN.md). Transports
//! authenticate every frame, so an outsider can neither inject nor replay one, and every
//! receive has a time-out, so a dead or silent peer turns into an error, never a hang.
//!
//! # The API in one example
//!
//! ```
//! use weinong_mpc::{run_three, PartyId, RevealTo, FRAC_BITS};
//!
//! // Two departments each hold a vector; the third helps. Compute x*y and x < 100.
//! let outputs = run_three(|party| {
//!     let x_plain = [5u64, 200, 7];
//!     let y_plain = [3u64, 4, (-2i64) as u64];
//!     let x = party.input(PartyId::P0, (party.id() == PartyId::P0).then_some(&x_plain[..]), 3)?;
//!     let y = party.input(PartyId::P1, (party.id() == PartyId::P1).then_some(&y_plain[..]), 3)?;
//!     let product = party.mul(&x, &y)?;
//!     let small = party.lt_public(&x, &[100, 100, 100])?;
//!     let product = party.reveal(&product, RevealTo::All)?;
//!     let small = party.reveal_bits(&small, RevealTo::Party(PartyId::P2))?;
//!     Ok((product, small))
//! })
//! .expect("three honest parties in one process");
//! assert_eq!(outputs[0].0, Some(vec![15, 800, (-14i64) as u64]));
//! assert_eq!(outputs[2].1, Some(vec![true, false, true]));
//! assert_eq!(outputs[0].1, None); // only P2 learns the comparison
//! # let _ = FRAC_BITS;
//! ```
//!
//! # Operations (all vectorised; rounds are communication rounds)
//!
//! | operation | method | rounds |
//! |---|---|---|
//! | input from one owner | [`Party::input`] | 1 (owner sends one vector) |
//! | public constant as shares | [`Party::public`] | 0 |
//! | reveal to all / to one party | [`Party::reveal`], [`Party::reveal_bits`] | 1 |
//! | add, sub, neg, public add / mul | [`ArithShares::add`], [`Party::add_public`], [`ArithShares::mul_public`] … | 0 |
//! | multiplication | [`Party::mul`] | 1 |
//! | dot product / weighted sum (secret weights) | [`Party::dot`], [`Party::weighted_sum`] | 1 |
//! | probabilistic truncation by `d` bits | [`Party::trunc`] | 1 |
//! | fixed-point multiply, weighted sum | [`Party::mul_fixed`], [`Party::weighted_sum_fixed`] | 2 |
//! | MSB / sign, `x < c`, `x < y` (signed) | [`Party::msb`], [`Party::lt_public`], [`Party::lt`] … | 8 |
//! | equality | [`Party::eq`], [`Party::eq_public`] | 7 |
//! | AND / OR on bits; XOR, NOT | [`Party::and`], [`Party::or`]; [`BitShares::xor`], [`Party::not`] | 1; 0 |
//! | bit to arithmetic (bit injection) | [`Party::bit_to_arith`] | 2 |
//! | select (mux) | [`Party::select`] | 3 |
//! | A2B, B2A (64-bit) | [`Party::a2b`], [`Party::b2a`] | 8, 9 |
//! | range lookup (piecewise constant) | [`Party::range_lookup`] | 10 |
//! | sum / max over a vector | [`ArithShares::sum`], [`Party::max`] | 0 / 11 per level |
//!
//! Signed comparisons are exact when the difference of the operands fits in an `i64`
//! (|x − y| < 2^63). Fixed point uses [`FRAC_BITS`] fractional bits by default; truncation is
//! probabilistic (SecureML/ABY3 style): the result is ⌊x/2^d⌋ or one more, and fails with
//! probability about |x|/2^63 per element, so keep fixed-point magnitudes far below 2^63
//! (|x| < 2^45 gives ≤ 2^−18 per element).
//!
//! The comparison circuits cut large batches into chunks of [`limits::CHUNK_LEN`] elements
//! (2^16 by default, so a circuit level stays in cache and memory stays bounded); the round
//! counts in the table are per chunk. [`Party::set_chunk_len`] trades memory for rounds on
//! high-latency links. [`limits::BATCH_LEN_MAX`] caps one call.
//!
//! # Choices
//!
//! - PRG: AES-128-CTR (`aes` + `ctr`, AES-NI/VAES detected at run time), seeded per pair
//!   and session with HMAC-SM3; see `prg.rs` for why not ChaCha.
//! - Input from one owner sends a single vector (components r, x − r, 0), so an input costs
//!   one message; multiplication re-randomises with a PRF zero sharing (Araki et al.).
//! - Comparisons use x = x₀ + (x₁ + x₂): P1 inputs x₁ + x₂ as bits and a two-operand
//!   carry tree computes the MSB, 181 AND gates (23 B) plus P1's 8-byte input, i.e. about
//!   25 B per comparison per party in 8 rounds (SPU's ABY3: about 36 B, 8 rounds).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod error;
#[cfg(feature = "fhe")]
pub mod fhe;
pub mod fixed;
pub mod limits;
pub mod model;
pub mod party_id;
mod prg;
pub mod psi;
pub mod rss;
pub mod run;
pub mod secrets;
pub mod transport;

pub use error::MpcError;
pub use fixed::FRAC_BITS;
pub use party_id::PartyId;
pub use rss::{ArithShares, BitShares, BoolShares, Party, RangeTable, RevealTo, Stats};
pub use run::{RunOptions, TransportKind, run_three, run_three_each, run_three_with};
pub use secrets::{PairSecret, PartySecrets, SessionId};
pub use transport::{Peer, Transport};
