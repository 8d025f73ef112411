//! Encrypted values of any planned width, and the tfhe operations the evaluator uses.
//!
//! The IR's values are signed integers with known ranges; each encrypted value is a tfhe
//! `FheIntN` of the smallest width `N` (a multiple of the 2-bit block, up to 16, then 32
//! and 64) that holds its range, or an `FheBool` for a condition. tfhe's typed API needs one
//! Rust type per width, so [`Cipher`] is an enum over them and the macros below write the
//! same match arm for each width. Binary operations take operands of one width: the
//! evaluator casts first (sign extension when widening, dropping blocks when narrowing).
//!
//! Arithmetic is modulo 2^N: adding, subtracting or multiplying operands reduced modulo 2^N
//! gives the true result whenever the true result fits in N bits, which the IR's range
//! proof guarantees for the node being computed. That is why operands may be narrowed to
//! the result's width and why public constants are reduced modulo 2^N ([`wrap`]) before
//! they become tfhe scalars. Comparisons are not modular: they run at a width that holds
//! both operands, and the evaluator only passes constants that fit (it folds the rest).

use tfhe::integer::IntegerCiphertext;
use tfhe::prelude::*;
use tfhe::safe_serialization::DeserializationConfig;
use tfhe::{
    ClientKey, FheBool, FheInt2, FheInt4, FheInt6, FheInt8, FheInt10, FheInt12, FheInt14, FheInt16,
    FheInt32, FheInt64, FheUint2, FheUint4, FheUint6, FheUint8, FheUint10, FheUint12, FheUint14,
    FheUint16, FheUint32, FheUint64,
};

use super::error::FheError;
use super::limits::OUTPUT_VALUE_BYTES_MAX;
use super::params::{BLOCK_BITS, PARAMETER_SET_NAME, compute_parameters};

/// The widths an encrypted integer may have, in bits: one radix block or an even number of
/// them. tfhe's CUDA backend orders ciphertexts only at even block counts, so the plan never
/// picks 6, 10 or 14 bits (the types exist, and a list using them is still read).
pub(crate) const WIDTHS: [u32; 7] = [2, 4, 8, 12, 16, 32, 64];

/// The smallest width in [`WIDTHS`] of at least `bits` bits.
pub(crate) fn width_for(bits: u32) -> u32 {
    WIDTHS.into_iter().find(|w| *w >= bits).unwrap_or(64)
}

/// `c` reduced modulo 2^`bits`, as a signed `bits`-bit value (two's complement).
pub(crate) fn wrap(c: i64, bits: u32) -> i64 {
    if bits >= 64 {
        return c;
    }
    let shift = 64 - bits;
    c.wrapping_shl(shift).wrapping_shr(shift)
}

/// Whether `c` is representable in a signed `bits`-bit integer.
pub(crate) fn fits(c: i64, bits: u32) -> bool {
    wrap(c, bits) == c
}

/// How a value is encrypted: a condition, or a signed integer of `bits` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An `FheBool` (0 or 1).
    Bool,
    /// An `FheIntN` with N = the bits given (one of 2, 4, …, 16, 32, 64; the plan uses
    /// 2, 4, 8, 12, 16, 32 and 64).
    Int(u32),
}

impl Kind {
    /// The one-byte tag of this kind in the encrypted-outputs format (0 for a bool, else N).
    pub(crate) fn tag(self) -> u8 {
        match self {
            Kind::Bool => 0,
            // N is at most 64.
            Kind::Int(bits) => u8::try_from(bits).unwrap_or(u8::MAX),
        }
    }
}

/// A comparison the evaluator asks of tfhe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

