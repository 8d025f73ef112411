//! Boolean protocols on packed bits: AND (one round), OR, NOT, XOR with public bits, bit
//! input and reveal. The circuits in `circuits` use [`Party::and_words`] on whole batches of
//! bit-planes, so one round carries every AND gate of a circuit layer.

use crate::rss::transpose::unpack_bits;
use crate::rss::{BitShares, Party, RevealTo, same_len};
use crate::transport::Peer;
use crate::{MpcError, PartyId};

/// Replicated boolean words (an internal working form for circuits).
pub(crate) struct Words {
    pub(crate) a: Vec<u64>,
    pub(crate) b: Vec<u64>,
}

impl Party {
    /// AND of replicated words: z_i = x_i·y_i ⊕ x_i·y_{i+1} ⊕ x_{i+1}·y_i ⊕ α_i, then reshare.
    /// One round; each party sends one word per input word.
    pub(crate) fn and_words(
        &mut self,
        xa: &[u64],
        xb: &[u64],
        ya: &[u64],
        yb: &[u64],
    ) -> Result<Words, MpcError> {
        debug_assert!(xa.len() == xb.len() && ya.len() == yb.len() && xa.len() == ya.len());
        let (a, b) = self.multiply_reshare((xa, xb), (ya, yb), |xa, xb, ya, yb, r, s| {
            (xa & (ya ^ yb)) ^ (xb & ya) ^ r ^ s
        })?;
        Ok(Words { a, b })
    }

    /// Boolean input of words known to `owner` alone (same layout as arithmetic input:
    /// one vector from the owner to its next neighbour). One round.
    pub(crate) fn input_words(
        &mut self,
        owner: PartyId,
        values: Option<Vec<u64>>,
        len: usize,
    ) -> Result<Words, MpcError> {
        self.stats.rounds += 1;
        if self.id == owner {
            let mut masked = self.owned_values(owner, values)?;
            same_len("input_words", masked.len(), len)?;
            let r = self.prg_prev.vec(len);
            for (m, r) in masked.iter_mut().zip(&r) {
                *m ^= r;
            }
            self.send(Peer::Next, &masked)?;
            Ok(Words { a: r, b: masked })
        } else if self.id == owner.next() {
            let masked = self.recv(Peer::Prev, len)?;
            Ok(Words {
                a: masked,
                b: vec![0; len],
            })
        } else {
            let r = self.prg_next.vec(len);
            Ok(Words {
                a: vec![0; len],
                b: r,
            })
        }
    }

    /// Words known to the holders of component 0 (P0 and P2) as trivial boolean shares.
    pub(crate) fn component0_words(&self, words: Vec<u64>) -> Words {
        let (a, b) = self.component0_parts(words);
        Words { a, b }
    }

    /// Flips every bit of component 0 (a NOT of the shared value); local.
    pub(crate) fn not_words(&self, w: &mut Words) {
        if let Some(target) = self.component0_mut(&mut w.a, &mut w.b) {
            for x in target.iter_mut() {
                *x = !*x;
            }
        }
    }

    /// Element-wise AND of bit vectors. One round.
    pub fn and(&mut self, x: &BitShares, y: &BitShares) -> Result<BitShares, MpcError> {
        same_len("and", x.len, y.len)?;
        let z = self.and_words(&x.a, &x.b, &y.a, &y.b)?;
        Ok(BitShares::from_parts(x.len, z.a, z.b))
    }

    /// Element-wise OR of bit vectors (x ⊕ y ⊕ xy). One round.
    pub fn or(&mut self, x: &BitShares, y: &BitShares) -> Result<BitShares, MpcError> {
        let both = self.and(x, y)?;
        x.xor(y)?.xor(&both)
    }

    /// Element-wise NOT (local).
    pub fn not(&self, x: &BitShares) -> BitShares {
        let mut w = Words {
            a: x.a.clone(),
            b: x.b.clone(),
        };
        self.not_words(&mut w);
        BitShares::from_parts(x.len, w.a, w.b)
    }

    /// Opens bit shares to `to` (one round). `Some(bits)` on the parties that learn them.
    pub fn reveal_bits(
        &mut self,
        x: &BitShares,
        to: RevealTo,
    ) -> Result<Option<Vec<bool>>, MpcError> {
        self.stats.rounds += 1;
        let words = x.a.len();
        if !self.send_reveal(&x.a, to)? {
            return Ok(None);
        }
        let missing = self.recv(Peer::Prev, words)?;
        let opened: Vec<u64> =
            x.a.iter()
                .zip(&x.b)
                .zip(&missing)
                .map(|((a, b), c)| a ^ b ^ c)
                .collect();
        Ok(Some(
            unpack_bits(&opened, x.len)
                .into_iter()
                .map(|bit| bit == 1)
                .collect(),
        ))
    }
}
