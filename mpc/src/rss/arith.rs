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
            let values = self.owned_values(owner, values)?;
            same_len("input", values.len(), len)?;
            let r = self.prg_prev.vec(len);
            let masked: Vec<u64> = values
                .iter()
                .zip(&r)
                .map(|(x, r)| x.wrapping_sub(*r))
                .collect();
            self.send(Peer::Next, &masked)?;
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

    /// The values of an input this party owns; the owner must pass them.
    pub(super) fn owned_values<T>(&self, owner: PartyId, values: Option<T>) -> Result<T, MpcError> {
        values.ok_or(MpcError::InputOwnership {
            owner,
            party: self.id,
            problem: "owns the input but passed no values",
        })
    }

    /// Public values as (trivial) shares: component 0 holds the value.
    pub fn public(&self, values: &[u64]) -> ArithShares {
        let (a, b) = self.component0_parts(values.to_vec());
        ArithShares::from_parts(a, b)
    }

    /// Element-wise `x + public` (local: only the holders of component 0 change it).
    pub fn add_public(&self, x: &ArithShares, public: &[u64]) -> Result<ArithShares, MpcError> {
        same_len("add_public", x.len(), public.len())?;
        let mut out = x.clone();
        if let Some(target) = self.component0_mut(&mut out.a, &mut out.b) {
            for (s, c) in target.iter_mut().zip(public) {
                *s = s.wrapping_add(*c);
            }
        }
        Ok(out)
    }

    /// `x + c` for every element (local).
    pub fn add_const(&self, x: &ArithShares, c: u64) -> ArithShares {
        let mut out = x.clone();
        if let Some(target) = self.component0_mut(&mut out.a, &mut out.b) {
            for s in target.iter_mut() {
                *s = s.wrapping_add(c);
            }
        }
        out
    }

    /// The sending half of a reveal, shared by arithmetic and boolean shares: each party
    /// passes its first component to the next party when that party is a receiver.
    /// Returns whether this party receives (and so must read the missing component).
    pub(crate) fn send_reveal(&mut self, first: &[u64], to: RevealTo) -> Result<bool, MpcError> {
        match to {
            RevealTo::All => {
                self.send(Peer::Next, first)?;
                Ok(true)
            }
            RevealTo::Party(p) => {
                if self.id.next() == p {
                    self.send(Peer::Next, first)?;
                }
                Ok(self.id == p)
            }
        }
    }

    /// Opens `x` to `to`. One round; with [`RevealTo::Party`] only the party before the
    /// receiver sends. Returns `Some(values)` on the parties that learn them.
    pub fn reveal(&mut self, x: &ArithShares, to: RevealTo) -> Result<Option<Vec<u64>>, MpcError> {
        self.stats.rounds += 1;
        let len = x.len();
        if !self.send_reveal(&x.a, to)? {
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

    /// This party's 3-out-of-3 additive share of `x`, for a receiver outside the session:
    /// its first replicated component plus a fresh PRF zero share α_i (the one
    /// multiplication uses: α_0 + α_1 + α_2 = 0), so the three results sum to the secret
    /// and each alone is uniformly random, independent of the replicated components. Local
    /// (no round); it advances the pairwise PRG streams, so every party calls it at the same
    /// point with the same length.
    pub(crate) fn additive_share(&mut self, x: &ArithShares) -> Vec<u64> {
        let mut z = x.a.clone();
        self.add_zero_share(&mut z);
        z
    }

    /// Element-wise product. One round, one ring element sent per element per party.
    pub fn mul(&mut self, x: &ArithShares, y: &ArithShares) -> Result<ArithShares, MpcError> {
        same_len("mul", x.len(), y.len())?;
        // The local cross terms x_i·(y_i + y_{i+1}) + x_{i+1}·y_i plus the zero share.
        let (a, b) =
            self.multiply_reshare((&x.a, &x.b), (&y.a, &y.b), |xa, xb, ya, yb, r, s| {
                xa.wrapping_mul(ya.wrapping_add(yb))
                    .wrapping_add(xb.wrapping_mul(ya))
                    .wrapping_add(r.wrapping_sub(s))
            })?;
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
        self.reshare_sum(z)
    }

    /// Row-wise weighted sum with secret weights: out[r] = Σ_j columns[j][r] · weights[j].
    /// One round whatever the number of columns.
    pub fn weighted_sum(
        &mut self,
        columns: &[&ArithShares],
        weights: &ArithShares,
    ) -> Result<ArithShares, MpcError> {
        let rows = weighted_rows("weighted_sum (columns vs weights)", columns, weights.len())?;
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
        self.reshare_sum(z)
    }

    /// Row-wise weighted sum with public weights (local).
    pub fn weighted_sum_public(
        &self,
        columns: &[&ArithShares],
        weights: &[u64],
    ) -> Result<ArithShares, MpcError> {
        let rows = weighted_rows(
            "weighted_sum_public (columns vs weights)",
            columns,
            weights.len(),
        )?;
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
        // All per-element work in one pass over L1-sized chunks of the common mask m and
        // the P0–P1 randomness r; only the two result vectors are allocated.
        const CHUNK: usize = 512;
        let mut m = [0u64; CHUNK];
        let mut r = [0u64; CHUNK];
        let mut first = Vec::with_capacity(len);
        let mut second = Vec::with_capacity(len);
        match self.id.index() {
            0 => {
                for x0 in x.a.chunks(CHUNK) {
                    let n = x0.len();
                    self.prg_common.fill(&mut m[..n]);
                    self.prg_next.fill(&mut r[..n]);
                    first.extend(
                        x0.iter()
                            .zip(&m[..n])
                            .map(|(x0, m)| x0.wrapping_add(*m) >> bits),
                    );
                    second.extend_from_slice(&r[..n]);
                }
                Ok(ArithShares::from_parts(first, second))
            }
            1 => {
                for (x1, x2) in x.a.chunks(CHUNK).zip(x.b.chunks(CHUNK)) {
                    let n = x1.len();
                    self.prg_common.fill(&mut m[..n]);
                    self.prg_prev.fill(&mut r[..n]);
                    first.extend_from_slice(&r[..n]);
                    second.extend(x1.iter().zip(x2).zip(m[..n].iter().zip(&r[..n])).map(
                        |((x1, x2), (m, r))| {
                            let b = x1.wrapping_add(*x2).wrapping_sub(*m);
                            (b.wrapping_neg() >> bits).wrapping_neg().wrapping_sub(*r)
                        },
                    ));
                }
                self.send(Peer::Next, &second)?;
                Ok(ArithShares::from_parts(first, second))
            }
            _ => {
                for x0 in x.b.chunks(CHUNK) {
                    let n = x0.len();
                    self.prg_common.fill(&mut m[..n]);
                    second.extend(
                        x0.iter()
                            .zip(&m[..n])
                            .map(|(x0, m)| x0.wrapping_add(*m) >> bits),
                    );
                }
                let y2 = self.recv(Peer::Prev, len)?;
                Ok(ArithShares::from_parts(y2, second))
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

/// The row count of a weighted sum's `columns`, after checking one weight per column.
fn weighted_rows(
    op: &'static str,
    columns: &[&ArithShares],
    weights: usize,
) -> Result<usize, MpcError> {
    same_len(op, columns.len(), weights)?;
    Ok(columns.first().map_or(0, |c| c.len()))
}

#[cfg(test)]
mod tests {
    use crate::{PartyId, run_three};

    /// The additive shares sum to the secret, and none equals the secret or the party's
    /// replicated component it starts from.
    #[test]
    fn additive_shares_sum_to_the_secret_and_are_rerandomised() {
        let secret: Vec<u64> = (0..256u64).map(|i| i * 3).collect();
        let results = run_three(|party| {
            let owned = (party.id() == PartyId::P0).then_some(&secret[..]);
            let x = party.input(PartyId::P0, owned, secret.len())?;
            let share = party.additive_share(&x);
            Ok((share, x.a.clone()))
        })
        .expect("three honest parties");
        for (i, value) in secret.iter().enumerate() {
            let sum = results
                .iter()
                .fold(0u64, |acc, (share, _)| acc.wrapping_add(share[i]));
            assert_eq!(sum, *value, "element {i}");
        }
        for (party, (share, component)) in results.iter().enumerate() {
            let same_as_component = share.iter().zip(component).filter(|(s, c)| s == c).count();
            let same_as_secret = share.iter().zip(&secret).filter(|(s, v)| s == v).count();
            assert_eq!(same_as_component, 0, "P{party} kept its component");
            assert_eq!(same_as_secret, 0, "P{party}'s share equals the secret");
        }
    }
}
