//! The MPC backend equals the plaintext reference exactly, on 10,000 random subjects for
//! each shipped model (three parties in-process), and on the worked edge cases.

mod model_support;

use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{
    ADMISSION_V1, Backend, InputBatch, Mpc, PERIODIC_V1, PERIODIC_V2, Plaintext,
};

use model_support::model;

fn assert_backends_agree(source: &str, len: usize, seed: u64, require_variety: bool) {
    let m = model(source);
    let batch = random_batch(&m, len, seed).expect("random subjects are valid");
    let plain = Plaintext.evaluate(&m, &batch).expect("plaintext runs");
    let secure = Mpc::default()
        .evaluate(&m, &batch)
        .expect("three honest parties");
    for (index, output) in m.outputs().iter().enumerate() {
        let (p, s) = (plain.column(index), secure.column(index));
        assert_eq!(p.len(), len);
        if let Some(row) = (0..len).find(|r| p[*r] != s[*r]) {
            panic!(
                "{}: output {} differs at subject {row}: plain {} mpc {}",
                m.name(),
                output.name,
                p[row],
                s[row]
            );
        }
        if !require_variety {
            continue;
        }
        // The outputs are not constant: the test exercises every output's range.
        let distinct: std::collections::BTreeSet<i64> = p.iter().copied().collect();
        assert!(
            distinct.len() > 1,
            "{}: output {} took one value only",
            m.name(),
            output.name
        );
    }
}

#[test]
fn admission_v1_mpc_equals_plaintext_on_10000_random_subjects() {
    assert_backends_agree(ADMISSION_V1, 10_000, 1, true);
}

#[test]
fn periodic_v1_mpc_equals_plaintext_on_10000_random_subjects() {
    assert_backends_agree(PERIODIC_V1, 10_000, 2, true);
}

/// Random histories: every visit's and check-up's known flag, date, total, weight and
/// pressure drawn independently, so gaps, single visits and equal dates all occur.
#[test]
fn periodic_v2_mpc_equals_plaintext_on_10000_random_subjects() {
    assert_backends_agree(PERIODIC_V2, 10_000, 3, true);
}

/// Every shipped model can be evaluated for a requester: its outputs fit one output share.
#[test]
fn every_shipped_model_fits_an_output_share() {
    for source in weinong_mpc::model::SHIPPED {
        let m = model(source);
        assert!(
            m.outputs().len() <= weinong_mpc::model::limits::OUTPUT_COLUMNS_MAX,
            "{}: {} outputs",
            m.name(),
            m.outputs().len()
        );
    }
}

#[test]
fn small_batches_and_chunk_edges_agree() {
    for len in [1u64, 2, 63, 65] {
        assert_backends_agree(PERIODIC_V1, len as usize, 10 + len, false);
        assert_backends_agree(ADMISSION_V1, len as usize, 20 + len, false);
        assert_backends_agree(PERIODIC_V2, len as usize, 30 + len, false);
    }
}

#[test]
fn an_empty_batch_gives_empty_outputs() {
    let m = model(PERIODIC_V1);
    let batch = InputBatch::new(&m, vec![Vec::new(); m.inputs().len()]).expect("empty is valid");
    let out = Mpc::default().evaluate(&m, &batch).expect("nothing to do");
    assert!(out.columns().iter().all(Vec::is_empty));
}