macro_rules! ciphers {
    ($($var:ident: $ty:ident, $uty:ident, $clear:ty, $bits:literal;)*) => {
        /// One encrypted value.
        #[derive(Clone)]
        pub enum Cipher {
            /// A condition.
            Bool(FheBool),
            $(
                #[doc = concat!("A signed ", stringify!($bits), "-bit integer.")]
                $var($ty),
            )*
        }

        impl Cipher {
            /// How this value is encrypted.
            pub fn kind(&self) -> Kind {
                match self {
                    Cipher::Bool(_) => Kind::Bool,
                    $(Cipher::$var(_) => Kind::Int($bits),)*
                }
            }

            /// This value as a signed integer of `bits` bits (one of [`WIDTHS`]); a bool
            /// becomes 0 or 1, an integer is sign-extended or has its high blocks dropped.
            pub(crate) fn to_int(&self, bits: u32) -> Result<Cipher, FheError> {
                if self.kind() == Kind::Int(bits) {
                    return Ok(self.clone());
                }
                match bits {
                    $($bits => Ok(Cipher::$var(cast_to::<$ty>(self))),)*
                    other => Err(FheError::Internal(format!("no {other}-bit integer type"))),
                }
            }

            /// Like [`Cipher::to_int`] for a value known to be non-negative (its proven
            /// range starts at 0 or above): widening then fills with zero blocks, which costs
            /// nothing, where sign extension needs a bootstrap.
            pub(crate) fn to_int_nonneg(&self, bits: u32) -> Result<Cipher, FheError> {
                match self.kind() {
                    Kind::Int(own) if own < bits => match bits {
                        $($bits => Ok(Cipher::$var(cast_via_unsigned::<$ty>(self))),)*
                        other => Err(FheError::Internal(format!("no {other}-bit integer type"))),
                    },
                    _ => self.to_int(bits),
                }
            }

            /// A trivial (unencrypted) `bits`-bit ciphertext of `c` reduced modulo 2^bits.
            pub(crate) fn trivial(bits: u32, c: i64) -> Result<Cipher, FheError> {
                let c = wrap(c, bits);
                match bits {
                    $($bits => Ok(Cipher::$var(<$ty>::encrypt_trivial(clear::<$clear>(c)?))),)*
                    other => Err(FheError::Internal(format!("no {other}-bit integer type"))),
                }
            }

            /// `self - other`, both of one integer width.
            pub(crate) fn sub(&self, other: &Cipher) -> Result<Cipher, FheError> {
                match (self, other) {
                    $((Cipher::$var(a), Cipher::$var(b)) => Ok(Cipher::$var(a - b)),)*
                    _ => Err(mismatch("sub", self, other)),
                }
            }

            /// `self * other`, both of one integer width.
            pub(crate) fn mul(&self, other: &Cipher) -> Result<Cipher, FheError> {
                match (self, other) {
                    $((Cipher::$var(a), Cipher::$var(b)) => Ok(Cipher::$var(a * b)),)*
                    _ => Err(mismatch("mul", self, other)),
                }
            }

            /// `self + c` modulo 2^N.
            pub(crate) fn add_scalar(&self, c: i64) -> Result<Cipher, FheError> {
                match self {
                    $(Cipher::$var(a) => Ok(Cipher::$var(a + clear::<$clear>(wrap(c, $bits))?)),)*
                    Cipher::Bool(_) => Err(FheError::Internal("scalar add on a bool".into())),
                }
            }

            /// `c - self` modulo 2^N.
            pub(crate) fn scalar_sub(&self, c: i64) -> Result<Cipher, FheError> {
                match self {
                    $(Cipher::$var(a) => Ok(Cipher::$var(clear::<$clear>(wrap(c, $bits))? - a)),)*
                    Cipher::Bool(_) => Err(FheError::Internal("scalar sub on a bool".into())),
                }
            }

            /// `self * c` modulo 2^N.
            pub(crate) fn mul_scalar(&self, c: i64) -> Result<Cipher, FheError> {
                match self {
                    $(Cipher::$var(a) => Ok(Cipher::$var(a * clear::<$clear>(wrap(c, $bits))?)),)*
                    Cipher::Bool(_) => Err(FheError::Internal("scalar mul on a bool".into())),
                }
            }

            /// `op(self, other)`, both of one integer width (signed comparison).
            pub(crate) fn compare(&self, op: Cmp, other: &Cipher) -> Result<FheBool, FheError> {
                match (self, other) {
                    $((Cipher::$var(a), Cipher::$var(b)) => Ok(match op {
                        Cmp::Lt => a.lt(b),
                        Cmp::Le => a.le(b),
                        Cmp::Gt => a.gt(b),
                        Cmp::Ge => a.ge(b),
                        Cmp::Eq => a.eq(b),
                    }),)*
                    _ => Err(mismatch("compare", self, other)),
                }
            }

            /// `op(self, c)`; `c` must fit the width (the evaluator folds comparisons with
            /// constants outside the operand's range).
            pub(crate) fn compare_scalar(&self, op: Cmp, c: i64) -> Result<FheBool, FheError> {
                match self {
                    $(Cipher::$var(a) => {
                        if !fits(c, $bits) {
                            return Err(FheError::Internal(format!(
                                "comparison constant {c} does not fit {} bits", $bits
                            )));
                        }
                        let c = clear::<$clear>(c)?;
                        Ok(match op {
                            Cmp::Lt => a.lt(c),
                            Cmp::Le => a.le(c),
                            Cmp::Gt => a.gt(c),
                            Cmp::Ge => a.ge(c),
                            Cmp::Eq => a.eq(c),
                        })
                    })*
                    Cipher::Bool(_) => Err(FheError::Internal("scalar compare on a bool".into())),
                }
            }

            /// The sum of `terms`, all of this width, by tfhe's multi-operand addition
            /// (carry-save partial sums in a tree, one carry propagation at the end).
            pub(crate) fn sum(bits: u32, terms: &[Cipher]) -> Result<Cipher, FheError> {
                match bits {
                    $($bits => {
                        let mut items = Vec::with_capacity(terms.len());
                        for t in terms {
                            match t {
                                Cipher::$var(x) => items.push(x),
                                other => return Err(FheError::Internal(format!(
                                    "sum of {bits}-bit values got {:?}", other.kind()
                                ))),
                            }
                        }
                        Ok(Cipher::$var(items.into_iter().sum::<$ty>()))
                    })*
                    other => Err(FheError::Internal(format!("no {other}-bit integer type"))),
                }
            }

            /// `cond ? if_true : if_false`, both of one integer width.
            pub(crate) fn select(
                cond: &FheBool,
                if_true: &Cipher,
                if_false: &Cipher,
            ) -> Result<Cipher, FheError> {
                match (if_true, if_false) {
                    $((Cipher::$var(t), Cipher::$var(f)) => Ok(Cipher::$var(cond.select(t, f))),)*
                    (Cipher::Bool(t), Cipher::Bool(f)) => Ok(Cipher::Bool(cond.select(t, f))),
                    _ => Err(mismatch("select", if_true, if_false)),
                }
            }

            /// Decrypts with the requester's client key.
            pub(crate) fn decrypt(&self, key: &ClientKey) -> i64 {
                match self {
                    Cipher::Bool(b) => i64::from(b.decrypt(key)),
                    $(Cipher::$var(x) => {
                        let v: $clear = x.decrypt(key);
                        i64::from(v)
                    })*
                }
            }

            /// tfhe's safe serialization of this value.
            pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, FheError> {
                let mut out = Vec::new();
                let result = match self {
                    Cipher::Bool(b) => tfhe::safe_serialization::safe_serialize(
                        b, &mut out, OUTPUT_VALUE_BYTES_MAX,
                    ),
                    $(Cipher::$var(x) => tfhe::safe_serialization::safe_serialize(
                        x, &mut out, OUTPUT_VALUE_BYTES_MAX,
                    ),)*
                };
                result.map_err(|e| FheError::Tfhe(e.to_string()))?;
                Ok(out)
            }

            /// Reads a value of `kind` with tfhe's safe deserializer: size limit, header and
            /// type check, then conformance with the pinned computation parameters.
            pub(crate) fn from_bytes(kind: Kind, bytes: &[u8]) -> Result<Cipher, FheError> {
                const WHAT: &str = "encrypted output value";
                let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                if len > OUTPUT_VALUE_BYTES_MAX {
                    return Err(FheError::TooLarge { what: WHAT, len, max: OUTPUT_VALUE_BYTES_MAX });
                }
                let config = DeserializationConfig::new(OUTPUT_VALUE_BYTES_MAX).disable_conformance();
                let malformed = |reason: String| FheError::Malformed { what: WHAT, reason };
                let not_conformant = || FheError::NotConformant {
                    what: WHAT,
                    expected: format!("{kind:?} under {PARAMETER_SET_NAME}"),
                };
                match kind {
                    Kind::Bool => {
                        let b: FheBool = config.deserialize_from(bytes).map_err(malformed)?;
                        if !blocks_conform(std::slice::from_ref(&b.clone().into_raw_parts()), 1) {
                            return Err(not_conformant());
                        }
                        Ok(Cipher::Bool(b))
                    }
                    $(Kind::Int($bits) => {
                        let x: $ty = config.deserialize_from(bytes).map_err(malformed)?;
                        let (raw, ..) = x.clone().into_raw_parts();
                        if !blocks_conform(raw.blocks(), ($bits / BLOCK_BITS) as usize) {
                            return Err(not_conformant());
                        }
                        Ok(Cipher::$var(x))
                    })*
                    Kind::Int(other) => Err(FheError::Shape {
                        what: WHAT,
                        reason: format!("no {other}-bit integer type"),
                    }),
                }
            }

            /// Takes element `index` of an expanded compact list as a value of `kind`.
            pub(crate) fn from_expanded(
                list: &tfhe::CompactCiphertextListExpander,
                index: usize,
                kind: Kind,
            ) -> Result<Cipher, FheError> {
                let shape = |reason: String| FheError::Shape {
                    what: "encrypted department inputs",
                    reason,
                };
                let missing = || shape(format!("no element {index}"));
                let tfhe_error = |e: tfhe::Error| shape(format!("element {index}: {e}"));
                match kind {
                    Kind::Bool => Ok(Cipher::Bool(
                        list.get::<FheBool>(index).map_err(tfhe_error)?.ok_or_else(missing)?,
                    )),
                    $(Kind::Int($bits) => Ok(Cipher::$var(
                        list.get::<$ty>(index).map_err(tfhe_error)?.ok_or_else(missing)?,
                    )),)*
                    Kind::Int(other) => Err(shape(format!("no {other}-bit integer type"))),
                }
            }
        }

        /// `c` cast to the integer type `T` (sign extension or dropped high blocks; a bool
        /// becomes 0 or 1).
        fn cast_to<T>(c: &Cipher) -> T
        where
            T: CastFrom<FheBool> $(+ CastFrom<$ty>)*,
        {
            match c {
                Cipher::Bool(b) => T::cast_from(b.clone()),
                $(Cipher::$var(x) => T::cast_from(x.clone()),)*
            }
        }

        /// `c` read as an unsigned integer of its own width, then cast to `T` (zero
        /// extension); only for values known to be non-negative.
        fn cast_via_unsigned<T>(c: &Cipher) -> T
        where
            T: CastFrom<FheBool> $(+ CastFrom<$uty>)*,
        {
            match c {
                Cipher::Bool(b) => T::cast_from(b.clone()),
                $(Cipher::$var(x) => T::cast_from(<$uty>::cast_from(x.clone())),)*
            }
        }

        /// Pushes `value` as a value of `kind` onto a compact list under construction.
        pub(crate) fn push_value(
            builder: &mut tfhe::CompactCiphertextListBuilder,
            kind: Kind,
            value: i64,
        ) -> Result<(), FheError> {
            match kind {
                Kind::Bool => {
                    builder.push(value != 0);
                }
                $(Kind::Int($bits) => {
                    if !fits(value, $bits) {
                        return Err(FheError::Internal(format!(
                            "input value {value} does not fit its {}-bit encoding", $bits
                        )));
                    }
                    builder.push_with_num_bits(clear::<$clear>(value)?, $bits)
                        .map_err(|e| FheError::Tfhe(e.to_string()))?;
                })*
                Kind::Int(other) => {
                    return Err(FheError::Internal(format!("no {other}-bit integer type")));
                }
            }
            Ok(())
        }
    };
}

