//! Random valid batches for property tests and benchmarks (seeded, so runs repeat).
//!
//! Each input is uniform over its declared range, except that one value in four is forced
//! to a range end, where comparisons and table bands are decided. An optional input whose
//! known-flag is 0 takes its fill value, as the CSV reader would give it.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use super::batch::InputBatch;
use super::decl::{InputSource, Model};
use super::error::InputError;

/// `len` random valid subjects for `model`, reproducible from `seed`.
pub fn random_batch(model: &Model, len: usize, seed: u64) -> Result<InputBatch, InputError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let inputs = model.inputs();
    let mut columns: Vec<Vec<i64>> = vec![Vec::with_capacity(len); inputs.len()];
    for _ in 0..len {
        for (column, input) in columns.iter_mut().zip(inputs) {
            let range = input.range;
            let value = match rng.next_u64() % 8 {
                0 => range.min,
                1 => range.max,
                _ => {
                    // The range spans at most 2^63 values (|bounds| < 2^62), so it fits a u64.
                    let span = range.max.abs_diff(range.min).saturating_add(1);
                    let offset = rng.next_u64() % span;
                    range.min.saturating_add_unsigned(offset)
                }
            };
            column.push(value);
        }
    }
    for (index, input) in inputs.iter().enumerate() {
        if let InputSource::Column {
            optional: Some((fill, flag)),
            ..
        } = input.source
        {
            let (value_column, flag_column) = if index < flag.index() {
                let (left, right) = columns.split_at_mut(flag.index());
                (&mut left[index], &right[0])
            } else {
                continue;
            };
            for (value, known) in value_column.iter_mut().zip(flag_column) {
                if *known == 0 {
                    *value = fill;
                }
            }
        }
    }
    InputBatch::new(model, columns)
}
