//! Every RSS operation against plain wrapping 64-bit arithmetic (the reference), on edge
//! values and batch sizes 1, 63, 64, 65 and random lengths; the 10^5 batch is in
//! `rss_large.rs`.

use proptest::prelude::*;
use weinong_mpc::{ArithShares, MpcError, Party, PartyId, RangeTable, RevealTo, run_three};

const EDGES: [i64; 9] = [0, 1, -1, 1 << 62, -(1 << 62), i64::MIN, i64::MAX, 2, -2];

/// Values in the full ring, edge values over-represented.
fn any_value() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        3 => prop::sample::select(EDGES.to_vec()).prop_map(|v| v as u64),
        5 => any::<u64>(),
        2 => (-1000i64..1000).prop_map(|v| v as u64),
    ]
}

/// Values in [-2^62, 2^62), so pairwise differences fit in an i64 (where signed comparison
/// is defined); `comparisons_at_the_ends_of_the_range` covers ±2^62 and i64::MIN/MAX.
fn cmp_value() -> impl Strategy<Value = u64> + Clone {
    let edge = [0i64, 1, -1, -(1 << 62), (1 << 62) - 1, 2, -2];
    prop_oneof![
        3 => prop::sample::select(edge.to_vec()).prop_map(|v| v as u64),
        5 => (-(1i64 << 62)..(1i64 << 62)).prop_map(|v| v as u64),
        2 => (-50i64..50).prop_map(|v| v as u64),
    ]
}

fn len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![Just(1usize), Just(63), Just(64), Just(65), 1usize..300]
}

fn pair_of(
    value: impl Strategy<Value = u64> + Clone,
) -> impl Strategy<Value = (Vec<u64>, Vec<u64>)> {
    len_strategy().prop_flat_map(move |n| {
        (
            prop::collection::vec(value.clone(), n),
            prop::collection::vec(value.clone(), n),
        )
    })
}

/// Inputs x from P0 and y from P1, runs `f`, which reveals its output to all, and returns
/// P2's copy after checking that all three agree.
fn run_revealed<T: Clone + PartialEq + std::fmt::Debug + Send>(
    x: &[u64],
    y: &[u64],
    f: impl Fn(&mut Party, &ArithShares, &ArithShares) -> Result<Option<T>, MpcError> + Sync,
) -> T {
    let n = x.len();
    let out = run_three(|p| {
        let xs = p.input(PartyId::P0, (p.id() == PartyId::P0).then_some(x), n)?;
        let ys = p.input(PartyId::P1, (p.id() == PartyId::P1).then_some(y), n)?;
        f(p, &xs, &ys)
    })
    .expect("honest run");
    assert_eq!(out[0], out[1]);
    assert_eq!(out[1], out[2]);
    out[2].clone().expect("revealed to all")
}

/// [`run_revealed`] of an arithmetic result.
fn check_arith(
    x: &[u64],
    y: &[u64],
    f: impl Fn(&mut Party, &ArithShares, &ArithShares) -> Result<ArithShares, MpcError> + Sync,
) -> Vec<u64> {
    run_revealed(x, y, |p, xs, ys| {
        let z = f(p, xs, ys)?;
        p.reveal(&z, RevealTo::All)
    })
}

/// [`run_revealed`] of a bit result.
fn check_bits(
    x: &[u64],
    y: &[u64],
    f: impl Fn(&mut Party, &ArithShares, &ArithShares) -> Result<weinong_mpc::BitShares, MpcError>
    + Sync,
) -> Vec<bool> {
    run_revealed(x, y, |p, xs, ys| {
        let z = f(p, xs, ys)?;
        p.reveal_bits(&z, RevealTo::All)
    })
}

