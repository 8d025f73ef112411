//! Proof bundles exported from a store: they verify offline, any flipped bit fails, and the
//! failure names the check.
#![cfg(feature = "store")]

mod common;

use common::Consortium;
use weinong_ledger::MemberSet;
use weinong_ledger::bundle::{self, CertifiedHead, ConsistencyFile, ProofBundle};
use weinong_ledger::store::LedgerStore;

fn ledger() -> (
    tempfile::TempDir,
    LedgerStore,
    Consortium,
    Vec<weinong_ledger::Transaction>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut store = LedgerStore::create(dir.path(), &c.set).expect("create");
    let mut txs = Vec::new();
    for n in [5, 9, 2, 13] {
        txs.extend(c.append(&mut store, n));
    }
    (dir, store, c, txs)
}

fn flip_hex(hex_text: &str, bit: usize) -> String {
    let mut bytes = hex::decode(hex_text).expect("hex");
    bytes[bit / 8] ^= 1 << (bit % 8);
    hex::encode(bytes)
}

#[test]
fn exported_bundles_verify_and_round_trip_as_json() {
    let (_dir, store, c, txs) = ledger();
    for (i, tx) in txs.iter().enumerate() {
        let b = store.export_bundle(&tx.hash(), None).expect("export");
        let json = serde_json::to_string_pretty(&b).expect("json");
        let back: ProofBundle = bundle::from_json(&json).expect("parse");
        let report = back.verify(Some(&c.set)).expect("verifies offline");
        assert_eq!(report.tx_hash, tx.hash());
        assert_eq!(report.leaf_index, i as u64);
        assert!(report.header.log_size > i as u64);
        // Against the latest head too.
        let tip = store.tip().expect("tip").height;
        let latest = store
            .export_bundle(&tx.hash(), Some(tip))
            .expect("export at tip");
        assert_eq!(latest.verify(None).expect("verifies").header.height, tip);
    }
}

#[test]
fn every_flipped_bit_fails_a_named_check() {
    let (_dir, store, c, txs) = ledger();
    let good = store
        .export_bundle(&txs[7].hash(), Some(3))
        .expect("export");
    good.verify(Some(&c.set)).expect("good bundle");
    let bits = |s: &str| hex::decode(s).expect("hex").len() * 8;
    let expect_fail = |b: &ProofBundle, allowed: &[&str], what: &str| {
        let err = b.verify(Some(&c.set)).expect_err(what);
        assert!(
            allowed.contains(&err.check),
            "{what}: failed check `{}` not in {allowed:?}: {err}",
            err.check
        );
    };
    for bit in 0..bits(&good.transaction) {
        let mut b = good.clone();
        b.transaction = flip_hex(&good.transaction, bit);
        expect_fail(
            &b,
            &["transaction", "signer_key", "signature"],
            "transaction bit",
        );
    }
    for bit in 0..bits(&good.header) {
        let mut b = good.clone();
        b.header = flip_hex(&good.header, bit);
        expect_fail(&b, &["header", "quorum"], "header bit");
    }
    for bit in 0..bits(&good.certificate) {
        let mut b = good.clone();
        b.certificate = flip_hex(&good.certificate, bit);
        expect_fail(&b, &["certificate", "quorum"], "certificate bit");
    }
    for (i, node) in good.inclusion_proof.iter().enumerate() {
        for bit in 0..256 {
            let mut b = good.clone();
            b.inclusion_proof[i] = flip_hex(node, bit);
            expect_fail(&b, &["inclusion"], "proof bit");
        }
    }
    for bit in 0..bits(&good.signer_key) {
        let mut b = good.clone();
        b.signer_key = flip_hex(&good.signer_key, bit);
        expect_fail(&b, &["signer_key"], "signer key bit");
    }
    let mut b = good.clone();
    b.leaf_index += 1;
    expect_fail(&b, &["inclusion"], "leaf index");
    let mut b = good.clone();
    b.inclusion_proof.pop();
    expect_fail(&b, &["inclusion"], "short proof");
    let mut b = good.clone();
    b.format = "weinong-proof-bundle/2".into();
    expect_fail(&b, &["format"], "format");
    // A bundle resting on another member set fails against the pinned one.
    let other = Consortium::new();
    let mut b = good.clone();
    b.members = hex::encode(other.set.encode());
    expect_fail(&b, &["members"], "members");
    // A self-consistent bundle from another consortium: fine alone, refused when pinned.
    let (_d2, store2, c2, txs2) = ledger();
    let foreign = store2.export_bundle(&txs2[0].hash(), None).expect("export");
    foreign
        .verify(Some(&c2.set))
        .expect("valid for its own consortium");
    assert_eq!(
        foreign.verify(Some(&c.set)).expect_err("pinned").check,
        "members"
    );
    assert!(bundle::from_json::<ProofBundle>("{\"format\": 1}").is_err());
}

#[test]
fn consistency_between_certified_heads() {
    let (_dir, store, c, _) = ledger();
    for old in 0..4u64 {
        for new in old..4u64 {
            let oh = store.certified_head(old).expect("head");
            let nh = store.certified_head(new).expect("head");
            let proof = store.consistency_between(old, new).expect("proof");
            let json = serde_json::to_string(&proof).expect("json");
            let proof: ConsistencyFile = bundle::from_json(&json).expect("parse");
            let report =
                bundle::verify_consistency(&oh, &nh, &proof, Some(&c.set)).expect("consistent");
            assert_eq!((report.old.height, report.new.height), (old, new));
            if old < new {
                // Swapped heads, or a flipped bit in any proof node, fail.
                let swapped = bundle::verify_consistency(&nh, &oh, &proof, Some(&c.set))
                    .expect_err("swapped");
                assert_eq!(swapped.check, "sizes");
                for i in 0..proof.proof.len() {
                    for bit in [0, 77, 255] {
                        let mut bad = proof.clone();
                        bad.proof[i] = flip_hex(&proof.proof[i], bit);
                        let err = bundle::verify_consistency(&oh, &nh, &bad, Some(&c.set))
                            .expect_err("flipped");
                        assert_eq!(err.check, "consistency");
                    }
                }
            }
        }
    }
    let oh = store.certified_head(1).expect("head");
    let mut forged: CertifiedHead = store.certified_head(2).expect("head");
    forged.certificate = flip_hex(&forged.certificate, 300);
    let proof = store.consistency_between(1, 2).expect("proof");
    let err = bundle::verify_consistency(&oh, &forged, &proof, None).expect_err("forged head");
    assert_eq!(err.check, "new_head");
    let other: MemberSet = Consortium::new().set;
    assert_eq!(
        bundle::verify_consistency(&oh, &oh, &proof, Some(&other))
            .expect_err("pinned")
            .check,
        "old_head"
    );
}
