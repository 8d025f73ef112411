//! KKRT16 batched-OPRF PSI (Kolesnikov, Kumaresan, Rosulek and Trieu, "Efficient Batched
//! Oblivious PRF with Applications to Private Set Intersection", CCS 2016), semi-honest like
//! the ECDH protocol and run over the same sessions ([`crate::psi::Connection`]: TCP in
//! `weinong psi`, the nodes' authenticated p2p streams in policy runs).
//!
//! The receiver puts each of its elements into one bin of a cuckoo table; one OPRF instance
//! per bin gives it `F_j(x)` for the element `x` in bin `j`, while the sender, holding every
//! bin's key, computes `F_j(y)` for each of its elements `y` in each of its three bins and
//! sends those values in random order. A value equal to one of the receiver's is a match.
//! Only the receiver learns the intersection; there is no cardinality-only mode (the
//! receiver always knows which of its values matched — use ECDH for that).
//!
//! Pieces, each in its own module so a VOLE-based protocol (RR22) can reuse them:
//! - [`params`]: the parameters and where they come from;
//! - [`base_ot`]: 512 base OTs on ristretto255 (Chou–Orlandi with the transcript fix);
//! - [`ot_ext`]: the OT extension to 512-bit codewords, AES-CTR column PRGs;
//! - [`transpose`]: the bit-matrix transpose between columns and rows;
//! - [`code`]: item hashing, the AES pseudorandom code and the output hash;
//! - [`cuckoo`]: the receiver's cuckoo table and the sender's simple hashing;
//! - [`session`]: the two roles on the wire.
//!
//! Security: semi-honest, under CDH in ristretto255 (base OTs), AES-128 as a PRF (column
//! PRGs and the code) and SHA-256 as a random oracle (base-OT keys and OPRF outputs), with
//! statistical failure below 2^-40 from the cuckoo table and the value length. Secrets (the
//! base-OT scalars and keys, the choice bits, the column PRGs and the matrices) are
//! zeroized when dropped and never printed.
//!
//! It must not know about the ledger, the node, consent or who the departments are, exactly
//! like the rest of [`crate::psi`].

pub mod base_ot;
pub mod code;
pub mod cuckoo;
pub mod ot_ext;
pub mod params;
pub(crate) mod session;
#[cfg(test)]
mod tests;
pub mod transpose;
