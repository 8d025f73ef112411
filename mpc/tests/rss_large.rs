//! Batches of 10^5 elements through every operation, against plain arithmetic; the
//! property tests in `rss_ops.rs` cover the small sizes and edge values.

use weinong_mpc::{PartyId, RangeTable, RevealTo, run_three};

const N: usize = 100_000;

/// Deterministic test data (SplitMix64), magnitudes below 2^30.
fn data(seed: u64) -> Vec<u64> {
    let mut s = seed;
    (0..N)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % (1 << 31)).wrapping_sub(1 << 30)
        })
        .collect()
}

#[test]
fn every_operation_on_a_batch_of_100_000() {
    let x = data(1);
    let mut y = data(2);
    for k in (0..N).step_by(5) {
        y[k] = x[k];
    }
    let table = RangeTable::new(vec![-1000, 0, 5000], vec![10, 20, 30, 40]).expect("valid");
    let out = run_three(|p| {
        let xs = p.input(PartyId::P0, (p.id() == PartyId::P0).then_some(&x[..]), N)?;
        let ys = p.input(PartyId::P1, (p.id() == PartyId::P1).then_some(&y[..]), N)?;
        let product = p.mul(&xs, &ys)?;
        let dot = p.dot(&[&xs, &ys], &[&ys, &ys])?;
        // Truncation fails with probability ~|x|/2^63 per element, so truncate x (< 2^30)
        // rather than the product (< 2^60).
        let trunc = p.trunc(&xs, 10)?;
        let lt = p.lt(&xs, &ys)?;
        let gt = p.gt_const(&xs, 77)?;
        let eq = p.eq(&xs, &ys)?;
        let pick = p.select(&lt, &xs, &ys)?;
        let back = {
            let b = p.a2b(&xs)?;
            p.b2a(&b)?
        };
        let lookup = p.range_lookup(&xs, &table)?;
        let max = p.max(&xs)?;
        let mut opened = Vec::new();
        for v in [&product, &dot, &trunc, &pick, &back, &lookup, &max] {
            opened.push(p.reveal(v, RevealTo::Party(PartyId::P0))?);
        }
        let mut bits = Vec::new();
        for b in [&lt, &gt, &eq] {
            bits.push(p.reveal_bits(b, RevealTo::Party(PartyId::P0))?);
        }
        Ok((opened, bits))
    })
    .expect("honest run");
    let (opened, bits) = &out[0];
    let s = |v: u64| v as i64;
    let col = |i: usize| opened[i].clone().expect("revealed to P0");
    let pairs = || x.iter().zip(&y);
    assert_eq!(
        col(0),
        pairs().map(|(a, b)| a.wrapping_mul(*b)).collect::<Vec<_>>()
    );
    assert_eq!(
        col(1),
        pairs()
            .map(|(a, b)| a.wrapping_mul(*b).wrapping_add(b.wrapping_mul(*b)))
            .collect::<Vec<_>>()
    );
    for (g, a) in col(2).iter().zip(&x) {
        let diff = s(*g) - (s(*a) >> 10);
        assert!((0..=1).contains(&diff));
    }
    assert_eq!(
        col(3),
        pairs()
            .map(|(a, b)| if s(*a) < s(*b) { *a } else { *b })
            .collect::<Vec<_>>()
    );
    assert_eq!(col(4), x);
    assert_eq!(
        col(5),
        x.iter().map(|a| table.eval(s(*a))).collect::<Vec<_>>()
    );
    assert_eq!(
        col(6),
        vec![x.iter().map(|a| s(*a)).max().expect("non-empty") as u64]
    );
    let bit = |i: usize| bits[i].clone().expect("revealed to P0");
    assert_eq!(
        bit(0),
        pairs().map(|(a, b)| s(*a) < s(*b)).collect::<Vec<_>>()
    );
    assert_eq!(bit(1), x.iter().map(|a| s(*a) > 77).collect::<Vec<_>>());
    assert_eq!(bit(2), pairs().map(|(a, b)| a == b).collect::<Vec<_>>());
    assert!(out[1].0.iter().all(Option::is_none));
}

mod properties {
    use proptest::prelude::*;
    use weinong_mpc::{PartyId, RevealTo, run_three};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

        /// Random full-ring values at 10^5: multiplication and the sign bit.
        #[test]
        fn mul_and_msb_at_100_000(x in prop::collection::vec(any::<u64>(), super::N),
                                  y in prop::collection::vec(any::<u64>(), super::N)) {
            let n = x.len();
            let out = run_three(|p| {
                let xs = p.input(PartyId::P2, (p.id() == PartyId::P2).then_some(&x[..]), n)?;
                let ys = p.input(PartyId::P1, (p.id() == PartyId::P1).then_some(&y[..]), n)?;
                let z = p.mul(&xs, &ys)?;
                let sign = p.msb(&z)?;
                Ok((p.reveal(&z, RevealTo::All)?, p.reveal_bits(&sign, RevealTo::All)?))
            }).expect("honest run");
            let want: Vec<u64> = x.iter().zip(&y).map(|(a, b)| a.wrapping_mul(*b)).collect();
            let (z, sign) = out[2].clone();
            prop_assert_eq!(sign.expect("all"), want.iter().map(|v| (*v as i64) < 0).collect::<Vec<_>>());
            prop_assert_eq!(z.expect("all"), want);
        }
    }
}
