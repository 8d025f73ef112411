//! Hashing elements into bins: the receiver's cuckoo table (each element in exactly one of
//! its [`HASHES`] bins, at most one element a bin) and the sender's simple hashing (each
//! element in all of its bins).
//!
//! Insertion is the random walk of Fotakis, Pagh, Sanders and Spirakis: an element takes a
//! free bin among its three, or evicts a random occupant, which then looks for a bin of its
//! own. The walk's choices come from a non-cryptographic mixer seeded per run: they only
//! steer the insertion and are never sent. See [`super::params::BINS_NUMERATOR`] for the
//! load and its failure probability.

use super::code::{ItemHash, bin_of};
use super::params::{CUCKOO_EVICTIONS_MAX, HASHES};

/// The receiver's cuckoo table: for each bin, the element (index into the caller's list)
/// and the hash function that placed it there.
pub struct CuckooTable {
    slots: Vec<u32>,
    placed_by: Vec<u8>,
}

const EMPTY: u32 = u32::MAX;

/// SplitMix64's output function: spreads a counter into well-mixed bits. Steers the walk
/// only; not used for anything secret.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl CuckooTable {
    /// Places every element of `items` into a table of `bins`, or `None` if an insertion
    /// exceeds [`CUCKOO_EVICTIONS_MAX`] evictions (then the caller retries with fresh hash
    /// keys). `items` must have fewer than `u32::MAX` entries.
    pub fn build(items: &[ItemHash], bins: u64, walk_seed: u64) -> Option<Self> {
        let size = usize::try_from(bins).ok()?;
        if u32::try_from(items.len()).ok()? == EMPTY || items.len() > size {
            return None;
        }
        let mut slots = vec![EMPTY; size];
        let mut placed_by = vec![0u8; size];
        let mut walk = walk_seed;
        let bin = |item: &ItemHash, h: usize| -> usize {
            // bin_of is below `bins`, which fits usize.
            usize::try_from(bin_of(item.spots[h], bins)).unwrap_or(0)
        };
        for start in 0..items.len() {
            let mut current = u32::try_from(start).ok()?;
            let mut placed = false;
            for _ in 0..=CUCKOO_EVICTIONS_MAX {
                let item = &items[usize::try_from(current).ok()?];
                if let Some(h) = (0..HASHES).find(|&h| slots[bin(item, h)] == EMPTY) {
                    let b = bin(item, h);
                    slots[b] = current;
                    placed_by[b] = u8::try_from(h).ok()?;
                    placed = true;
                    break;
                }
                walk = mix(walk);
                let h = usize::try_from(walk % HASHES as u64).ok()?;
                let b = bin(item, h);
                let evicted = slots[b];
                slots[b] = current;
                placed_by[b] = u8::try_from(h).ok()?;
                current = evicted;
            }
            if !placed {
                return None;
            }
        }
        Some(Self { slots, placed_by })
    }

    /// The element in `bin` and the hash function that placed it, or `None` if empty.
    pub fn get(&self, bin: usize) -> Option<(u32, u8)> {
        let item = *self.slots.get(bin)?;
        (item != EMPTY).then(|| (item, self.placed_by[bin]))
    }

    /// Bins in the table.
    pub fn bins(&self) -> usize {
        self.slots.len()
    }
}

/// The sender's simple hashing: one entry per (element, hash function), sorted by bin, so
/// a chunk of bins is a contiguous range ([`SimpleHashing::range`]). An entry packs the bin
/// (high 32 bits), the element index (30 bits) and the hash function (2 bits) into a `u64`:
/// 8 bytes per entry, 24 per element.
pub struct SimpleHashing {
    entries: Vec<u64>,
}

/// The largest element count simple hashing can index (30 bits).
pub const SIMPLE_ITEMS_MAX: usize = 1 << 30;

impl SimpleHashing {
    /// Entries of all `items` in a table of `bins`; `None` if `bins` or the item count
    /// does not fit the packing.
    pub fn build(items: &[ItemHash], bins: u64) -> Option<Self> {
        if bins > u64::from(u32::MAX) || items.len() > SIMPLE_ITEMS_MAX {
            return None;
        }
        let mut entries = Vec::with_capacity(items.len() * HASHES);
        for (index, item) in items.iter().enumerate() {
            let index = u64::try_from(index).ok()?;
            for h in 0..HASHES {
                let bin = bin_of(item.spots[h], bins);
                entries.push(bin << 32 | index << 2 | h as u64);
            }
        }
        // Sorting by bin also spreads an element's three entries apart.
        entries.sort_unstable();
        Some(Self { entries })
    }

    /// The entries whose bins lie in `[first, end)`, each as (bin, element, hash function).
    pub fn range(&self, first: u64, end: u64) -> impl Iterator<Item = (u64, usize, u8)> + '_ {
        let lo = self.entries.partition_point(|&e| e >> 32 < first);
        let hi = self.entries.partition_point(|&e| e >> 32 < end);
        self.entries[lo..hi].iter().map(|&e| {
            let element = usize::try_from(e >> 2 & 0x3FFF_FFFF).unwrap_or(usize::MAX);
            (e >> 32, element, (e & 3) as u8)
        })
    }

    /// Entries in all: three per element.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::code::hash_item;
    use super::super::params::bins_for;
    use super::*;

    fn items(n: u64, salt: u8) -> Vec<ItemHash> {
        (0..n)
            .map(|i| hash_item(&[salt; 32], &i.to_le_bytes()))
            .collect()
    }

    #[test]
    fn every_element_lands_in_one_of_its_bins_exactly_once() {
        for n in [1u64, 2, 1000, 50_000] {
            let list = items(n, 1);
            let bins = bins_for(n);
            let table = CuckooTable::build(&list, bins, 9).expect("the table builds");
            let mut seen = vec![false; list.len()];
            for b in 0..table.bins() {
                if let Some((i, h)) = table.get(b) {
                    let i = usize::try_from(i).expect("index");
                    assert!(!seen[i], "element {i} placed twice");
                    seen[i] = true;
                    assert_eq!(bin_of(list[i].spots[usize::from(h)], bins), b as u64);
                }
            }
            assert!(seen.iter().all(|&s| s), "n = {n}: an element is missing");
        }
    }

    #[test]
    fn at_load_1_27_no_table_fails_in_200_tries() {
        // 200 independent sets of 4096 at the shipped load (bins = 1.27·n, above the
        // floor): with a 2^-40 failure bound, one failure would already be a red flag.
        let n = 4096u64;
        let bins = n * 127 / 100 + 1;
        for trial in 0..200u8 {
            assert!(
                CuckooTable::build(&items(n, trial), bins, u64::from(trial)).is_some(),
                "trial {trial}"
            );
        }
    }

    #[test]
    fn an_overfull_table_is_refused_not_looped() {
        assert!(CuckooTable::build(&items(20, 3), 10, 1).is_none());
        // Full load: possible in principle, but the walk gives up within its bound.
        let _ = CuckooTable::build(&items(64, 4), 64, 1);
    }

    #[test]
    fn simple_hashing_lists_every_bin_of_every_element() {
        let list = items(500, 2);
        let bins = 2048;
        let simple = SimpleHashing::build(&list, bins).expect("fits");
        assert_eq!(simple.len(), 1500);
        let mut got: Vec<(u64, usize, u8)> = simple.range(0, 1024).collect();
        got.extend(simple.range(1024, bins));
        let mut want = Vec::new();
        for (i, item) in list.iter().enumerate() {
            for h in 0..3u8 {
                want.push((bin_of(item.spots[usize::from(h)], bins), i, h));
            }
        }
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }
}
