//! Share vectors. One party holds two of the three replicated components of every element:
//! `a` is component i and `b` component i+1 (mod 3) for party P_i. A single party's
//! components are uniformly random (or fixed zero) and say nothing about the secret alone.
//!
//! Local operations (no communication) live here; anything that needs the party's index or
//! its neighbours is a method of [`crate::Party`].

use std::fmt;
use std::ops::Range;

use crate::MpcError;

/// Clears a share vector before its memory is freed. `zeroize` writes word by word with
/// volatile stores, which cost 15 % of a large multiplication; a plain `fill(0)` is a
/// memset, and `black_box` keeps the optimiser from removing it as a dead store.
pub(crate) fn wipe(words: &mut [u64]) {
    words.fill(0);
    std::hint::black_box(words);
}

/// Every share vector wipes both components on drop and prints only its length. A macro:
/// the same two trait impls for three types.
macro_rules! wiped_and_redacted {
    ($name:ident) => {
        impl Drop for $name {
            fn drop(&mut self) {
                wipe(&mut self.a);
                wipe(&mut self.b);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    concat!(stringify!($name), "(len {}, <redacted>)"),
                    self.len()
                )
            }
        }
    };
}

fn same_len(op: &'static str, left: usize, right: usize) -> Result<(), MpcError> {
    if left == right {
        Ok(())
    } else {
        Err(MpcError::LengthMismatch { op, left, right })
    }
}

/// Word-wise XOR of two share components: XOR of boolean shares is local.
fn xor_words(x: &[u64], y: &[u64]) -> Vec<u64> {
    x.iter().zip(y).map(|(x, y)| x ^ y).collect()
}

/// Replicated arithmetic shares of a vector over Z_2^64 (two's complement for signed values).
#[derive(Clone)]
pub struct ArithShares {
    pub(crate) a: Vec<u64>,
    pub(crate) b: Vec<u64>,
}

wiped_and_redacted!(ArithShares);

