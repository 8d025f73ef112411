//! What one party sees is independent of the secret: its share components of a fixed input
//! are uniform bytes (chi-squared over 256 byte values, pooled over many sessions), the
//! components that are fixed by the protocol are the same for every input, and the views
//! for two very different inputs are indistinguishable (two-sample chi-squared).

use weinong_mpc::{ArithShares, PartyId, run_three};

/// Chi-squared with 255 degrees of freedom: mean 255, sd 22.6; 370 is beyond p = 10^-6, so
/// an honest run fails about once in a million while a biased share fails at once.
const CHI2_255_LIMIT: f64 = 370.0;
const SESSIONS: usize = 12;
const LEN: usize = 2048;

fn histogram(words: &[u64]) -> [u64; 256] {
    let mut h = [0u64; 256];
    for w in words {
        for b in w.to_le_bytes() {
            h[usize::from(b)] += 1;
        }
    }
    h
}

fn chi2_uniform(h: &[u64; 256]) -> f64 {
    let total: u64 = h.iter().sum();
    let expected = total as f64 / 256.0;
    h.iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

fn chi2_two_sample(h1: &[u64; 256], h2: &[u64; 256]) -> f64 {
    h1.iter()
        .zip(h2)
        .filter(|(a, b)| **a + **b > 0)
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2) / (a + b) as f64)
        .sum()
}

/// Each party's two components after inputting `value` (from P0) and after a
/// multiplication by a public 1 (which re-randomises), pooled over sessions.
/// views[party][k]: k = 0,1 the input's components, k = 2,3 the product's.
fn views(value: u64) -> Vec<Vec<Vec<u64>>> {
    let mut pooled = vec![vec![Vec::new(); 4]; 3];
    for _ in 0..SESSIONS {
        let plain = vec![value; LEN];
        let out = run_three(|p| {
            let x = p.input(
                PartyId::P0,
                (p.id() == PartyId::P0).then_some(&plain[..]),
                LEN,
            )?;
            let one = p.public(&vec![1; LEN]);
            let y = p.mul(&x, &one)?;
            Ok((components(&x), components(&y)))
        })
        .expect("honest run");
        for (party, ((xa, xb), (ya, yb))) in out.into_iter().enumerate() {
            pooled[party][0].extend(xa);
            pooled[party][1].extend(xb);
            pooled[party][2].extend(ya);
            pooled[party][3].extend(yb);
        }
    }
    pooled
}

/// The raw components, through the public test hook.
fn components(x: &ArithShares) -> (Vec<u64>, Vec<u64>) {
    x.components_for_tests()
}

#[test]
fn the_statistic_detects_a_non_uniform_view() {
    // Power check: the plaintext itself, or a value plus small noise, is far from uniform.
    let plain: Vec<u64> = (0..(SESSIONS * LEN) as u64)
        .map(|i| 0x0123_4567_89AB_CDEF ^ (i % 7))
        .collect();
    assert!(chi2_uniform(&histogram(&plain)) > 10.0 * CHI2_255_LIMIT);
}

#[test]
fn one_partys_shares_of_a_fixed_input_are_uniform() {
    let v = views(0x0123_4567_89AB_CDEF);
    for (party, comps) in v.iter().enumerate() {
        for (k, words) in comps.iter().enumerate() {
            // Input sharing from P0 fixes component 2 to zero (see `Party::input`): P1 holds
            // it as its second component and P2 as its first. The indistinguishability test
            // below checks that it is zero whatever the input.
            if words.iter().all(|&w| w == 0) {
                assert!(
                    k < 2 && ((party == 1 && k == 1) || (party == 2 && k == 0)),
                    "P{party} component {k} is all zero"
                );
                continue;
            }
            let chi2 = chi2_uniform(&histogram(words));
            assert!(
                chi2 < CHI2_255_LIMIT,
                "P{party} component {k}: chi2 {chi2:.1}"
            );
        }
    }
}

#[test]
fn views_of_two_different_inputs_are_indistinguishable() {
    let zero = views(0);
    let ones = views(u64::MAX);
    for party in 0..3 {
        for k in 0..4 {
            let (a, b) = (&zero[party][k], &ones[party][k]);
            let a_fixed = a.iter().all(|&w| w == 0);
            let b_fixed = b.iter().all(|&w| w == 0);
            assert_eq!(
                a_fixed, b_fixed,
                "P{party} component {k}: fixed for one input only"
            );
            if a_fixed {
                continue;
            }
            let chi2 = chi2_two_sample(&histogram(a), &histogram(b));
            assert!(
                chi2 < CHI2_255_LIMIT,
                "P{party} component {k}: two-sample chi2 {chi2:.1}"
            );
        }
    }
}
