//! Fuzz targets for the ledger's decoders of untrusted bytes: transactions, block headers,
//! commit certificates, member sets, tree heads and signed tree heads arrive from clients,
//! peers and bundles.
//!
//! Each target checks two properties on any input: the decoder never panics, and whatever
//! it accepts is canonical (encoding the decoded value gives back the very bytes), so no
//! two encodings stand for one record and a hash or signature over the bytes means the
//! record.
//!
//! Under `cargo test` (stable) each target runs bolero's random inputs, then every
//! structured mutation of a real record (`tests/data/golden_v1.txt`): each truncation, each
//! byte XORed with 0x01, 0x80 and 0xff, and a byte inserted at each place — random bytes
//! rarely get past a record's tag, mutations of a real one reach every field.
//!
//! A campaign (libFuzzer, nightly; `cargo install cargo-bolero` once):
//! `cargo +nightly bolero test --package weinong-ledger --test fuzz_decoders transaction`
//! (or any target below); corpus and crashes go under `tests/__fuzz__/`.

use weinong_ledger::{
    BlockHeader, CommitCertificate, DecodeError, MemberSet, SignedTreeHead, Transaction, TreeHead,
};

fn golden(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/golden_v1.txt");
    let text = std::fs::read_to_string(path).expect("the golden file");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("golden file lacks `{name}`"));
    hex::decode(line.trim()).expect("golden hex")
}

/// Decoding never panics; an accepted input re-encodes to itself.
fn canonical<T: std::fmt::Debug>(
    what: &str,
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
    encode: impl Fn(&T) -> Vec<u8>,
) {
    if let Ok(value) = decode(bytes) {
        assert_eq!(
            encode(&value),
            bytes,
            "{what}: accepted {} bytes that do not re-encode to themselves: {value:?}",
            bytes.len()
        );
    }
}

/// Every truncation, XOR of one byte with three masks, and one-byte insertion of `seed`.
fn mutations(seed: &[u8], mut check: impl FnMut(&[u8])) {
    check(seed);
    for len in 0..seed.len() {
        check(&seed[..len]);
    }
    let mut buf = seed.to_vec();
    for i in 0..seed.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            buf[i] ^= mask;
            check(&buf);
            buf[i] ^= mask;
        }
    }
    for i in 0..=seed.len() {
        let mut longer = seed.to_vec();
        longer.insert(i, 0x00);
        check(&longer);
    }
}

fn transaction_holds(bytes: &[u8]) {
    canonical("transaction", bytes, Transaction::decode, |tx| {
        let mut out = tx.body().encode().expect("a decoded body encodes");
        out.extend_from_slice(&tx.signature().to_bytes());
        out
    });
}

fn header_holds(bytes: &[u8]) {
    canonical(
        "block header",
        bytes,
        BlockHeader::decode,
        BlockHeader::encode,
    );
}

fn certificate_holds(bytes: &[u8]) {
    canonical(
        "commit certificate",
        bytes,
        CommitCertificate::decode,
        CommitCertificate::encode,
    );
}

fn members_holds(bytes: &[u8]) {
    canonical("member set", bytes, MemberSet::decode, MemberSet::encode);
}

fn tree_head_holds(bytes: &[u8]) {
    canonical("tree head", bytes, TreeHead::decode, TreeHead::encode);
}

fn signed_tree_head_holds(bytes: &[u8]) {
    canonical(
        "signed tree head",
        bytes,
        SignedTreeHead::decode,
        SignedTreeHead::encode,
    );
}

#[test]
fn transaction() {
    mutations(&golden("tx"), transaction_holds);
    bolero::check!().for_each(transaction_holds);
}

#[test]
fn block_header() {
    mutations(&golden("header"), header_holds);
    bolero::check!().for_each(header_holds);
}

#[test]
fn commit_certificate() {
    mutations(&golden("certificate"), certificate_holds);
    bolero::check!().for_each(certificate_holds);
}

#[test]
fn member_set() {
    mutations(&golden("members"), members_holds);
    bolero::check!().for_each(members_holds);
}

#[test]
fn tree_head() {
    // A real head: the golden header's log size and root, as a tree head records them.
    let header = BlockHeader::decode(&golden("header")).expect("golden header");
    mutations(&TreeHead::of_header(&header).encode(), tree_head_holds);
    bolero::check!().for_each(tree_head_holds);
}

#[test]
fn signed_tree_head() {
    let header = BlockHeader::decode(&golden("header")).expect("golden header");
    let cert = CommitCertificate::decode(&golden("certificate")).expect("golden certificate");
    let seed = SignedTreeHead {
        head: TreeHead::of_header(&header),
        cosignatures: cert.signatures.clone(),
    }
    .encode();
    mutations(&seed, signed_tree_head_holds);
    bolero::check!().for_each(signed_tree_head_holds);
}
