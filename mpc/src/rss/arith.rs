//! Arithmetic protocols over Z_2^64: input, public constants, reveal, multiplication, dot
//! products and probabilistic truncation.

use crate::rss::{ArithShares, Party, RevealTo, check_batch, same_len};
use crate::transport::Peer;
use crate::{MpcError, PartyId};

impl Party {
    /// Secret-shares `len` values owned by `owner`. The owner passes `Some(values)`, the
    /// others `None`. One round in which only the owner sends (one vector, to its next
    /// neighbour): component o is drawn from the PRG the owner shares with P_{o−1},
    /// component o+1 is `x − r` and component o+2 is zero, so each other party sees one
    /// uniformly random component.
    pub fn input(
        &mut self,
        owner: PartyId,
        values: Option<&[u64]>,
        len: usize,
    ) -> Result<ArithShares, MpcError> {
        check_batch(len)?;
        self.stats.rounds += 1;
        if self.id == owner {
            let values = values.ok_or(MpcError::InputOwnership {
                owner,
                party: self.id,
                problem: "owns the input but passed no values",
            })?;
            same_len("input", values.len(), len)?;
            let r = self.prg_prev.vec(len);
            let masked: Vec<u64> = values
                .iter()
                .zip(&r)
                .map(|(x, r)| x.wrapping_sub(*r))
                .collect();
            self.send(Peer::Next, masked.clone())?;
            Ok(ArithShares::from_parts(r, masked))
        } else if values.is_some() {
            Err(MpcError::InputOwnership {
                owner,
                party: self.id,
                problem: "passed values for an input it does not own",
            })
        } else if self.id == owner.next() {
            let masked = self.recv(Peer::Prev, len)?;
            Ok(ArithShares::from_parts(masked, vec![0; len]))
        } else {
            let r = self.prg_next.vec(len);
            Ok(ArithShares::from_parts(vec![0; len], r))
        }
    }

    /// Public values as (trivial) shares: component 0 holds the value.
    pub fn public(&self, values: &[u64]) -> ArithShares {
        let zeros = vec![0u64; values.len()];
        match self.id.index() {
            0 => ArithShares::from_parts(values.to_vec(), zeros),
            2 => ArithShares::from_parts(zeros, values.to_vec()),
            _ => ArithShares::from_parts(zeros.clone(), zeros),
        }
    }

    /// Element-wise `x + public` (local: only the holders of component 0 change it).
    pub fn add_public(&self, x: &ArithShares, public: &[u64]) -> Result<ArithShares, MpcError> {
        same_len("add_public", x.len(), public.len())?;
        let mut out = x.clone();
        let target = match self.id.index() {
            0 => Some(&mut out.a),
            2 => Some(&mut out.b),
            _ => None,
        };
        if let Some(target) = target {
            for (s, c) in target.iter_mut().zip(public) {
                *s = s.wrapping_add(*c);
            }
        }
        Ok(out)
    }

    /// `x + c` for every element (local).
    pub fn add_const(&self, x: &ArithShares, c: u64) -> ArithShares {
        let mut out = x.clone();
        let target = match self.id.index() {
            0 => Some(&mut out.a),
            2 => Some(&mut out.b),
            _ => None,
        };
        if let Some(target) = target {
            for s in target.iter_mut() {
                *s = s.wrapping_add(c);
            }
        }
        out
    }

    /// Opens `x` to `to`. One round; with [`RevealTo::Party`] only the party before the
    /// receiver sends. Returns `Some(values)` on the parties that learn them.
    pub fn reveal(&mut self, x: &ArithShares, to: RevealTo) -> Result<Option<Vec<u64>>, MpcError> {
        self.stats.rounds += 1;
        let len = x.len();
        let receives = match to {
            RevealTo::All => {
                self.send(Peer::Next, x.a.clone())?;
                true
            }
            RevealTo::Party(p) => {
                if self.id.next() == p {
                    self.send(Peer::Next, x.a.clone())?;
                }
                self.id == p
            }
        };
        if !receives {
            return Ok(None);
        }
        let missing = self.recv(Peer::Prev, len)?;
        Ok(Some(
            x.a.iter()
                .zip(&x.b)
                .zip(&missing)
                .map(|((a, b), c)| a.wrapping_add(*b).wrapping_add(*c))
                .collect(),
        ))
    }

    /// Element-wise product. One round, one ring element sent per element per party.
    pub fn mul(&mut self, x: &ArithShares, y: &ArithShares) -> Result<ArithShares, MpcError> {
        same_len("mul", x.len(), y.len())?;
        let mut z: Vec<u64> = (0..x.len())
            .map(|k| {
                let (xa, xb, ya, yb) = (x.a[k], x.b[k], y.a[k], y.b[k]);
                xa.wrapping_mul(ya)
                    .wrapping_add(xa.wrapping_mul(yb))
                    .wrapping_add(xb.wrapping_mul(ya))
            })
            .collect();
        self.add_zero_share(&mut z);
        let (a, b) = self.reshare(z)?;
        Ok(ArithShares::from_parts(a, b))
    }

