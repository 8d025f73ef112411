//! Boolean circuits on bit-sliced shares: the sign (MSB) of an arithmetic sharing and the
//! comparisons built on it, equality, a Kogge–Stone adder, and A2B/B2A.
//!
//! All of them start from the same observation (ABY3 §5.3): x = x₀ + (x₁ + x₂), where x₀ is
//! known to P0 and P2 and x₁ + x₂ to P1. So a two-operand boolean addition suffices: x₀ is a
//! trivial boolean sharing, P1 inputs x₁ + x₂ (one vector, one round), and the circuit adds
//! the two. Values are bit-sliced (plane j holds bit j of 64 elements per word), so every
//! gate of a circuit layer over a whole chunk goes into one `and_words` call, i.e. one frame
//! per neighbour per layer.
//!
//! Costs per element per party (AND gates = bits sent): MSB 63 + 118 ANDs plus P1's 64-bit
//! input, 8 rounds; equality 63 ANDs plus the input, 7 rounds.

use crate::limits::CHUNK_LEN_MAX;
use crate::rss::bits::Words;
use crate::rss::transpose::{from_planes, to_planes};
use crate::rss::{ArithShares, BitShares, BoolShares, Party, check_batch, same_len};
use crate::transport::Peer;
use crate::{MpcError, PartyId};

fn plane(v: &[u64], j: usize, w: usize) -> &[u64] {
    &v[j * w..(j + 1) * w]
}

