//! The replicated-secret-sharing engine (Araki et al. 2016; ABY3 for conversions).
//!
//! A [`Party`] is one of the three parties of one session: its transport to the two
//! neighbours and the PRGs it shares with each of them. All operations are methods of
//! `Party` that take and return whole share vectors; every party must call the same
//! operations in the same order with the same lengths (that is what keeps the pairwise PRG
//! streams in step). A disagreement on a length shows up as a typed error at the first frame
//! that carries it, and the party that finds it drops its transport, so its neighbours fail
//! with `PeerClosed` instead of waiting.
//!
//! Submodules: [`shares`] (the share vectors and local ops), `arith` (input, reveal,
//! multiplication, dot products, truncation), `bits` (AND/OR/NOT on packed bits),
//! `circuits` (MSB and comparisons, equality, the bit-sliced adder, A2B/B2A), `convert`
//! (bit injection, select, range lookup, max) and `transpose` (bit-slicing).

mod arith;
mod bits;
mod circuits;
mod convert;
pub mod shares;
mod transpose;

pub use convert::RangeTable;
pub use shares::{ArithShares, BitShares, BoolShares};

use crate::prg::Prg;
use crate::secrets::{DerivedKey, PartySecrets, SessionId};
use crate::transport::{Peer, Transport};
use crate::{MpcError, PartyId};

/// Who learns a revealed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevealTo {
    /// Every party.
    All,
    /// Only this party; the others get `None`.
    Party(PartyId),
}

/// Communication counters of one party since the session started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Communication rounds (the same count on every party).
    pub rounds: u64,
    /// Frames this party sent.
    pub frames_sent: u64,
    /// Payload bytes this party sent (8 per word; transport framing excluded).
    pub bytes_sent: u64,
}

/// One party of a three-party session.
pub struct Party {
    id: PartyId,
    transport: Box<dyn Transport>,
    /// Shared with the next party: its `prg_prev` is the same stream.
    prg_next: Prg,
    /// Shared with the previous party.
    prg_prev: Prg,
    /// Known to all three parties (masks that only need to be independent of the data).
    prg_common: Prg,
    stats: Stats,
    /// Elements per chunk of the comparison circuits; see [`crate::limits::CHUNK_LEN`].
    chunk_len: usize,
}

impl Party {
    /// Sets up party `transport.party()` of `session` from its two pair secrets.
    pub fn new(
        session: &SessionId,
        secrets: &PartySecrets,
        transport: Box<dyn Transport>,
    ) -> Party {
        let id = transport.party();
        let prg_next = Prg::new(&secrets.with_next.derive(b"prg", session, &[]));
        let prg_prev = Prg::new(&secrets.with_prev.derive(b"prg", session, &[]));
        let mut common = [0u8; 32];
        let mut label = b"weinong-mpc/v1/common-prg".to_vec();
        label.extend_from_slice(session.as_bytes());
        common.copy_from_slice(&weinong_keys::sm3_digest(&label));
        let prg_common = Prg::new(&DerivedKey(common));
        Party {
            id,
            transport,
            prg_next,
            prg_prev,
            prg_common,
            stats: Stats::default(),
            chunk_len: crate::limits::CHUNK_LEN,
        }
    }

    /// This party's position.
    pub fn id(&self) -> PartyId {
        self.id
    }

    /// Sets how many elements the comparison circuits (MSB, comparisons, equality) process
    /// per chunk: a multiple of 64 in 64..=[`crate::limits::CHUNK_LEN_MAX`]. Fewer, larger
    /// chunks mean fewer rounds and more memory. All three parties must set the same value;
    /// if they do not, the first circuit fails with a typed `FrameLength` error.
    pub fn set_chunk_len(&mut self, chunk_len: usize) -> Result<(), MpcError> {
        if chunk_len == 0
            || !chunk_len.is_multiple_of(64)
            || chunk_len > crate::limits::CHUNK_LEN_MAX
        {
            return Err(MpcError::BatchTooLarge {
                len: chunk_len,
                max: crate::limits::CHUNK_LEN_MAX,
            });
        }
        self.chunk_len = chunk_len;
        Ok(())
    }

    /// Communication counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// One public round: each party states which of `have.len()` rows it can supply
    /// (`true`: it holds the row's inputs) and all three learn the rows every party can.
    /// The statements themselves are public to the other two parties — which rows a
    /// party lacks, never a value — so use it only where that is acceptable (a batch
    /// whose subject list all parties know). All parties must pass the same length;
    /// otherwise the first receive fails with `FrameLength`.
    pub fn agree_on_rows(&mut self, have: &[bool]) -> Result<Vec<bool>, MpcError> {
        let words: Vec<u64> = have
            .chunks(64)
            .map(|bits| {
                bits.iter()
                    .enumerate()
                    .fold(0u64, |w, (i, &b)| w | (u64::from(b) << i))
            })
            .collect();
        self.send(Peer::Next, &words)?;
        self.send(Peer::Prev, &words)?;
        let from_prev = self.recv(Peer::Prev, words.len())?;
        let from_next = self.recv(Peer::Next, words.len())?;
        self.stats.rounds += 1;
        Ok(have
            .iter()
            .enumerate()
            .map(|(i, &mine)| {
                let bit = 1u64 << (i % 64);
                mine && from_prev[i / 64] & bit != 0 && from_next[i / 64] & bit != 0
            })
            .collect())
    }

