//! Records written by format version 1 stay readable: `tests/data/golden_v1.txt` holds a
//! member set, a signed transaction, a header and its certificate as this release wrote
//! them. Every later release must decode them to the same fields, re-encode them to the same
//! bytes, and verify their signatures.
//!
//! The file was written once with `WEINONG_LEDGER_WRITE_GOLDEN=1 cargo test --release -p
//! weinong-ledger --test golden`; never regenerate it to make a change pass.

use weinong_keys::{KeyPair, PublicKey};
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, Hash32, MemberSet, Transaction, TxBody, TxKind,
};

/// Read at run time: a binary reused from another checkout must read this one.
fn path() -> String {
    format!(
        "{}/tests/data/golden_v1.txt",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    )
}

fn key(i: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[i; 32]).expect("small fixed scalar")
}

fn header() -> BlockHeader {
    BlockHeader {
        height: 7,
        previous: BlockHash([0x11; 32]),
        log_size: 1_000,
        log_root: Hash32([0x22; 32]),
        state_digest: Hash32([0x33; 32]),
        time_ms: 1_764_300_000_000,
        proposer: key(1).key_id(),
        // A format-1 header names no member set: both digests read as zero.
        members: Hash32::default(),
        next_members: Hash32::default(),
    }
}

fn write_golden() {
    let members: Vec<KeyPair> = (1..=3).map(key).collect();
    let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2)
        .expect("2 of 3");
    let signer = key(9);
    let body = TxBody {
        kind: TxKind(0x0101),
        signer: signer.key_id(),
        nonce: 42,
        time_ms: 1_764_299_999_000,
        payload: b"golden payload v1".to_vec(),
    };
    let tx = Transaction::sign(body, &signer).expect("small");
    let h = header();
    let cert = CommitCertificate::from_votes(&h, vec![h.vote(&members[0]), h.vote(&members[2])]);
    let text = format!(
        "# Ledger records as format version 1 wrote them (see tests/golden.rs). Hex, one per line.\n\
         members {}\nsigner_key {}\ntx {}\nheader {}\ncertificate {}\n",
        hex::encode(set.encode()),
        hex::encode(signer.public_key().to_sec1_bytes()),
        hex::encode(tx.as_bytes()),
        hex::encode(h.encode()),
        hex::encode(cert.encode()),
    );
    std::fs::write(path(), text).expect("write golden file");
}

fn field(text: &str, name: &str) -> Vec<u8> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("golden file lacks `{name}`"));
    hex::decode(line.trim()).expect("golden hex")
}

#[test]
fn golden_v1_records_still_decode_and_verify() {
    if std::env::var_os("WEINONG_LEDGER_WRITE_GOLDEN").is_some() {
        write_golden();
    }
    let text = std::fs::read_to_string(path()).expect("golden file present");

    let members_bytes = field(&text, "members");
    let members = MemberSet::decode(&members_bytes).expect("member set decodes");
    assert_eq!(members.encode(), members_bytes);
    assert_eq!(members.quorum(), 2);
    let expected_ids: Vec<_> = (1..=3).map(|i| key(i).key_id()).collect();
    for id in &expected_ids {
        assert!(members.keys().contains_key(id));
    }

    let signer = PublicKey::from_sec1_bytes(&field(&text, "signer_key")).expect("signer key");
    assert_eq!(signer.key_id(), key(9).key_id());
    let tx_bytes = field(&text, "tx");
    let tx = Transaction::decode(&tx_bytes).expect("transaction decodes");
    assert_eq!(tx.as_bytes(), tx_bytes.as_slice());
    assert_eq!(tx.body().kind, TxKind(0x0101));
    assert_eq!(tx.body().nonce, 42);
    assert_eq!(tx.body().payload, b"golden payload v1");
    tx.verify(&signer).expect("the v1 signature still verifies");

    let header_bytes = field(&text, "header");
    let h = BlockHeader::decode(&header_bytes).expect("header decodes");
    assert_eq!(h, header());
    assert_eq!(h.encode(), header_bytes);
    let cert_bytes = field(&text, "certificate");
    let cert = CommitCertificate::decode(&cert_bytes).expect("certificate decodes");
    assert_eq!(cert.encode(), cert_bytes);
    cert.verify(&h, &members)
        .expect("the v1 certificate still verifies");
}
