//! Bit injection (boolean bit → arithmetic 0/1), select, range lookup and max.

use crate::MpcError;
use crate::limits::RANGE_TABLE_LEN_MAX;
use crate::rss::transpose::unpack_bits;
use crate::rss::{ArithShares, BitShares, Party};
use crate::transport::Peer;

/// A piecewise-constant function of a signed integer: `values[i]` where i is the number of
/// `thresholds` that are ≤ x. Thresholds strictly increase; there is one more value than
/// thresholds. Public data (a model's cut-offs and scores).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeTable {
    thresholds: Vec<i64>,
    values: Vec<u64>,
}

impl RangeTable {
    /// A table; fails unless thresholds strictly increase, values has one more entry, and
    /// there are at most [`RANGE_TABLE_LEN_MAX`] thresholds.
    pub fn new(thresholds: Vec<i64>, values: Vec<u64>) -> Result<RangeTable, MpcError> {
        if values.len() != thresholds.len() + 1 {
            return Err(MpcError::BadRangeTable {
                reason: "there must be exactly one more value than thresholds",
            });
        }
        if thresholds.len() > RANGE_TABLE_LEN_MAX {
            return Err(MpcError::BadRangeTable {
                reason: "more than RANGE_TABLE_LEN_MAX thresholds",
            });
        }
        if thresholds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(MpcError::BadRangeTable {
                reason: "thresholds must strictly increase",
            });
        }
        Ok(RangeTable { thresholds, values })
    }

    /// The plaintext function (the reference the MPC result must equal).
    pub fn eval(&self, x: i64) -> u64 {
        let i = self.thresholds.iter().take_while(|&&t| t <= x).count();
        self.values[i]
    }

    /// The thresholds.
    pub fn thresholds(&self) -> &[i64] {
        &self.thresholds
    }

    /// The values.
    pub fn values(&self) -> &[u64] {
        &self.values
    }
}

impl Party {
    /// Bit injection: boolean-shared bits to arithmetic shares of 0/1. Two rounds.
    ///
    /// b = t ⊕ b₂ with t = b₀ ⊕ b₁ known to P0 and b₂ to P1 and P2. Round 1: P0 inputs t
    /// arithmetically (components r, t − r, 0 with r from the P2–P0 PRG). Round 2: the
    /// 3-out-of-3 shares of t + b₂ − 2·t·b₂ are r (P0), t₁·(1 − 2b₂) (P1) and b₂·(1 − 2r)
    /// (P2), re-randomised with a zero sharing and reshared like a product.
    pub fn bit_to_arith(&mut self, bits: &BitShares) -> Result<ArithShares, MpcError> {
        let len = bits.len;
        self.stats.rounds += 1;
        let local: Vec<u64> = match self.id.index() {
            0 => {
                let t: Vec<u64> = bits.a.iter().zip(&bits.b).map(|(a, b)| a ^ b).collect();
                let t = unpack_bits(&t, len);
                let r = self.prg_prev.vec(len);
                let t1: Vec<u64> = t.iter().zip(&r).map(|(t, r)| t.wrapping_sub(*r)).collect();
                self.send(Peer::Next, &t1)?;
                r
            }
            1 => {
                let t1 = self.recv(Peer::Prev, len)?;
                let b2 = unpack_bits(&bits.b, len);
                t1.iter()
                    .zip(&b2)
                    .map(|(t, b)| t.wrapping_mul(1u64.wrapping_sub(b << 1)))
                    .collect()
            }
            _ => {
                let r = self.prg_next.vec(len);
                let b2 = unpack_bits(&bits.a, len);
                r.iter()
                    .zip(&b2)
                    .map(|(r, b)| b.wrapping_mul(1u64.wrapping_sub(r << 1)))
                    .collect()
            }
        };
        self.reshare_sum(local)
    }

    /// Element-wise `if cond { if_true } else { if_false }`. Three rounds.
    pub fn select(
        &mut self,
        cond: &BitShares,
        if_true: &ArithShares,
        if_false: &ArithShares,
    ) -> Result<ArithShares, MpcError> {
        if cond.len != if_true.len() {
            return Err(MpcError::LengthMismatch {
                op: "select",
                left: cond.len,
                right: if_true.len(),
            });
        }
        let diff = if_true.sub(if_false)?;
        let c = self.bit_to_arith(cond)?;
        let picked = self.mul(&c, &diff)?;
        picked.add(if_false)
    }

    /// Piecewise-constant lookup of signed integers: `table.eval(x)` per element. All
    /// threshold comparisons go in one batch: 10 rounds whatever the table size.
    pub fn range_lookup(
        &mut self,
        x: &ArithShares,
        table: &RangeTable,
    ) -> Result<ArithShares, MpcError> {
        let n = x.len();
        let k = table.thresholds.len();
        let last = table.values.last().copied().unwrap_or(0);
        if k == 0 {
            return Ok(self.add_const(&self.public(&vec![0; n]), last));
        }
        // f(x) = values[k] − Σ_j (values[j+1] − values[j]) · [x < t_j]
        let copies: Vec<&ArithShares> = std::iter::repeat_n(x, k).collect();
        let all = ArithShares::concat(&copies);
        let thresholds: Vec<u64> = table
            .thresholds
            .iter()
            .flat_map(|&t| std::iter::repeat_n(t as u64, n))
            .collect();
        let below = self.lt_public(&all, &thresholds)?;
        let below = self.bit_to_arith(&below)?;
        let steps: Vec<u64> = table
            .values
            .windows(2)
            .flat_map(|w| std::iter::repeat_n(w[1].wrapping_sub(w[0]), n))
            .collect();
        let weighted = below.mul_public(&steps)?;
        let mut a = vec![0u64; n];
        let mut b = vec![0u64; n];
        for j in 0..k {
            for r in 0..n {
                a[r] = a[r].wrapping_add(weighted.a[j * n + r]);
                b[r] = b[r].wrapping_add(weighted.b[j * n + r]);
            }
        }
        let total = ArithShares::from_parts(a, b).neg();
        Ok(self.add_const(&total, last))
    }

    /// Element-wise signed maximum. 11 rounds.
    pub fn max_elementwise(
        &mut self,
        x: &ArithShares,
        y: &ArithShares,
    ) -> Result<ArithShares, MpcError> {
        let x_less = self.lt(x, y)?;
        self.select(&x_less, y, x)
    }

    /// The signed maximum of all elements, as a one-element vector (a tournament:
    /// ⌈log₂ n⌉ levels of 11 rounds). Fails on an empty vector.
    pub fn max(&mut self, x: &ArithShares) -> Result<ArithShares, MpcError> {
        if x.is_empty() {
            return Err(MpcError::LengthMismatch {
                op: "max of an empty vector",
                left: 0,
                right: 1,
            });
        }
        let mut current = x.clone();
        while current.len() > 1 {
            let half = current.len() / 2;
            let left = current.slice(0..half)?;
            let right = current.slice(half..2 * half)?;
            let winners = self.max_elementwise(&left, &right)?;
            current = if current.len() % 2 == 1 {
                let odd = current.slice(2 * half..current.len())?;
                ArithShares::concat(&[&winners, &odd])
            } else {
                winners
            };
        }
        Ok(current)
    }
}
