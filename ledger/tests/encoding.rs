//! Canonical encodings, signatures, certificates and equivocation evidence.

use weinong_keys::{KeyPair, PublicKey};
use weinong_ledger::block::commit_vote_message;
use weinong_ledger::error::DecodeError;
use weinong_ledger::limits::TX_PAYLOAD_BYTES_MAX;
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, Equivocation, Hash32, MemberSet, SignedTreeHead,
    Transaction, TreeHead, TxBody, TxKind, VerifyError, verify_chain,
};

fn body(payload: &[u8]) -> TxBody {
    TxBody {
        kind: TxKind(0xF001),
        signer: weinong_keys::KeyId::from_bytes([0; 32]),
        nonce: 7,
        time_ms: 1_764_000_000_000,
        payload: payload.to_vec(),
    }
}

#[test]
fn transaction_round_trips_and_verifies() {
    let key = KeyPair::generate();
    let tx = Transaction::sign(body(b"consent:grant"), &key).expect("small payload");
    assert_eq!(tx.body().signer, key.key_id());
    let back = Transaction::decode(tx.as_bytes()).expect("decodes");
    assert_eq!(back, tx);
    back.verify(key.public_key()).expect("signature verifies");
    // The documented layout: tag, version, kind, signer, nonce, time, length, payload, sig.
    let b = tx.as_bytes();
    assert_eq!(&b[..5], b"WNTX\x01");
    assert_eq!(&b[5..7], &0xF001u16.to_be_bytes());
    assert_eq!(&b[7..39], key.key_id().as_bytes());
    assert_eq!(&b[39..47], &7u64.to_be_bytes());
    assert_eq!(&b[55..59], &13u32.to_be_bytes());
    assert_eq!(&b[59..72], b"consent:grant");
    assert_eq!(b.len(), 72 + 64);
    assert_eq!(tx.hash().0, weinong_keys::sm3_digest(b));
    // Another key is not the signer.
    let other = KeyPair::generate();
    assert!(matches!(
        tx.verify(other.public_key()),
        Err(VerifyError::WrongKey { .. })
    ));
}