impl ArithShares {
    pub(crate) fn from_parts(a: Vec<u64>, b: Vec<u64>) -> ArithShares {
        debug_assert_eq!(a.len(), b.len());
        ArithShares { a, b }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// This party's two replicated components (i and i+1), for the statistical tests of
    /// what one party sees. Nothing in a protocol needs them; never log them.
    #[doc(hidden)]
    pub fn components_for_tests(&self) -> (Vec<u64>, Vec<u64>) {
        (self.a.clone(), self.b.clone())
    }

    /// Whether the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }

    fn zip_with(
        &self,
        other: &ArithShares,
        op: &'static str,
        f: impl Fn(u64, u64) -> u64,
    ) -> Result<ArithShares, MpcError> {
        same_len(op, self.len(), other.len())?;
        let a = self
            .a
            .iter()
            .zip(&other.a)
            .map(|(&x, &y)| f(x, y))
            .collect();
        let b = self
            .b
            .iter()
            .zip(&other.b)
            .map(|(&x, &y)| f(x, y))
            .collect();
        Ok(ArithShares { a, b })
    }

    /// Element-wise `self + other` (local).
    pub fn add(&self, other: &ArithShares) -> Result<ArithShares, MpcError> {
        self.zip_with(other, "add", u64::wrapping_add)
    }

    /// Element-wise `self - other` (local).
    pub fn sub(&self, other: &ArithShares) -> Result<ArithShares, MpcError> {
        self.zip_with(other, "sub", u64::wrapping_sub)
    }

    /// Element-wise `-self` (local).
    pub fn neg(&self) -> ArithShares {
        ArithShares {
            a: self.a.iter().map(|x| x.wrapping_neg()).collect(),
            b: self.b.iter().map(|x| x.wrapping_neg()).collect(),
        }
    }

    /// Element-wise product with a public vector (local).
    pub fn mul_public(&self, public: &[u64]) -> Result<ArithShares, MpcError> {
        same_len("mul_public", self.len(), public.len())?;
        Ok(ArithShares {
            a: self
                .a
                .iter()
                .zip(public)
                .map(|(&x, &c)| x.wrapping_mul(c))
                .collect(),
            b: self
                .b
                .iter()
                .zip(public)
                .map(|(&x, &c)| x.wrapping_mul(c))
                .collect(),
        })
    }

    /// Every element times one public constant (local).
    pub fn mul_const(&self, c: u64) -> ArithShares {
        ArithShares {
            a: self.a.iter().map(|&x| x.wrapping_mul(c)).collect(),
            b: self.b.iter().map(|&x| x.wrapping_mul(c)).collect(),
        }
    }

    /// The sum of all elements, as a one-element vector (local).
    pub fn sum(&self) -> ArithShares {
        let fold = |v: &[u64]| v.iter().fold(0u64, |s, &x| s.wrapping_add(x));
        ArithShares {
            a: vec![fold(&self.a)],
            b: vec![fold(&self.b)],
        }
    }

    /// Elements `range` as a new vector.
    pub fn slice(&self, range: Range<usize>) -> Result<ArithShares, MpcError> {
        if range.start > range.end || range.end > self.len() {
            return Err(MpcError::LengthMismatch {
                op: "slice",
                left: self.len(),
                right: range.end,
            });
        }
        Ok(ArithShares {
            a: self.a[range.clone()].to_vec(),
            b: self.b[range].to_vec(),
        })
    }

    /// The concatenation of `parts`, in order (local). Lets callers batch independent
    /// operations into one round.
    pub fn concat(parts: &[&ArithShares]) -> ArithShares {
        let total = parts.iter().map(|p| p.len()).sum();
        let mut a = Vec::with_capacity(total);
        let mut b = Vec::with_capacity(total);
        for p in parts {
            a.extend_from_slice(&p.a);
            b.extend_from_slice(&p.b);
        }
        ArithShares { a, b }
    }
}

/// Replicated boolean shares of a vector of bits, packed 64 to a `u64` word (element k is
/// bit k % 64 of word k / 64). Bits past `len` in the last word are meaningless.
#[derive(Clone)]
pub struct BitShares {
    pub(crate) len: usize,
    pub(crate) a: Vec<u64>,
    pub(crate) b: Vec<u64>,
}

impl BitShares {
    pub(crate) fn from_parts(len: usize, a: Vec<u64>, b: Vec<u64>) -> BitShares {
        debug_assert_eq!(a.len(), len.div_ceil(64));
        debug_assert_eq!(b.len(), len.div_ceil(64));
        BitShares { len, a, b }
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element-wise XOR (local).
    pub fn xor(&self, other: &BitShares) -> Result<BitShares, MpcError> {
        same_len("xor", self.len, other.len)?;
        Ok(BitShares::from_parts(
            self.len,
            xor_words(&self.a, &other.a),
            xor_words(&self.b, &other.b),
        ))
    }
}

wiped_and_redacted!(BitShares);

/// Replicated boolean shares of a vector of 64-bit values, bit-sliced: plane j (bit j of
/// every element) is a run of `len.div_ceil(64)` words, planes stored in order 0..64.
/// Produced by [`crate::Party::a2b`], consumed by [`crate::Party::b2a`].
#[derive(Clone)]
pub struct BoolShares {
    pub(crate) len: usize,
    pub(crate) a: Vec<u64>,
    pub(crate) b: Vec<u64>,
}

wiped_and_redacted!(BoolShares);

impl BoolShares {
    /// Number of 64-bit elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `bit` (0 = least significant) of every element, as bit shares (local).
    pub fn bit(&self, bit: u32) -> Result<BitShares, MpcError> {
        if bit >= 64 {
            return Err(MpcError::BadShift { bits: bit });
        }
        let w = self.len.div_ceil(64);
        let j = bit as usize;
        Ok(BitShares {
            len: self.len,
            a: self.a[j * w..(j + 1) * w].to_vec(),
            b: self.b[j * w..(j + 1) * w].to_vec(),
        })
    }

    /// Element-wise XOR of two bit-sliced vectors (local).
    pub fn xor(&self, other: &BoolShares) -> Result<BoolShares, MpcError> {
        same_len("xor", self.len, other.len)?;
        Ok(BoolShares {
            len: self.len,
            a: xor_words(&self.a, &other.a),
            b: xor_words(&self.b, &other.b),
        })
    }
}