ciphers! {
    I2: FheInt2, FheUint2, i8, 2;
    I4: FheInt4, FheUint4, i8, 4;
    I6: FheInt6, FheUint6, i8, 6;
    I8: FheInt8, FheUint8, i8, 8;
    I10: FheInt10, FheUint10, i16, 10;
    I12: FheInt12, FheUint12, i16, 12;
    I14: FheInt14, FheUint14, i16, 14;
    I16: FheInt16, FheUint16, i16, 16;
    I32: FheInt32, FheUint32, i32, 32;
    I64: FheInt64, FheUint64, i64, 64;
}

/// Whether `blocks` are `expected` well-formed ciphertexts of the pinned computation
/// parameters. tfhe's own conformance check is made for fresh encryptions (it wants the
/// full degree and the nominal noise level exactly); computed outputs may carry a smaller
/// degree (a condition is 0 or 1) or no noise (a public constant), so those two are bounded
/// here and everything else (LWE dimension, moduli, atomic pattern) is tfhe's check.
fn blocks_conform(blocks: &[tfhe::shortint::Ciphertext], expected: usize) -> bool {
    let base = compute_parameters().to_shortint_conformance_param();
    blocks.len() == expected
        && blocks.iter().all(|block| {
            let degree = block.degree;
            let noise_level = block.noise_level();
            degree.get() <= base.degree.get()
                && noise_level <= tfhe::shortint::ciphertext::NoiseLevel::NOMINAL
                && block.is_conformant(&tfhe::shortint::parameters::CiphertextConformanceParams {
                    degree,
                    noise_level,
                    ..base
                })
        })
}

/// `c` as tfhe's clear type of a width; the caller has reduced it to the width already.
fn clear<T: TryFrom<i64>>(c: i64) -> Result<T, FheError> {
    T::try_from(c)
        .map_err(|_| FheError::Internal(format!("constant {c} does not fit its clear type")))
}

fn mismatch(op: &str, a: &Cipher, b: &Cipher) -> FheError {
    FheError::Internal(format!(
        "{op} of {:?} and {:?}: operands must be cast to one width first",
        a.kind(),
        b.kind()
    ))
}

#[cfg(test)]
mod tests {
    use super::{fits, width_for, wrap};

    #[test]
    fn widths_and_wrapping() {
        assert_eq!(width_for(1), 2);
        assert_eq!(width_for(7), 8);
        assert_eq!(width_for(11), 12);
        assert_eq!(width_for(17), 32);
        assert_eq!(width_for(33), 64);
        assert_eq!(wrap(200, 8), -56);
        assert_eq!(wrap(-129, 8), 127);
        assert_eq!(wrap(5, 64), 5);
        assert!(fits(-128, 8));
        assert!(!fits(128, 8));
        assert!(fits(1, 2));
        assert!(!fits(2, 2));
    }
}
