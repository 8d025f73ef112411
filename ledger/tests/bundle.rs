//! Proof bundles exported from a store: they verify offline, any flipped bit fails, and the
//! failure names the check.
#![cfg(feature = "store")]

mod common;

use common::Consortium;
use weinong_ledger::MemberSet;
use weinong_ledger::bundle::{self, CertifiedHead, ConsistencyFile, ProofBundle};
use weinong_ledger::store::LedgerStore;

type Ledger = (
    tempfile::TempDir,
    LedgerStore,
    Consortium,
    Vec<weinong_ledger::Transaction>,
);

/// A store of 4 blocks, no tree heads.
fn ledger() -> Ledger {
    ledger_of(&[5, 9, 2, 13], &[])
}

/// A store with one block of `counts[h]` transactions at each height `h`, and a co-signed
/// tree head recorded at each height in `heads_at`.
fn ledger_of(counts: &[usize], heads_at: &[usize]) -> Ledger {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut store = LedgerStore::create(dir.path(), &c.set).expect("create");
    let mut txs = Vec::new();
    for (height, &n) in counts.iter().enumerate() {
        txs.extend(c.append(&mut store, n));
        if heads_at.contains(&height) {
            c.record_tip_head(&mut store);
        }
    }
    (dir, store, c, txs)
}

fn flip_hex(hex_text: &str, bit: usize) -> String {
    let mut bytes = hex::decode(hex_text).expect("hex");
    bytes[bit / 8] ^= 1 << (bit % 8);
    hex::encode(bytes)
}

fn bits(hex_text: &str) -> usize {
    hex::decode(hex_text).expect("hex").len() * 8
}

/// `b` fails verification against `pinned`, at one of the `allowed` checks.
fn expect_fail(b: &ProofBundle, pinned: &MemberSet, allowed: &[&str], what: &str) {
    let err = b.verify(Some(pinned)).expect_err(what);
    assert!(
        allowed.contains(&err.check),
        "{what}: failed check `{}` not in {allowed:?}: {err}",
        err.check
    );
}