#[test]
fn transaction_decoding_refuses_malformed_input() {
    let key = KeyPair::generate();
    let tx = Transaction::sign(body(b"payload"), &key).expect("small payload");
    let good = tx.as_bytes().to_vec();

    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        Transaction::decode(&trailing),
        Err(DecodeError::TrailingBytes { count: 1, .. })
    ));

    let mut version = good.clone();
    version[4] = 2;
    assert!(matches!(
        Transaction::decode(&version),
        Err(DecodeError::UnknownVersion { found: 2, .. })
    ));

    let mut tag = good.clone();
    tag[0] = b'X';
    assert!(matches!(
        Transaction::decode(&tag),
        Err(DecodeError::WrongTag { .. })
    ));

    let mut oversize = good.clone();
    oversize[55..59].copy_from_slice(&(TX_PAYLOAD_BYTES_MAX + 1).to_be_bytes());
    assert!(matches!(
        Transaction::decode(&oversize),
        Err(DecodeError::TooLong { .. })
    ));

    for len in 0..good.len() {
        assert!(
            Transaction::decode(&good[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    assert!(Transaction::sign(body(&vec![0; TX_PAYLOAD_BYTES_MAX as usize + 1]), &key).is_err());
    assert!(Transaction::sign(body(&vec![0; TX_PAYLOAD_BYTES_MAX as usize]), &key).is_ok());
}

#[test]
fn any_flipped_bit_of_a_transaction_is_refused() {
    let key = KeyPair::generate();
    let tx = Transaction::sign(body(b"access:record"), &key).expect("small payload");
    each_flipped_bit_refused(tx.as_bytes(), "", |bad| match Transaction::decode(bad) {
        Err(_) => true,
        Ok(t) => t.verify(key.public_key()).is_err(),
    });
}

/// Flips each bit of `good` in turn; `refused` must refuse every copy. `what` names the
/// bytes in the failure message.
fn each_flipped_bit_refused(good: &[u8], what: &str, refused: impl Fn(&[u8]) -> bool) {
    for bit in 0..good.len() * 8 {
        let mut bad = good.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(refused(&bad), "{what}bit {bit} flipped and still accepted");
    }
}

struct Consortium {
    keys: Vec<KeyPair>,
    members: MemberSet,
}

fn consortium(n: usize, quorum: u16) -> Consortium {
    let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate()).collect();
    let members = MemberSet::new(
        keys.iter().map(|k| k.public_key().clone()).collect(),
        quorum,
    )
    .expect("valid set");
    Consortium { keys, members }
}

fn header(c: &Consortium, height: u64, previous: BlockHash, proposer: &KeyPair) -> BlockHeader {
    BlockHeader {
        height,
        previous,
        log_size: height * 10,
        log_root: Hash32([height as u8; 32]),
        state_digest: Hash32([0xEE; 32]),
        time_ms: 1_764_000_000_000 + height,
        proposer: proposer.key_id(),
        members: c.members.digest(),
        next_members: c.members.digest(),
    }
}

fn certify(c: &Consortium, h: &BlockHeader, signers: &[usize]) -> CommitCertificate {
    CommitCertificate::from_votes(h, signers.iter().map(|&i| h.vote(&c.keys[i])).collect())
}

#[test]
fn member_set_quorum_must_intersect() {
    let keys: Vec<PublicKey> = (0..4)
        .map(|_| KeyPair::generate().public_key().clone())
        .collect();
    assert!(
        MemberSet::new(keys.clone(), 2).is_err(),
        "2 of 4 quorums need not intersect"
    );
    assert!(MemberSet::new(keys.clone(), 5).is_err());
    assert!(MemberSet::new(vec![], 1).is_err());
    let mut twice = keys.clone();
    twice.push(keys[0].clone());
    assert!(MemberSet::new(twice, 3).is_err());
    let set = MemberSet::new(keys, 3).expect("3 of 4");
    assert_eq!(MemberSet::decode(&set.encode()).expect("round trip"), set);
    let mut bad = set.encode();
    bad.push(1);
    assert!(MemberSet::decode(&bad).is_err());
}

#[test]
fn certificates_need_a_quorum_of_valid_member_signatures() {
    let c = consortium(3, 2);
    let h = header(&c, 0, BlockHash::default(), &c.keys[0]);
    let cert = certify(&c, &h, &[0, 2]);
    cert.verify(&h, &c.members).expect("2 of 3 commit");
    assert_eq!(
        CommitCertificate::decode(&cert.encode()).expect("round trip"),
        cert
    );
    assert_eq!(BlockHeader::decode(&h.encode()).expect("round trip"), h);

    let one = certify(&c, &h, &[1]);
    assert!(matches!(
        one.verify(&h, &c.members),
        Err(VerifyError::NoQuorum {
            found: 1,
            quorum: 2,
            ..
        })
    ));

    let outsider = KeyPair::generate();
    let mut foreign = cert.clone();
    foreign.signatures.push(h.vote(&outsider));
    foreign.signatures.sort_by_key(|s| s.signer);
    assert!(matches!(
        foreign.verify(&h, &c.members),
        Err(VerifyError::NotMember { .. })
    ));

    let mut repeated = cert.clone();
    repeated.signatures.push(repeated.signatures[0].clone());
    assert!(matches!(
        repeated.verify(&h, &c.members),
        Err(VerifyError::SignersNotCanonical { .. })
    ));

    let other = header(&c, 0, BlockHash([1; 32]), &c.keys[0]);
    assert!(matches!(
        cert.verify(&other, &c.members),
        Err(VerifyError::CertificateMismatch { .. })
    ));

    // Every single bit of the encoded certificate matters.
    each_flipped_bit_refused(
        &cert.encode(),
        "certificate ",
        |bad| match CommitCertificate::decode(bad) {
            Err(_) => true,
            Ok(c2) => c2.verify(&h, &c.members).is_err(),
        },
    );
    // And every bit of the header it commits.
    each_flipped_bit_refused(&h.encode(), "header ", |bad| {
        match BlockHeader::decode(bad) {
            Err(_) => true,
            Ok(h2) => cert.verify(&h2, &c.members).is_err(),
        }
    });
}

#[test]
fn header_chain_checks_links() {
    let c = consortium(3, 2);
    let h0 = header(&c, 0, BlockHash::default(), &c.keys[0]);
    let h1 = header(&c, 1, h0.hash(), &c.keys[1]);
    let h2 = header(&c, 2, h1.hash(), &c.keys[2]);
    let chain: Vec<_> = [h0, h1, h2]
        .iter()
        .map(|h| (*h, certify(&c, h, &[0, 1])))
        .collect();
    assert_eq!(
        verify_chain(&chain, &c.members, &[]).expect("valid chain"),
        Some(h2.hash())
    );

    let mut broken = chain.clone();
    let forged = header(&c, 2, BlockHash([9; 32]), &c.keys[2]);
    broken[2] = (forged, certify(&c, &forged, &[0, 1]));
    assert!(matches!(
        verify_chain(&broken, &c.members, &[]),
        Err(VerifyError::Chain { height: 2, .. })
    ));

    let mut gap = chain.clone();
    gap.remove(1);
    assert!(verify_chain(&gap, &c.members, &[]).is_err());
}

#[test]
fn equivocation_is_provable_and_not_forgeable() {
    let c = consortium(3, 2);
    let a = header(&c, 5, BlockHash([1; 32]), &c.keys[0]);
    let mut b = a;
    b.state_digest = Hash32([0x11; 32]);
    let cert_a = certify(&c, &a, &[0, 1]);
    let cert_b = certify(&c, &b, &[1, 2]);
    let found = Equivocation::from_certificates((&a, &cert_a), (&b, &cert_b));
    assert_eq!(
        found.len(),
        1,
        "quorums of 2 in 3 share exactly one member here"
    );
    assert_eq!(
        found[0].verify(&c.members).expect("valid evidence"),
        c.keys[1].key_id()
    );

    // Not equivocation: same header, or different heights, or different signers.
    // `votes(first, by, second, by)`: each header with its own signer's vote.
    let votes = |first: BlockHeader, k1: usize, second: BlockHeader, k2: usize| Equivocation {
        first,
        first_vote: first.vote(&c.keys[k1]),
        second,
        second_vote: second.vote(&c.keys[k2]),
    };
    let same = votes(a, 0, a, 0);
    assert!(same.verify(&c.members).is_err());
    let mut later = b;
    later.height = 6;
    let heights = votes(a, 0, later, 0);
    assert!(heights.verify(&c.members).is_err());
    let two = votes(a, 0, b, 1);
    assert!(two.verify(&c.members).is_err());
    // A vote moved onto the other header does not verify.
    let moved = Equivocation {
        first: a,
        first_vote: b.vote(&c.keys[0]),
        second: b,
        second_vote: b.vote(&c.keys[0]),
    };
    assert!(matches!(
        moved.verify(&c.members),
        Err(VerifyError::BadSignature { .. })
    ));
    // The vote message is domain-separated from the header bytes.
    assert_ne!(commit_vote_message(&a.hash()), a.encode());
}

#[test]
fn signed_tree_heads_need_a_quorum() {
    let c = consortium(3, 2);
    let head = TreeHead {
        size: 42,
        root: Hash32([3; 32]),
        time_ms: 9,
    };
    assert_eq!(TreeHead::decode(&head.encode()).expect("round trip"), head);
    let mut cosignatures = vec![head.cosign(&c.keys[2]), head.cosign(&c.keys[0])];
    cosignatures.sort_by_key(|s| s.signer);
    let sth = SignedTreeHead { head, cosignatures };
    sth.verify(&c.members).expect("2 of 3");
    let mut other = sth.clone();
    other.head.size = 43;
    assert!(other.verify(&c.members).is_err());
    let mut short = sth.clone();
    short.cosignatures.pop();
    assert!(short.verify(&c.members).is_err());
}
