//! `weinong-e2e`: end-to-end tests that need the node's internals.
//!
//! Owns nothing but its tests (`e2e/tests/`): the threat model's insider attacks built from
//! the node's own p2p layer (`insiders.rs`) and the whole assessment story on real
//! processes, checked against the node's own input mapping (`assess_e2e.rs`). They share
//! the CLI tests' harness (`apps/tests/common`) and run the `weinong` and `weinong-node`
//! binaries from the target directory.
//!
//! Must not be depended on: it exists so that the CLI crate (`weinong`) links no node,
//! openraft or libp2p code, not even in its tests.
