//! [`digest_id!`](crate::digest_id): the one definition of a 32-byte identifier shown as hex.
//!
//! Key ids, pseudonyms, model ids, the ledger's hashes (`Hash32`, `TxHash`, `BlockHash`) and
//! the contracts' ids (`ConsentId`, `RequestId`, …) are all SM3-sized values with the same
//! byte access, hex form and parsing; only their meaning (and how they are derived)
//! differs. Each crate defines its own with this macro, choosing what differs: whether the
//! bytes are a public field, extra derives, and the error a malformed hex string becomes.

/// Define a `Copy` newtype over `[u8; 32]` with `from_bytes`, `as_bytes`, `to_hex`, hex
/// `Display`, `Debug` as `Name(hex)`, and `FromStr` (64 hex characters, surrounding
/// whitespace ignored).
///
/// ```
/// #[derive(Debug)]
/// pub struct BadHex(String);
///
/// weinong_keys::digest_id! {
///     /// An example id.
///     pub struct ExampleId(pub [u8; 32]);
///     derive(Default);
///     parse_error(BadHex, |e| BadHex(format!("example id: {e}")));
/// }
///
/// let id: ExampleId = "00".repeat(32).parse().expect("64 hex characters");
/// assert_eq!(id, ExampleId::default());
/// assert_eq!(format!("{id:?}"), format!("ExampleId({})", "00".repeat(32)));
/// assert!("xyz".parse::<ExampleId>().is_err());
/// ```
///
/// - the field's visibility (`pub` or nothing) is the caller's: with a private field the
///   bytes are reached only through `from_bytes` and `as_bytes`;
/// - `derive(...)` (optional) adds derives to `Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
///   Hash`;
/// - `parse_error(Type, |e| value)` names the `FromStr` error type and builds it from the
///   hex decoder's error `e` (which has a `Display` naming what was wrong).
///
/// The generated code reaches `hex` through this crate, so callers need no `hex`
/// dependency of their own.
#[macro_export]
macro_rules! digest_id {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($field_vis:vis [u8; 32]);
        $(derive($($derive:path),+ $(,)?);)?
        parse_error($err:ty, |$e:pat_param| $make:expr $(,)?);
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash $($(, $derive)+)?)]
        $vis struct $name($field_vis [u8; 32]);

        impl $name {
            /// Wrap raw bytes (e.g. read back from a canonical encoding or storage).
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The raw 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex (64 characters).
            pub fn to_hex(&self) -> ::std::string::String {
                $crate::__private::hex::encode(self.0)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::write!(f, "{}({})", ::std::stringify!($name), self.to_hex())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $err;

            fn from_str(s: &str) -> ::std::result::Result<Self, $err> {
                let mut out = [0u8; 32];
                $crate::__private::hex::decode_to_slice(s.trim(), &mut out)
                    .map_err(|$e| $make)?;
                ::std::result::Result::Ok(Self(out))
            }
        }
    };
}
