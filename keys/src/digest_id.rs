//! `digest_id!`: the one definition of a 32-byte identifier shown as hex.
//!
//! `KeyId` and `SubjectPseudonym` are both SM3-sized digests with the same byte access,
//! hex form and parsing; only their meaning (and how they are derived) differs.

/// Define a `Copy` newtype over `[u8; 32]` with hex `Display`, `Debug` and `FromStr`.
macro_rules! digest_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wrap raw digest bytes (e.g. read back from a canonical encoding or storage).
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The raw 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::KeyError;

            fn from_str(s: &str) -> Result<Self, $crate::KeyError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|e| $crate::KeyError::Hex {
                    what: concat!($what, " (64 hex characters)"),
                    reason: e.to_string(),
                })?;
                Ok(Self(out))
            }
        }
    };
}

pub(crate) use digest_id;
