//! SM3 (GB/T 32905) and HMAC-SM3 (RFC 2104 over SM3), from RustCrypto.

use hmac::{KeyInit, Mac};

pub use sm3::{Digest, Sm3};

/// SM3 digest of `data`.
pub fn sm3_digest(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// HMAC-SM3 of `data` under `key`.
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <hmac::Hmac<Sm3> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Verify an HMAC-SM3 tag in constant time.
pub fn hmac_sm3_verify(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    tag.len() == 32 && bool::from(hmac_sm3(key, data).ct_eq(tag))
}