fn xor_into(dst: &mut [u64], src: &[u64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// Gathers AND operands plane by plane into one batch.
struct AndBatch {
    xa: Vec<u64>,
    xb: Vec<u64>,
    ya: Vec<u64>,
    yb: Vec<u64>,
}

impl AndBatch {
    fn with_capacity(words: usize) -> AndBatch {
        AndBatch {
            xa: Vec::with_capacity(words),
            xb: Vec::with_capacity(words),
            ya: Vec::with_capacity(words),
            yb: Vec::with_capacity(words),
        }
    }

    fn push(&mut self, xa: &[u64], xb: &[u64], ya: &[u64], yb: &[u64]) {
        self.xa.extend_from_slice(xa);
        self.xb.extend_from_slice(xb);
        self.ya.extend_from_slice(ya);
        self.yb.extend_from_slice(yb);
    }
}

/// A prefix group of bit positions in the carry tree: its generate and propagate bits.
struct Group {
    g: Words,
    p: Words,
}

impl Party {
    /// The bit-sliced operands of x = U + V: U = component 0 of x (P0, P2), V = x₁ + x₂
    /// input by P1. `negate` shares −x instead (used by equality). One round.
    fn split_operands(
        &mut self,
        xa: &[u64],
        xb: &[u64],
        negate_v: bool,
    ) -> Result<(Words, Words), MpcError> {
        let w = xa.len().div_ceil(64);
        let u_planes = match self.id.index() {
            0 => to_planes(xa, 64),
            2 => to_planes(xb, 64),
            _ => vec![0u64; 64 * w],
        };
        let u = self.component0_words(u_planes);
        let v_planes = (self.id == PartyId::P1).then(|| {
            let v: Vec<u64> = xa
                .iter()
                .zip(xb)
                .map(|(a, b)| {
                    let s = a.wrapping_add(*b);
                    if negate_v { s.wrapping_neg() } else { s }
                })
                .collect();
            to_planes(&v, 64)
        });
        let v = self.input_words(PartyId::P1, v_planes, 64 * w)?;
        Ok((u, v))
    }

    /// The carry out of bit 62 into bit 63 of U + V, from generate/propagate leaves 0..62,
    /// with a log-depth tree that only keeps what the final carry needs. 6 rounds.
    fn carry_into_msb(&mut self, leaves_g: &Words, p: &Words, w: usize) -> Result<Words, MpcError> {
        let mut low = Words {
            a: plane(&leaves_g.a, 0, w).to_vec(),
            b: plane(&leaves_g.b, 0, w).to_vec(),
        };
        let mut rest: Vec<Group> = (1..63)
            .map(|j| Group {
                g: Words {
                    a: plane(&leaves_g.a, j, w).to_vec(),
                    b: plane(&leaves_g.b, j, w).to_vec(),
                },
                p: Words {
                    a: plane(&p.a, j, w).to_vec(),
                    b: plane(&p.b, j, w).to_vec(),
                },
            })
            .collect();
        while !rest.is_empty() {
            // Pairs: (low, rest[0]), then (rest[1], rest[2]), (rest[3], rest[4]), ...
            let pairs = (rest.len() - 1) / 2;
            let mut batch = AndBatch::with_capacity((1 + 2 * pairs) * w);
            batch.push(&rest[0].p.a, &rest[0].p.b, &low.a, &low.b);
            for k in 0..pairs {
                let (lo, hi) = (&rest[1 + 2 * k], &rest[2 + 2 * k]);
                batch.push(&hi.p.a, &hi.p.b, &lo.g.a, &lo.g.b);
                batch.push(&hi.p.a, &hi.p.b, &lo.p.a, &lo.p.b);
            }
            let out = self.and_words(&batch.xa, &batch.xb, &batch.ya, &batch.yb)?;
            let mut next_rest = Vec::with_capacity(pairs + 1);
            let mut new_low = Words {
                a: rest[0].g.a.clone(),
                b: rest[0].g.b.clone(),
            };
            xor_into(&mut new_low.a, plane(&out.a, 0, w));
            xor_into(&mut new_low.b, plane(&out.b, 0, w));
            for k in 0..pairs {
                let hi = &rest[2 + 2 * k];
                let mut g = Words {
                    a: hi.g.a.clone(),
                    b: hi.g.b.clone(),
                };
                xor_into(&mut g.a, plane(&out.a, 1 + 2 * k, w));
                xor_into(&mut g.b, plane(&out.b, 1 + 2 * k, w));
                let p = Words {
                    a: plane(&out.a, 2 + 2 * k, w).to_vec(),
                    b: plane(&out.b, 2 + 2 * k, w).to_vec(),
                };
                next_rest.push(Group { g, p });
            }
            if rest.len().is_multiple_of(2) {
                // An unpaired last group passes to the next level unchanged.
                if let Some(last) = rest.pop() {
                    next_rest.push(last);
                }
            }
            low = new_low;
            rest = next_rest;
        }
        Ok(low)
    }

    /// MSB of one chunk. 8 rounds.
    fn msb_chunk(&mut self, xa: &[u64], xb: &[u64]) -> Result<Words, MpcError> {
        let w = xa.len().div_ceil(64);
        let (u, v) = self.split_operands(xa, xb, false)?;
        let p = Words {
            a: u.a.iter().zip(&v.a).map(|(x, y)| x ^ y).collect(),
            b: u.b.iter().zip(&v.b).map(|(x, y)| x ^ y).collect(),
        };
        let g = self.and_words(
            &u.a[..63 * w],
            &u.b[..63 * w],
            &v.a[..63 * w],
            &v.b[..63 * w],
        )?;
        let mut msb = self.carry_into_msb(&g, &p, w)?;
        xor_into(&mut msb.a, plane(&p.a, 63, w));
        xor_into(&mut msb.b, plane(&p.b, 63, w));
        Ok(msb)
    }

    /// The most significant bit of every element (1 for negative signed values). 8 rounds
    /// per chunk (see [`Party::set_chunk_len`]).
    pub fn msb(&mut self, x: &ArithShares) -> Result<BitShares, MpcError> {
        self.bits_by_chunk(x, Self::msb_chunk)
    }

    /// One bit per element of `x` from `circuit`, run on chunks of [`Party::set_chunk_len`]
    /// elements (its packed bits appended in order).
    fn bits_by_chunk(
        &mut self,
        x: &ArithShares,
        circuit: impl Fn(&mut Self, &[u64], &[u64]) -> Result<Words, MpcError>,
    ) -> Result<BitShares, MpcError> {
        check_batch(x.len())?;
        let mut a = Vec::with_capacity(x.len().div_ceil(64));
        let mut b = Vec::with_capacity(x.len().div_ceil(64));
        let chunk = self.chunk_len;
        for (ca, cb) in x.a.chunks(chunk).zip(x.b.chunks(chunk)) {
            let bits = circuit(self, ca, cb)?;
            a.extend_from_slice(&bits.a);
            b.extend_from_slice(&bits.b);
        }
        Ok(BitShares::from_parts(x.len(), a, b))
    }

    /// Signed `x < c` for public `c` (exact when |x − c| < 2^63). 8 rounds.
    pub fn lt_public(&mut self, x: &ArithShares, c: &[u64]) -> Result<BitShares, MpcError> {
        let neg: Vec<u64> = c.iter().map(|v| v.wrapping_neg()).collect();
        let d = self.add_public(x, &neg)?;
        self.msb(&d)
    }

    /// Signed `x > c` for public `c`. 8 rounds.
    pub fn gt_public(&mut self, x: &ArithShares, c: &[u64]) -> Result<BitShares, MpcError> {
        let d = self.add_public(&x.neg(), c)?;
        self.msb(&d)
    }

    /// Signed `x ≥ c` for public `c`. 8 rounds.
    pub fn ge_public(&mut self, x: &ArithShares, c: &[u64]) -> Result<BitShares, MpcError> {
        let lt = self.lt_public(x, c)?;
        Ok(self.not(&lt))
    }

    /// Signed `x ≤ c` for public `c`. 8 rounds.
    pub fn le_public(&mut self, x: &ArithShares, c: &[u64]) -> Result<BitShares, MpcError> {
        let gt = self.gt_public(x, c)?;
        Ok(self.not(&gt))
    }

    /// Signed `x < c` for one public constant. 8 rounds.
    pub fn lt_const(&mut self, x: &ArithShares, c: u64) -> Result<BitShares, MpcError> {
        let d = self.add_const(x, c.wrapping_neg());
        self.msb(&d)
    }

    /// Signed `x > c` for one public constant. 8 rounds.
    pub fn gt_const(&mut self, x: &ArithShares, c: u64) -> Result<BitShares, MpcError> {
        let d = self.add_const(&x.neg(), c);
        self.msb(&d)
    }

    /// Signed `x < y` (exact when |x − y| < 2^63). 8 rounds.
    pub fn lt(&mut self, x: &ArithShares, y: &ArithShares) -> Result<BitShares, MpcError> {
        self.msb(&x.sub(y)?)
    }

    /// Signed `x > y`. 8 rounds.
    pub fn gt(&mut self, x: &ArithShares, y: &ArithShares) -> Result<BitShares, MpcError> {
        self.msb(&y.sub(x)?)
    }

    /// Signed `x ≥ y`. 8 rounds.
    pub fn ge(&mut self, x: &ArithShares, y: &ArithShares) -> Result<BitShares, MpcError> {
        let lt = self.lt(x, y)?;
        Ok(self.not(&lt))
    }

    /// Signed `x ≤ y`. 8 rounds.
    pub fn le(&mut self, x: &ArithShares, y: &ArithShares) -> Result<BitShares, MpcError> {
        let gt = self.gt(x, y)?;
        Ok(self.not(&gt))
    }

    /// Equality of one chunk: x == 0 iff x₀ == −(x₁ + x₂) bit for bit. 7 rounds.
    fn is_zero_chunk(&mut self, xa: &[u64], xb: &[u64]) -> Result<Words, MpcError> {
        let w = xa.len().div_ceil(64);
        let (u, v) = self.split_operands(xa, xb, true)?;
        let mut same = Words {
            a: u.a.iter().zip(&v.a).map(|(x, y)| x ^ y).collect(),
            b: u.b.iter().zip(&v.b).map(|(x, y)| x ^ y).collect(),
        };
        self.not_words(&mut same);
        // AND-reduce the 64 planes pairwise: 32, 16, 8, 4, 2, 1 gates per element.
        let mut planes = 64;
        while planes > 1 {
            let half = planes / 2;
            let out = self.and_words(
                &same.a[..half * w],
                &same.b[..half * w],
                &same.a[half * w..planes * w],
                &same.b[half * w..planes * w],
            )?;
            same = out;
            planes = half;
        }
        Ok(same)
    }

    /// Element-wise `x == y`. 7 rounds per chunk.
    pub fn eq(&mut self, x: &ArithShares, y: &ArithShares) -> Result<BitShares, MpcError> {
        let d = x.sub(y)?;
        self.bits_by_chunk(&d, Self::is_zero_chunk)
    }

    /// Element-wise `x == c` for public `c`. 7 rounds per chunk.
    pub fn eq_public(&mut self, x: &ArithShares, c: &[u64]) -> Result<BitShares, MpcError> {
        let public = self.public(c);
        self.eq(x, &public)
    }

    /// Bit-sliced U + V (mod 2^64) with a Kogge–Stone parallel-prefix adder. 7 rounds.
    fn add_planes(&mut self, u: &Words, v: &Words, w: usize) -> Result<Words, MpcError> {
        let p: Words = Words {
            a: u.a.iter().zip(&v.a).map(|(x, y)| x ^ y).collect(),
            b: u.b.iter().zip(&v.b).map(|(x, y)| x ^ y).collect(),
        };
        // G[j], P[j] for j in 0..63: carries out of bit j after the prefix levels.
        let mut g = self.and_words(
            &u.a[..63 * w],
            &u.b[..63 * w],
            &v.a[..63 * w],
            &v.b[..63 * w],
        )?;
        let mut pp = Words {
            a: p.a[..63 * w].to_vec(),
            b: p.b[..63 * w].to_vec(),
        };
        let mut k = 1;
        while k < 64 {
            let g_targets: Vec<usize> = (k..63).collect();
            let p_targets: Vec<usize> = (2 * k..63).collect();
            let mut batch = AndBatch::with_capacity((g_targets.len() + p_targets.len()) * w);
            // P[j]·G[j−k] for the G targets, then P[j]·P[j−k] for the P targets.
            for (targets, right) in [(&g_targets, &g), (&p_targets, &pp)] {
                for &j in targets {
                    batch.push(
                        plane(&pp.a, j, w),
                        plane(&pp.b, j, w),
                        plane(&right.a, j - k, w),
                        plane(&right.b, j - k, w),
                    );
                }
            }
            let out = self.and_words(&batch.xa, &batch.xb, &batch.ya, &batch.yb)?;
            for (i, &j) in g_targets.iter().enumerate() {
                xor_into(&mut g.a[j * w..(j + 1) * w], plane(&out.a, i, w));
                xor_into(&mut g.b[j * w..(j + 1) * w], plane(&out.b, i, w));
            }
            let offset = g_targets.len();
            for (i, &j) in p_targets.iter().enumerate() {
                pp.a[j * w..(j + 1) * w].copy_from_slice(plane(&out.a, offset + i, w));
                pp.b[j * w..(j + 1) * w].copy_from_slice(plane(&out.b, offset + i, w));
            }
            k *= 2;
        }
        // s_0 = p_0; s_j = p_j ⊕ carry out of bit j−1.
        let mut sum = p;
        for j in 1..64 {
            xor_into(&mut sum.a[j * w..(j + 1) * w], plane(&g.a, j - 1, w));
            xor_into(&mut sum.b[j * w..(j + 1) * w], plane(&g.b, j - 1, w));
        }
        Ok(sum)
    }

    /// Arithmetic to boolean: the bit-sliced two's-complement bits of every element.
    /// 8 rounds; at most [`CHUNK_LEN_MAX`] elements per call.
    pub fn a2b(&mut self, x: &ArithShares) -> Result<BoolShares, MpcError> {
        if x.len() > CHUNK_LEN_MAX {
            return Err(MpcError::BatchTooLarge {
                len: x.len(),
                max: CHUNK_LEN_MAX,
            });
        }
        let w = x.len().div_ceil(64);
        let (u, v) = self.split_operands(&x.a, &x.b, false)?;
        let s = self.add_planes(&u, &v, w)?;
        Ok(BoolShares {
            len: x.len(),
            a: s.a,
            b: s.b,
        })
    }

    /// Boolean to arithmetic. 9 rounds; at most [`CHUNK_LEN_MAX`] elements per call.
    ///
    /// Components 1 and 2 of the result are fresh randomness c₁ (P0–P1 PRG) and c₂ (P1–P2
    /// PRG); P1 inputs −(c₁ + c₂) in boolean form, the adder computes w = x − c₁ − c₂, and w
    /// is opened to P0 and P2 only, who hold component 0. P0 knows c₁ but not c₂ and P2
    /// knows c₂ but not c₁, so w tells neither anything about x.
    pub fn b2a(&mut self, x: &BoolShares) -> Result<ArithShares, MpcError> {
        let len = x.len;
        if len > CHUNK_LEN_MAX {
            return Err(MpcError::BatchTooLarge {
                len,
                max: CHUNK_LEN_MAX,
            });
        }
        let w = len.div_ceil(64);
        same_len("b2a", x.a.len(), 64 * w)?;
        let (c1, c2) = match self.id.index() {
            0 => (self.prg_next.vec(len), Vec::new()),
            1 => (self.prg_prev.vec(len), self.prg_next.vec(len)),
            _ => (Vec::new(), self.prg_prev.vec(len)),
        };
        let t_planes = (self.id == PartyId::P1).then(|| {
            let t: Vec<u64> = c1
                .iter()
                .zip(&c2)
                .map(|(a, b)| a.wrapping_add(*b).wrapping_neg())
                .collect();
            to_planes(&t, 64)
        });
        let t = self.input_words(PartyId::P1, t_planes, 64 * w)?;
        let xw = Words {
            a: x.a.clone(),
            b: x.b.clone(),
        };
        let masked = self.add_planes(&xw, &t, w)?;
        // Open w to P0 (missing component 2, from P2) and P2 (missing component 1, from P1).
        self.stats.rounds += 1;
        let open = |party: &mut Party| -> Result<Vec<u64>, MpcError> {
            let missing = party.recv(Peer::Prev, 64 * w)?;
            let planes: Vec<u64> = masked
                .a
                .iter()
                .zip(&masked.b)
                .zip(&missing)
                .map(|((a, b), c)| a ^ b ^ c)
                .collect();
            Ok(from_planes(&planes, len))
        };
        match self.id.index() {
            0 => {
                let opened = open(self)?;
                Ok(ArithShares::from_parts(opened, c1))
            }
            1 => {
                self.send(Peer::Next, &masked.a)?;
                Ok(ArithShares::from_parts(c1, c2))
            }
            _ => {
                self.send(Peer::Next, &masked.a)?;
                let opened = open(self)?;
                Ok(ArithShares::from_parts(c2, opened))
            }
        }
    }
}