    fn send(&mut self, to: Peer, words: &[u64]) -> Result<(), MpcError> {
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += 8 * words.len() as u64;
        self.transport.send(to, words)
    }

    fn recv(&mut self, from: Peer, len: usize) -> Result<Vec<u64>, MpcError> {
        self.transport.recv(from, len)
    }

    /// Turns a 3-out-of-3 sharing `z` (already re-randomised) into replicated shares: send
    /// our component to the previous party, receive the next party's. One round.
    fn reshare(&mut self, z: Vec<u64>) -> Result<(Vec<u64>, Vec<u64>), MpcError> {
        self.stats.rounds += 1;
        let len = z.len();
        self.send(Peer::Prev, &z)?;
        let from_next = self.recv(Peer::Next, len)?;
        Ok((z, from_next))
    }

    /// This party's pair of components for a sharing whose component 0 is `values` and
    /// whose other components are zero: P0 holds it first, P2 second, P1 not at all.
    fn component0_parts(&self, values: Vec<u64>) -> (Vec<u64>, Vec<u64>) {
        let zeros = vec![0u64; values.len()];
        match self.id.index() {
            0 => (values, zeros),
            2 => (zeros, values),
            _ => (zeros.clone(), zeros),
        }
    }

    /// Which of this party's components (`a`, `b`) is component 0 of the sharing, if it
    /// holds it: a local operation on component 0 alone changes the shared value.
    fn component0_mut<'s>(&self, a: &'s mut [u64], b: &'s mut [u64]) -> Option<&'s mut [u64]> {
        match self.id.index() {
            0 => Some(a),
            2 => Some(b),
            _ => None,
        }
    }

    /// A replicated product (arithmetic or boolean, by `term`), then reshared. One round.
    /// `term(x_i, x_{i+1}, y_i, y_{i+1}, r, s)` gives one element of the 3-out-of-3 sharing:
    /// the local cross terms plus the zero share from `r` (next PRG) and `s` (previous PRG).
    /// One pass with the PRG words drawn in L1-sized chunks, so nothing but z is allocated.
    fn multiply_reshare(
        &mut self,
        (xa, xb): (&[u64], &[u64]),
        (ya, yb): (&[u64], &[u64]),
        term: impl Fn(u64, u64, u64, u64, u64, u64) -> u64,
    ) -> Result<(Vec<u64>, Vec<u64>), MpcError> {
        const CHUNK: usize = 512;
        let mut z = Vec::with_capacity(xa.len());
        let mut next = [0u64; CHUNK];
        let mut prev = [0u64; CHUNK];
        let chunks = xa
            .chunks(CHUNK)
            .zip(xb.chunks(CHUNK))
            .zip(ya.chunks(CHUNK).zip(yb.chunks(CHUNK)));
        for ((xa, xb), (ya, yb)) in chunks {
            let m = xa.len();
            self.prg_next.fill(&mut next[..m]);
            self.prg_prev.fill(&mut prev[..m]);
            z.extend(
                xa.iter()
                    .zip(xb)
                    .zip(ya.iter().zip(yb))
                    .zip(next[..m].iter().zip(&prev[..m]))
                    .map(|(((xa, xb), (ya, yb)), (r, s))| term(*xa, *xb, *ya, *yb, *r, *s)),
            );
        }
        self.reshare(z)
    }

    /// Re-randomises the 3-out-of-3 arithmetic sharing `z` with a zero share and reshares
    /// it into replicated shares. One round.
    fn reshare_sum(&mut self, mut z: Vec<u64>) -> Result<ArithShares, MpcError> {
        self.add_zero_share(&mut z);
        let (a, b) = self.reshare(z)?;
        Ok(ArithShares::from_parts(a, b))
    }

    /// Adds an arithmetic zero sharing to `z`: α_i = F(k_{i,i+1}) − F(k_{i−1,i}), so the
    /// three α sum to zero and each looks uniform to the other two parties.
    fn add_zero_share(&mut self, z: &mut [u64]) {
        let mut next = [0u64; 512];
        let mut prev = [0u64; 512];
        for chunk in z.chunks_mut(512) {
            let n = chunk.len();
            self.prg_next.fill(&mut next[..n]);
            self.prg_prev.fill(&mut prev[..n]);
            for ((x, r), s) in chunk.iter_mut().zip(&next[..n]).zip(&prev[..n]) {
                *x = x.wrapping_add(r.wrapping_sub(*s));
            }
        }
    }
}

fn check_batch(len: usize) -> Result<(), MpcError> {
    if len > crate::limits::BATCH_LEN_MAX {
        Err(MpcError::BatchTooLarge {
            len,
            max: crate::limits::BATCH_LEN_MAX,
        })
    } else {
        Ok(())
    }
}

fn same_len(op: &'static str, left: usize, right: usize) -> Result<(), MpcError> {
    if left == right {
        Ok(())
    } else {
        Err(MpcError::LengthMismatch { op, left, right })
    }
}