/// Flips every `step`-th bit of the hex field that `field` picks, one copy of `good` a bit,
/// and requires each copy to fail at one of the `allowed` checks.
fn each_flipped_bit_fails<F>(
    good: &ProofBundle,
    pinned: &MemberSet,
    field: F,
    step: usize,
    allowed: &[&str],
    what: &str,
) where
    F: Fn(&mut ProofBundle) -> &mut String,
{
    let original = field(&mut good.clone()).clone();
    for bit in (0..bits(&original)).step_by(step) {
        let mut b = good.clone();
        *field(&mut b) = flip_hex(&original, bit);
        expect_fail(&b, pinned, allowed, what);
    }
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
    let expect_fail =
        |b: &ProofBundle, allowed: &[&str], what: &str| expect_fail(b, &c.set, allowed, what);
    let every_bit = |field: fn(&mut ProofBundle) -> &mut String, allowed: &[&str], what: &str| {
        each_flipped_bit_fails(&good, &c.set, field, 1, allowed, what)
    };
    every_bit(
        |b| &mut b.transaction,
        &["transaction", "signer_key", "signature"],
        "transaction bit",
    );
    every_bit(|b| &mut b.header, &["header", "quorum"], "header bit");
    every_bit(
        |b| &mut b.certificate,
        &["certificate", "quorum"],
        "certificate bit",
    );
    for (i, node) in good.inclusion_proof.iter().enumerate() {
        assert_eq!(bits(node), 256, "a proof node is one SM3 digest");
        each_flipped_bit_fails(
            &good,
            &c.set,
            |b| &mut b.inclusion_proof[i],
            1,
            &["inclusion"],
            "proof bit",
        );
    }
    every_bit(|b| &mut b.signer_key, &["signer_key"], "signer key bit");
    let mut b = good.clone();
    b.leaf_index += 1;
    expect_fail(&b, &["inclusion"], "leaf index");
    let mut b = good.clone();
    b.inclusion_proof.pop();
    expect_fail(&b, &["inclusion"], "short proof");
    let mut b = good.clone();
    b.format = "weinong-proof-bundle/3".into();
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

/// A store of 6 blocks (more than one holding transactions) with co-signed tree heads of
/// blocks 2 and 5.
fn ledger_with_heads() -> Ledger {
    ledger_of(&[5, 9, 2, 0, 13, 3], &[2, 5])
}

#[test]
fn linked_bundles_prove_an_old_block_against_a_later_head() {
    let (_dir, store, c, txs) = ledger_with_heads();
    let tip = store.tip().expect("tip").height;
    for (i, tx) in txs.iter().enumerate() {
        let i = i as u64;
        let holder = store.block_of(i).expect("held");
        for head in holder..=tip {
            let b = store
                .export_linked_bundle(&tx.hash(), Some(head))
                .expect("export");
            let has_head = head == 2 || head == 5;
            let expected_format = if head == holder && !has_head {
                bundle::BUNDLE_FORMAT
            } else {
                bundle::BUNDLE_FORMAT_V2
            };
            assert_eq!(b.format, expected_format);
            let json = serde_json::to_string_pretty(&b).expect("json");
            let back: ProofBundle = bundle::from_json(&json).expect("parse");
            let report = back.verify(Some(&c.set)).expect("verifies offline");
            assert_eq!(report.header.height, holder, "proven in its own block");
            assert_eq!(report.certified.height, head);
            assert_eq!(report.chain_len, head - holder);
            assert_eq!(report.tree_head_cosignatures, has_head.then_some(2));
            assert_eq!(report.leaf_index, i);
        }
        // A head before the holding block is refused.
        if holder > 0 {
            assert!(
                store
                    .export_linked_bundle(&tx.hash(), Some(holder - 1))
                    .is_err()
            );
        }
    }
}

#[test]
fn every_flipped_bit_of_a_linked_bundle_fails_a_named_check() {
    let (_dir, store, c, txs) = ledger_with_heads();
    // Transaction 3 is in block 0; block 5 is the head, with a co-signed tree head.
    let good = store
        .export_linked_bundle(&txs[3].hash(), None)
        .expect("export");
    assert_eq!(good.chain.len(), 5);
    assert!(good.tree_head.is_some());
    good.verify(Some(&c.set)).expect("good");
    let expect_fail =
        |b: &ProofBundle, allowed: &[&str], what: &str| expect_fail(b, &c.set, allowed, what);
    each_flipped_bit_fails(
        &good,
        &c.set,
        |b| &mut b.header,
        1,
        &["header", "chain"],
        "header bit",
    );
    for i in 0..good.chain.len() {
        each_flipped_bit_fails(
            &good,
            &c.set,
            |b| &mut b.chain[i],
            1,
            &["chain", "quorum"],
            "chain bit",
        );
    }
    each_flipped_bit_fails(
        &good,
        &c.set,
        |b| b.tree_head.as_mut().expect("present"),
        1,
        &["tree_head"],
        "tree head bit",
    );
    each_flipped_bit_fails(
        &good,
        &c.set,
        |b| &mut b.certificate,
        7,
        &["certificate", "quorum"],
        "certificate bit",
    );
    // Dropping, repeating or reordering links breaks the chain or the certificate.
    let mut b = good.clone();
    b.chain.remove(2);
    expect_fail(&b, &["chain"], "dropped link");
    let mut b = good.clone();
    b.chain.pop();
    expect_fail(&b, &["quorum"], "dropped head");
    let mut b = good.clone();
    b.chain.swap(1, 2);
    expect_fail(&b, &["chain"], "swapped links");
    // The tree head of another block, with valid co-signatures, is refused.
    let mut b = good.clone();
    b.tree_head = Some(hex::encode(store.tree_head(2).expect("head of 2").encode()));
    expect_fail(&b, &["tree_head"], "tree head of another block");
    // A version-1 bundle may not carry version-2 fields.
    let mut b = good.clone();
    b.format = bundle::BUNDLE_FORMAT.into();
    expect_fail(&b, &["format"], "v1 with a chain");
    // More links than the limit, refused before any is decoded.
    let mut b = good.clone();
    b.chain = vec![good.chain[0].clone(); weinong_ledger::limits::BUNDLE_HEADERS_MAX + 1];
    expect_fail(&b, &["chain"], "too many links");
}

/// A verifier that reads only version 1 (the JSON shape of `weinong-proof-bundle/1`, as
/// session 1 shipped it) refuses version 2 while parsing, before it trusts anything.
#[test]
fn version_one_readers_refuse_version_two() {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only parsing is tested")]
    struct V1 {
        format: String,
        members: String,
        signer_key: String,
        transaction: String,
        leaf_index: u64,
        inclusion_proof: Vec<String>,
        header: String,
        certificate: String,
    }
    let (_dir, store, _c, txs) = ledger_with_heads();
    let v1 = store.export_bundle(&txs[0].hash(), None).expect("v1");
    let v2 = store
        .export_linked_bundle(&txs[0].hash(), None)
        .expect("v2");
    let parse = |b: &ProofBundle| {
        serde_json::from_str::<V1>(&serde_json::to_string(b).expect("json")).map(|v| v.format)
    };
    assert_eq!(parse(&v1).expect("v1 reads v1"), bundle::BUNDLE_FORMAT);
    let err = parse(&v2).expect_err("v1 refuses v2");
    assert!(err.to_string().contains("unknown field `chain`"), "{err}");
}
