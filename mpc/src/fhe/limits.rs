//! Named limits of the FHE backend: the largest blob of each kind that is deserialized.
//!
//! Every key and ciphertext that crosses a trust boundary is read with tfhe's safe
//! deserializer under one of these limits, so a hostile or damaged blob costs at most this
//! much memory before it is refused. Each limit sits well above the size measured with the
//! pinned parameter set (`weinong bench fhe` prints the sizes) and far below what a node can
//! allocate.

/// A serialized client key (measured: 47 KiB).
pub const CLIENT_KEY_BYTES_MAX: u64 = 4 << 20;
/// A serialized compressed compact public key (measured: 16 KiB).
pub const COMPACT_PUBLIC_KEY_BYTES_MAX: u64 = 4 << 20;
/// A serialized compressed server key (measured: 57.5 MiB, public-key keyswitch included).
pub const SERVER_KEY_BYTES_MAX: u64 = 256 << 20;
/// One department's encrypted inputs for one subject (measured for admission-v1: 16–17 KiB
/// for 19–30 values, packed).
pub const INPUT_LIST_BYTES_MAX: u64 = 8 << 20;
/// One encrypted output value (measured: about 16 KiB per 2-bit block).
pub const OUTPUT_VALUE_BYTES_MAX: u64 = 4 << 20;
/// All encrypted outputs of one subject (measured for admission-v1: 291 KiB for 8 outputs).
pub const OUTPUTS_BYTES_MAX: u64 = 64 << 20;
/// Most outputs one model may have in the encrypted-outputs format.
pub const OUTPUTS_COUNT_MAX: u32 = 1024;

const _: () = assert!(OUTPUT_VALUE_BYTES_MAX <= OUTPUTS_BYTES_MAX);
const _: () = assert!(OUTPUTS_BYTES_MAX <= usize::MAX as u64);
const _: () = assert!(SERVER_KEY_BYTES_MAX <= usize::MAX as u64);
