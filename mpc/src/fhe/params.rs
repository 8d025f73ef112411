//! The one TFHE parameter set this backend uses, written out at the call site.
//!
//! Computation: 2-bit message, 2-bit carry blocks with a keyswitch-then-bootstrap pattern
//! and TUniform noise at a failure probability of 2^-128 (tfhe 1.8's CPU default, named
//! explicitly so that the `gpu` feature, which changes tfhe's default, cannot change the
//! keys). Public-key encryption: the dedicated compact public key parameters with their
//! keyswitch into the computation key, which is what lets departments send packed compact
//! ciphertext lists. Every deserialized key and ciphertext is checked against this set.

use tfhe::shortint::parameters::{
    CompactPublicKeyEncryptionParameters, PARAM_KEYSWITCH_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
};
use tfhe::{Config, ConfigBuilder};

/// A human-readable name of the pinned parameter set, for errors and reports.
pub const PARAMETER_SET_NAME: &str = "PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128 + PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128";

/// Bits of message per radix block (message modulus 4).
pub const BLOCK_BITS: u32 = 2;

/// The tfhe configuration of every key this backend generates or accepts.
pub fn config() -> Config {
    ConfigBuilder::with_custom_parameters(PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128)
        .use_dedicated_compact_public_key_parameters((
            PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
            PARAM_KEYSWITCH_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
        ))
        .build()
}

/// The compact public key encryption parameters (for conformance checks).
pub fn pke_parameters() -> CompactPublicKeyEncryptionParameters {
    PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128
}

/// The computation parameters (for ciphertext conformance checks).
pub fn compute_parameters() -> tfhe::shortint::parameters::ClassicPBSParameters {
    PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128
}
