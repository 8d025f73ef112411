//! 32-byte SM3 values with a meaning: log roots, transaction hashes, block hashes.

use core::fmt;
use core::str::FromStr;

use crate::error::DecodeError;

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = DecodeError;
            fn from_str(s: &str) -> Result<Self, DecodeError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|_| DecodeError::Invalid {
                    what: stringify!($name),
                    reason: "expected 64 hex characters",
                })?;
                Ok(Self(out))
            }
        }
    };
}

hash_newtype!(
    /// A Merkle root or other SM3 digest (a state digest).
    Hash32
);
hash_newtype!(
    /// `SM3(encoded transaction)`: how a transaction is named.
    TxHash
);
hash_newtype!(
    /// `SM3(encoded block header)`: how a block is named, and what commit votes sign.
    BlockHash
);