fn signed(v: u64) -> i64 {
    v as i64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn linear_ops_match_plain((x, y) in pair_of(any_value())) {
        let got = check_arith(&x, &y, |p, a, b| {
            let s = a.add(b)?.sub(&b.mul_const(3))?.neg();
            let s = p.add_public(&s, &x_public(a.len()))?;
            s.mul_public(&x_public(a.len()))
        });
        let want: Vec<u64> = x.iter().zip(&y).enumerate().map(|(k, (a, b))| {
            let s = a.wrapping_add(*b).wrapping_sub(b.wrapping_mul(3)).wrapping_neg();
            s.wrapping_add(pub_at(k)).wrapping_mul(pub_at(k))
        }).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn mul_matches_plain((x, y) in pair_of(any_value())) {
        let got = check_arith(&x, &y, |p, a, b| p.mul(a, b));
        let want: Vec<u64> = x.iter().zip(&y).map(|(a, b)| a.wrapping_mul(*b)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn dot_and_weighted_sum_match_plain((x, y) in pair_of(any_value())) {
        // dot over three terms: x⊙y + y⊙y + x⊙x
        let got = check_arith(&x, &y, |p, a, b| p.dot(&[a, b, a], &[b, b, a]));
        let want: Vec<u64> = x.iter().zip(&y).map(|(a, b)| {
            a.wrapping_mul(*b).wrapping_add(b.wrapping_mul(*b)).wrapping_add(a.wrapping_mul(*a))
        }).collect();
        prop_assert_eq!(got, want);
        // weighted sum of two columns with the first two elements of y as secret weights
        if x.len() >= 2 {
            let got = check_arith(&x, &y, |p, a, b| {
                let w = b.slice(0..2)?;
                let shifted = a.mul_const(7);
                p.weighted_sum(&[a, &shifted], &w)
            });
            let want: Vec<u64> = x.iter().map(|a| {
                a.wrapping_mul(y[0]).wrapping_add(a.wrapping_mul(7).wrapping_mul(y[1]))
            }).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn sum_matches_plain((x, y) in pair_of(any_value())) {
        let got = check_arith(&x, &y, |_, a, b| Ok(a.add(b)?.sum()));
        let want = x.iter().chain(&y).fold(0u64, |s, v| s.wrapping_add(*v));
        prop_assert_eq!(got, vec![want]);
    }

    #[test]
    fn msb_matches_sign_bit((x, y) in pair_of(any_value())) {
        let got = check_bits(&x, &y, |p, a, b| p.msb(&a.add(b)?));
        let want: Vec<bool> = x.iter().zip(&y).map(|(a, b)| signed(a.wrapping_add(*b)) < 0).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn comparisons_match_plain((x, y) in pair_of(cmp_value())) {
        let pairs: Vec<(i64, i64)> = x.iter().zip(&y).map(|(a, b)| (signed(*a), signed(*b))).collect();
        let got = check_bits(&x, &y, |p, a, b| p.lt(a, b));
        prop_assert_eq!(got, pairs.iter().map(|(a, b)| a < b).collect::<Vec<_>>());
        let got = check_bits(&x, &y, |p, a, b| p.ge(a, b));
        prop_assert_eq!(got, pairs.iter().map(|(a, b)| a >= b).collect::<Vec<_>>());
        let yc = y.clone();
        let got = check_bits(&x, &y, move |p, a, _| p.gt_public(a, &yc));
        prop_assert_eq!(got, pairs.iter().map(|(a, b)| a > b).collect::<Vec<_>>());
        let yc = y.clone();
        let got = check_bits(&x, &y, move |p, a, _| p.le_public(a, &yc));
        prop_assert_eq!(got, pairs.iter().map(|(a, b)| a <= b).collect::<Vec<_>>());
        let yc = y.clone();
        let got = check_bits(&x, &y, move |p, a, _| p.lt_public(a, &yc));
        prop_assert_eq!(got, pairs.iter().map(|(a, b)| a < b).collect::<Vec<_>>());
    }

    #[test]
    fn equality_matches_plain((x, mut y) in pair_of(any_value())) {
        // Make about half the pairs equal.
        for k in (0..y.len()).step_by(2) { y[k] = x[k]; }
        let got = check_bits(&x, &y, |p, a, b| p.eq(a, b));
        prop_assert_eq!(got, x.iter().zip(&y).map(|(a, b)| a == b).collect::<Vec<_>>());
        let yc = y.clone();
        let got = check_bits(&x, &y, move |p, a, _| p.eq_public(a, &yc));
        prop_assert_eq!(got, x.iter().zip(&y).map(|(a, b)| a == b).collect::<Vec<_>>());
    }

    #[test]
    fn bit_ops_and_injection_match_plain((x, y) in pair_of(cmp_value())) {
        let lt: Vec<bool> = x.iter().zip(&y).map(|(a, b)| signed(*a) < signed(*b)).collect();
        let eq: Vec<bool> = x.iter().zip(&y).map(|(a, b)| a == b || signed(*a) < 0).collect();
        let got = check_bits(&x, &y, |p, a, b| {
            let l = p.lt(a, b)?;
            let (e1, e2) = (p.eq(a, b)?, p.msb(a)?);
            let e = p.or(&e1, &e2)?;
            let both = p.and(&l, &e)?;
            let either = p.or(&l, &e)?;
            both.xor(&p.not(&either))
        });
        let want: Vec<bool> = lt.iter().zip(&eq).map(|(l, e)| (l & e) ^ !(l | e)).collect();
        prop_assert_eq!(got, want);
        let got = check_arith(&x, &y, |p, a, b| { let l = p.lt(a, b)?; p.bit_to_arith(&l) });
        prop_assert_eq!(got, lt.iter().map(|&l| u64::from(l)).collect::<Vec<_>>());
        let got = check_arith(&x, &y, |p, a, b| { let l = p.lt(a, b)?; p.select(&l, a, b) });
        prop_assert_eq!(got, x.iter().zip(&y).map(|(a, b)| if signed(*a) < signed(*b) { *a } else { *b }).collect::<Vec<_>>());
    }

    #[test]
    fn a2b_and_b2a_round_trip((x, y) in pair_of(any_value())) {
        let n = x.len();
        let out = run_three(|p| {
            let xs = p.input(PartyId::P0, (p.id() == PartyId::P0).then_some(&x[..]), n)?;
            let ys = p.input(PartyId::P1, (p.id() == PartyId::P1).then_some(&y[..]), n)?;
            let s = xs.add(&ys)?;
            let bits = p.a2b(&s)?;
            let low = p.reveal_bits(&bits.bit(0)?, RevealTo::All)?;
            let top = p.reveal_bits(&bits.bit(63)?, RevealTo::All)?;
            let mid = p.reveal_bits(&bits.bit(31)?, RevealTo::All)?;
            let back = p.b2a(&bits)?;
            let back = p.reveal(&back, RevealTo::All)?;
            Ok((low, mid, top, back))
        }).expect("honest run");
        let sum: Vec<u64> = x.iter().zip(&y).map(|(a, b)| a.wrapping_add(*b)).collect();
        let (low, mid, top, back) = out[1].clone();
        prop_assert_eq!(low.expect("all"), sum.iter().map(|v| v & 1 == 1).collect::<Vec<_>>());
        prop_assert_eq!(mid.expect("all"), sum.iter().map(|v| (v >> 31) & 1 == 1).collect::<Vec<_>>());
        prop_assert_eq!(top.expect("all"), sum.iter().map(|v| v >> 63 == 1).collect::<Vec<_>>());
        prop_assert_eq!(back.expect("all"), sum);
    }

    #[test]
    fn truncation_is_floor_or_one_more(
        (x, y) in len_strategy().prop_flat_map(|n| (
            // Truncation fails with probability about |x|/2^63 per element (documented), so
            // magnitudes stay small enough that a spurious failure is below 10^-4 per run.
            prop::collection::vec((-(1i64 << 36)..(1i64 << 36)).prop_map(|v| v as u64), n),
            prop::collection::vec((-(1i64 << 20)..(1i64 << 20)).prop_map(|v| v as u64), n))),
        bits in 1u32..16,
    ) {
        let got = check_arith(&x, &y, |p, a, _| {
            // Truncate a product too, and truncate twice in a row (input shares, then
            // shares that were truncated already).
            let once = p.trunc(a, bits)?;
            p.trunc(&once, 1)
        });
        for (g, v) in got.iter().zip(&x) {
            let exact = (signed(*v) >> bits) >> 1;
            let diff = signed(*g) - exact;
            prop_assert!((0..=2).contains(&diff), "{} vs {}", signed(*g), exact);
        }
        let got = check_arith(&x, &y, |_, _, b| Ok(b.clone()));
        prop_assert_eq!(&got, &y);
        let got = check_arith(&x, &y, |p, _, b| {
            let three = p.public(&vec![3 << bits; b.len()]);
            p.mul_fixed(b, &three, bits)
        });
        for (g, v) in got.iter().zip(&y) {
            let exact = signed(*v).wrapping_mul(3);
            let diff = signed(*g) - exact;
            prop_assert!((0..=1).contains(&diff), "{} vs {}", signed(*g), exact);
        }
    }

    #[test]
    fn range_lookup_matches_plain((x, y) in pair_of(cmp_value()), cut in -5i64..5) {
        let table = RangeTable::new(vec![cut - 10, cut, cut + 1, 1 << 40], vec![7, 3, (-4i64) as u64, 100, 5])
            .expect("a valid table");
        let got = check_arith(&x, &y, |p, a, _| p.range_lookup(a, &table));
        let want: Vec<u64> = x.iter().map(|v| table.eval(signed(*v))).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn max_matches_plain((x, y) in pair_of(cmp_value())) {
        let got = check_arith(&x, &y, |p, a, _| p.max(a));
        prop_assert_eq!(got, vec![x.iter().map(|v| signed(*v)).max().expect("non-empty") as u64]);
        let got = check_arith(&x, &y, |p, a, b| p.max_elementwise(a, b));
        prop_assert_eq!(got, x.iter().zip(&y).map(|(a, b)| signed(*a).max(signed(*b)) as u64).collect::<Vec<_>>());
    }
}

#[test]
fn comparisons_at_the_ends_of_the_range() {
    // Each x against public constants with |x − c| < 2^63, the documented domain.
    let cases: Vec<(i64, i64)> = vec![
        (i64::MAX, 0),
        (i64::MAX, 1),
        (i64::MAX, i64::MAX),
        (i64::MAX, i64::MAX - 5),
        (i64::MIN, -1),
        (i64::MIN, -5),
        (i64::MIN, i64::MIN),
        (i64::MIN + 1, i64::MIN),
        (1 << 62, 0),
        (1 << 62, 1 << 62),
        (1 << 62, -(1 << 62) + 1),
        (-(1 << 62), (1 << 62) - 1),
        (-(1 << 62), -(1 << 62)),
        (0, 0),
        (1, 0),
        (-1, 0),
        (0, -1),
    ];
    let x: Vec<u64> = cases.iter().map(|c| c.0 as u64).collect();
    let c: Vec<u64> = cases.iter().map(|c| c.1 as u64).collect();
    let n = x.len();
    let out = run_three(|p| {
        let xs = p.input(PartyId::P1, (p.id() == PartyId::P1).then_some(&x[..]), n)?;
        let lt = p.lt_public(&xs, &c)?;
        let gt = p.gt_public(&xs, &c)?;
        let eq = p.eq_public(&xs, &c)?;
        Ok((
            p.reveal_bits(&lt, RevealTo::All)?,
            p.reveal_bits(&gt, RevealTo::All)?,
            p.reveal_bits(&eq, RevealTo::All)?,
        ))
    })
    .expect("honest run");
    let (lt, gt, eq) = out[0].clone();
    assert_eq!(
        lt.expect("all"),
        cases.iter().map(|(a, b)| a < b).collect::<Vec<_>>()
    );
    assert_eq!(
        gt.expect("all"),
        cases.iter().map(|(a, b)| a > b).collect::<Vec<_>>()
    );
    assert_eq!(
        eq.expect("all"),
        cases.iter().map(|(a, b)| a == b).collect::<Vec<_>>()
    );
}

fn pub_at(k: usize) -> u64 {
    (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}

fn x_public(n: usize) -> Vec<u64> {
    (0..n).map(pub_at).collect()
}

#[test]
fn reveal_to_one_party_only() {
    let out = run_three(|p| {
        let x = p.input(
            PartyId::P2,
            (p.id() == PartyId::P2).then_some(&[42u64, 43][..]),
            2,
        )?;
        let mut seen = Vec::new();
        for to in PartyId::ALL {
            seen.push(p.reveal(&x, RevealTo::Party(to))?);
        }
        Ok(seen)
    })
    .expect("honest run");
    for (i, seen) in out.iter().enumerate() {
        for (j, value) in seen.iter().enumerate() {
            if i == j {
                assert_eq!(value.as_deref(), Some(&[42u64, 43][..]));
            } else {
                assert_eq!(value, &None);
            }
        }
    }
}

#[test]
fn rounds_and_bytes_are_counted_as_documented() {
    let n = 1000usize;
    let out = run_three(|p| {
        let x = p.input(
            PartyId::P0,
            (p.id() == PartyId::P0).then(|| vec![5u64; n]).as_deref(),
            n,
        )?;
        let before = p.stats();
        let _ = p.mul(&x, &x)?;
        let after_mul = p.stats();
        let _ = p.lt_const(&x, 3)?;
        let after_cmp = p.stats();
        Ok((before, after_mul, after_cmp))
    })
    .expect("honest run");
    for (before, after_mul, after_cmp) in out {
        assert_eq!(after_mul.rounds - before.rounds, 1);
        assert_eq!(after_mul.bytes_sent - before.bytes_sent, 8 * n as u64);
        assert_eq!(after_cmp.rounds - after_mul.rounds, 8);
    }
}

#[test]
fn small_chunks_give_the_same_comparisons() {
    let x: Vec<u64> = (0..300u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 2)
        .collect();
    let out = run_three(|p| {
        p.set_chunk_len(64)?;
        let xs = p.input(
            PartyId::P1,
            (p.id() == PartyId::P1).then_some(&x[..]),
            x.len(),
        )?;
        let before = p.stats().rounds;
        let lt = p.lt_const(&xs, 1 << 61)?;
        let rounds = p.stats().rounds - before;
        let eq = p.eq_public(&xs, &x)?;
        Ok((
            rounds,
            p.reveal_bits(&lt, RevealTo::All)?,
            p.reveal_bits(&eq, RevealTo::All)?,
        ))
    })
    .expect("honest run");
    let (rounds, lt, eq) = out[0].clone();
    assert_eq!(
        rounds,
        8 * 5,
        "300 elements in chunks of 64 are 5 chunks of 8 rounds"
    );
    assert_eq!(
        lt.expect("all"),
        x.iter()
            .map(|v| (*v as i64) < (1 << 61))
            .collect::<Vec<_>>()
    );
    assert_eq!(eq.expect("all"), vec![true; 300]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// `agree_on_rows` equals the plain AND of the three parties' statements, on every
    /// party, across word boundaries.
    #[test]
    fn row_agreement_is_the_and_of_the_three_statements(
        rows in prop::collection::vec(any::<[bool; 3]>(), 0..200)
    ) {
        let out = run_three(|p| {
            let mine: Vec<bool> = rows.iter().map(|r| r[p.id().index()]).collect();
            p.agree_on_rows(&mine)
        })
        .expect("agreement runs");
        let want: Vec<bool> = rows.iter().map(|r| r[0] && r[1] && r[2]).collect();
        for agreed in out {
            prop_assert_eq!(&agreed, &want);
        }
    }
}

#[test]
fn row_agreement_refuses_parties_that_disagree_on_the_length() {
    let out = weinong_mpc::run_three_each(|p| {
        let len = if p.id() == PartyId::P0 { 130 } else { 64 };
        p.agree_on_rows(&vec![true; len])
    })
    .expect("setup");
    assert!(
        out.iter()
            .any(|r| matches!(r, Err(MpcError::FrameLength { .. }))),
        "{out:?}"
    );
}