    /// Σ_j xs[j] ⊙ ys[j] (element-wise products summed over j): one round for the whole
    /// sum, the cost of a single multiplication.
    pub fn dot(
        &mut self,
        xs: &[&ArithShares],
        ys: &[&ArithShares],
    ) -> Result<ArithShares, MpcError> {
        same_len("dot (number of terms)", xs.len(), ys.len())?;
        let len = xs.first().map_or(0, |x| x.len());
        let mut z = vec![0u64; len];
        for (x, y) in xs.iter().zip(ys) {
            same_len("dot", x.len(), len)?;
            same_len("dot", y.len(), len)?;
            for (k, zk) in z.iter_mut().enumerate() {
                let (xa, xb, ya, yb) = (x.a[k], x.b[k], y.a[k], y.b[k]);
                *zk = zk
                    .wrapping_add(xa.wrapping_mul(ya))
                    .wrapping_add(xa.wrapping_mul(yb))
                    .wrapping_add(xb.wrapping_mul(ya));
            }
        }
        self.add_zero_share(&mut z);
        let (a, b) = self.reshare(z)?;
        Ok(ArithShares::from_parts(a, b))
    }

    /// Row-wise weighted sum with secret weights: out[r] = Σ_j columns[j][r] · weights[j].
    /// One round whatever the number of columns.
    pub fn weighted_sum(
        &mut self,
        columns: &[&ArithShares],
        weights: &ArithShares,
    ) -> Result<ArithShares, MpcError> {
        same_len(
            "weighted_sum (columns vs weights)",
            columns.len(),
            weights.len(),
        )?;
        let rows = columns.first().map_or(0, |c| c.len());
        let mut z = vec![0u64; rows];
        for (j, column) in columns.iter().enumerate() {
            same_len("weighted_sum", column.len(), rows)?;
            let (wa, wb) = (weights.a[j], weights.b[j]);
            let sum_w = wa.wrapping_add(wb);
            for ((zk, ca), cb) in z.iter_mut().zip(&column.a).zip(&column.b) {
                // ca·wa + ca·wb + cb·wa = ca·(wa+wb) + cb·wa
                *zk = zk
                    .wrapping_add(ca.wrapping_mul(sum_w))
                    .wrapping_add(cb.wrapping_mul(wa));
            }
        }
        self.add_zero_share(&mut z);
        let (a, b) = self.reshare(z)?;
        Ok(ArithShares::from_parts(a, b))
    }

    /// Row-wise weighted sum with public weights (local).
    pub fn weighted_sum_public(
        &self,
        columns: &[&ArithShares],
        weights: &[u64],
    ) -> Result<ArithShares, MpcError> {
        same_len(
            "weighted_sum_public (columns vs weights)",
            columns.len(),
            weights.len(),
        )?;
        let rows = columns.first().map_or(0, |c| c.len());
        let mut a = vec![0u64; rows];
        let mut b = vec![0u64; rows];
        for (column, &w) in columns.iter().zip(weights) {
            same_len("weighted_sum_public", column.len(), rows)?;
            for k in 0..rows {
                a[k] = a[k].wrapping_add(column.a[k].wrapping_mul(w));
                b[k] = b[k].wrapping_add(column.b[k].wrapping_mul(w));
            }
        }
        Ok(ArithShares::from_parts(a, b))
    }

    /// Probabilistic truncation by `bits` (arithmetic shift right of signed values): the
    /// result is ⌊x / 2^bits⌋ or that plus one, except with probability about |x| / 2^63.
    ///
    /// One round, one message (P1 → P2). The sharing is viewed as a two-party sharing
    /// A = x₀ + m (held by P0 and P2) and B = x₁ + x₂ − m (held by P1), with m from the
    /// common PRG so that A is uniform whatever produced x; A and B are truncated locally
    /// as in SecureML (Mohassel–Zhang 2017, Thm. 1) and re-shared as (A′, r, B′ − r) with r
    /// from the P0–P1 PRG.
    pub fn trunc(&mut self, x: &ArithShares, bits: u32) -> Result<ArithShares, MpcError> {
        if !(1..=63).contains(&bits) {
            return Err(MpcError::BadShift { bits });
        }
        self.stats.rounds += 1;
        let len = x.len();
        let m = self.prg_common.vec(len);
        match self.id.index() {
            0 => {
                let a =
                    x.a.iter()
                        .zip(&m)
                        .map(|(x0, m)| x0.wrapping_add(*m) >> bits)
                        .collect();
                let r = self.prg_next.vec(len);
                Ok(ArithShares::from_parts(a, r))
            }
            1 => {
                let r = self.prg_prev.vec(len);
                let y2: Vec<u64> = (0..len)
                    .map(|k| {
                        let b = x.a[k].wrapping_add(x.b[k]).wrapping_sub(m[k]);
                        (b.wrapping_neg() >> bits).wrapping_neg().wrapping_sub(r[k])
                    })
                    .collect();
                self.send(Peer::Next, y2.clone())?;
                Ok(ArithShares::from_parts(r, y2))
            }
            _ => {
                let y2 = self.recv(Peer::Prev, len)?;
                let a0 =
                    x.b.iter()
                        .zip(&m)
                        .map(|(x0, m)| x0.wrapping_add(*m) >> bits)
                        .collect();
                Ok(ArithShares::from_parts(y2, a0))
            }
        }
    }

    /// Fixed-point product: `mul` then `trunc(frac_bits)`. Two rounds.
    pub fn mul_fixed(
        &mut self,
        x: &ArithShares,
        y: &ArithShares,
        frac_bits: u32,
    ) -> Result<ArithShares, MpcError> {
        let product = self.mul(x, y)?;
        self.trunc(&product, frac_bits)
    }

    /// Fixed-point weighted sum with secret weights: `weighted_sum` then one truncation.
    /// Two rounds for any number of columns.
    pub fn weighted_sum_fixed(
        &mut self,
        columns: &[&ArithShares],
        weights: &ArithShares,
        frac_bits: u32,
    ) -> Result<ArithShares, MpcError> {
        let sum = self.weighted_sum(columns, weights)?;
        self.trunc(&sum, frac_bits)
    }
}
