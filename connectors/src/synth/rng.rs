//! Seeded randomness for the generator: ChaCha8 keyed by (seed, pass), one stream per
//! person, so every person's data depends only on the seed and its index (parallel and
//! deterministic). Normal variates use the Irwin–Hall sum of four uniforms: arithmetic
//! only, so results do not depend on the platform's libm.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// A per-person random stream.
pub struct R(ChaCha8Rng);

impl R {
    /// The stream of person `index` in generator pass `pass` under `seed`.
    pub fn new(seed: u64, pass: u64, index: u64) -> R {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&pass.to_le_bytes());
        key[16..24].copy_from_slice(b"weinong\0");
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(index);
        R(rng)
    }

    /// A uniform u64.
    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (n > 0; 0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the bias (< n / 2^64) is irrelevant for test data.
        ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Approximately normal with the given mean and standard deviation.
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        mean + sd * (s - 2.0) * 1.732_050_807_568_877_2
    }

    /// One of the slice's items.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[i]
    }
}
