//! The Merkle log against RFC 6962 SHA-256 known answers, then against a plain recursive
//! implementation of RFC 9162 §2.1 (MTH, PATH, PROOF) for SM3 and SHA-256: every index and
//! size up to 64, random ones up to 1,000,000 leaves, and single-bit corruption.

use rand::{RngExt, SeedableRng};
use weinong_ledger::merkle::{
    self, MemoryLog, NodeHash, NodeSource, ProofError, Sm3, TreeDigest, consistency_proof,
    inclusion_proof, leaf_hash, node_hash, root_at, verify_consistency, verify_inclusion,
};

type Sha256 = sha2::Sha256;

// ---- the reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 written as recursion ----

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth<H: TreeDigest>(d: &[NodeHash]) -> NodeHash {
    match d.len() {
        0 => merkle::empty_root::<H>(),
        1 => d[0],
        n => {
            let k = split(n);
            node_hash::<H>(&mth::<H>(&d[..k]), &mth::<H>(&d[k..]))
        }
    }
}

fn path<H: TreeDigest>(m: usize, d: &[NodeHash]) -> Vec<NodeHash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = split(n);
    let mut out;
    if m < k {
        out = path::<H>(m, &d[..k]);
        out.push(mth::<H>(&d[k..]));
    } else {
        out = path::<H>(m - k, &d[k..]);
        out.push(mth::<H>(&d[..k]));
    }
    out
}

fn subproof<H: TreeDigest>(m: usize, d: &[NodeHash], b: bool) -> Vec<NodeHash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth::<H>(d)] };
    }
    let k = split(n);
    let mut out;
    if m <= k {
        out = subproof::<H>(m, &d[..k], b);
        out.push(mth::<H>(&d[k..]));
    } else {
        out = subproof::<H>(m - k, &d[k..], false);
        out.push(mth::<H>(&d[..k]));
    }
    out
}

fn leaf_data(i: u64) -> Vec<u8> {
    // Varying lengths, so a length bug cannot hide.
    let mut v = i.to_be_bytes().to_vec();
    v.resize(8 + (i % 5) as usize, 0xA5);
    v
}

fn build<H: TreeDigest>(n: u64) -> (MemoryLog, Vec<NodeHash>) {
    let mut log = MemoryLog::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let data = leaf_data(i);
        leaves.push(leaf_hash::<H>(&data));
        log.push::<H>(&data);
    }
    (log, leaves)
}

// ---- known answers ----

struct Vectors {
    leaves: Vec<Vec<u8>>,
    roots: Vec<(u64, NodeHash)>,
    nodes: Vec<(u8, u64, NodeHash)>,
    inclusion: Vec<(u64, u64, Vec<NodeHash>)>,
    consistency: Vec<(u64, u64, Vec<NodeHash>)>,
}

fn h32(s: &str) -> NodeHash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).expect("vector hashes are 64 hex characters");
    out
}

fn hashes(s: &str) -> Vec<NodeHash> {
    if s == "-" {
        vec![]
    } else {
        s.split(',').map(h32).collect()
    }
}

fn load_vectors() -> Vectors {
    let text = include_str!("data/rfc6962_sha256_vectors.txt");
    let mut v = Vectors {
        leaves: vec![],
        roots: vec![],
        nodes: vec![],
        inclusion: vec![],
        consistency: vec![],
    };
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f[i].parse::<u64>().expect("vector numbers are decimal");
        match f[0] {
            "leaf" => v.leaves.push(if f[1] == "-" {
                vec![]
            } else {
                hex::decode(f[1]).expect("hex leaf")
            }),
            "root" => v.roots.push((num(1), h32(f[2]))),
            "node" => v.nodes.push((num(1) as u8, num(2), h32(f[3]))),
            "inclusion" => v.inclusion.push((num(1), num(2), hashes(f[3]))),
            "consistency" => v.consistency.push((num(1), num(2), hashes(f[3]))),
            other => panic!("unknown vector line kind {other}"),
        }
    }
    assert_eq!(v.leaves.len(), 8);
    v
}

#[test]
fn sha256_known_answers_rfc6962() {
    let v = load_vectors();
    let mut logs = vec![MemoryLog::new()];
    for leaf in &v.leaves {
        let mut next = logs.last().expect("starts with the empty log").clone();
        next.push::<Sha256>(leaf);
        logs.push(next);
    }
    assert_eq!(v.roots.len(), 9);
    for (size, root) in &v.roots {
        assert_eq!(
            &logs[*size as usize].root::<Sha256>(),
            root,
            "root of size {size}"
        );
        assert_eq!(
            &root_at::<Sha256, _>(&logs[8], *size).expect("past root"),
            root,
            "past root of size {size}"
        );
    }
    for (level, index, hash) in &v.nodes {
        assert_eq!(
            &logs[8].node(*level, *index).expect("stored node"),
            hash,
            "node ({level}, {index})"
        );
    }
    for (index, size, proof) in &v.inclusion {
        let log = &logs[*size as usize];
        assert_eq!(
            &inclusion_proof::<Sha256, _>(log, *size, *index).expect("proof"),
            proof,
            "inclusion {index} in {size}"
        );
        let root = log.root::<Sha256>();
        verify_inclusion::<Sha256>(&v.leaves[*index as usize], *index, *size, &root, proof)
            .expect("known proof verifies");
    }
    for (old, new, proof) in &v.consistency {
        let log = &logs[*new as usize];
        assert_eq!(
            &consistency_proof::<Sha256, _>(log, *old, *new).expect("proof"),
            proof,
            "consistency {old}->{new}"
        );
        let old_root = logs[*old as usize].root::<Sha256>();
        verify_consistency::<Sha256>(*old, &old_root, *new, &log.root::<Sha256>(), proof)
            .expect("known proof verifies");
    }
}

// ---- exhaustive against the reference ----

fn exhaustive<H: TreeDigest>(max: u64) {
    let (log, leaves) = build::<H>(max);
    for n in 1..=max {
        let d = &leaves[..n as usize];
        let root = mth::<H>(d);
        assert_eq!(
            root_at::<H, _>(&log, n).expect("root"),
            root,
            "root of size {n}"
        );
        for m in 0..n {
            let proof = inclusion_proof::<H, _>(&log, n, m).expect("inclusion proof");
            assert_eq!(proof, path::<H>(m as usize, d), "PATH({m}, D[{n}])");
            verify_inclusion::<H>(&leaf_data(m), m, n, &root, &proof).expect("inclusion verifies");
        }
        for m in 1..=n {
            let proof = consistency_proof::<H, _>(&log, m, n).expect("consistency proof");
            assert_eq!(
                proof,
                subproof::<H>(m as usize, d, true),
                "PROOF({m}, D[{n}])"
            );
            let old_root = mth::<H>(&d[..m as usize]);
            verify_consistency::<H>(m, &old_root, n, &root, &proof).expect("consistency verifies");
        }
    }
}

#[test]
fn every_size_index_and_old_size_to_64_sm3() {
    exhaustive::<Sm3>(64);
}

#[test]
fn every_size_index_and_old_size_to_64_sha256() {
    exhaustive::<Sha256>(64);
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// Any single bit flipped in a proof node, the leaf or the root, and any other index or
/// size, is refused.
#[test]
fn single_bit_flips_and_wrong_positions_fail_sm3() {
    let (log, leaves) = build::<Sm3>(48);
    for n in 1..=24u64 {
        let d = &leaves[..n as usize];
        let root = mth::<Sm3>(d);
        for m in 0..n {
            let proof = inclusion_proof::<Sm3, _>(&log, n, m).expect("proof");
            let data = leaf_data(m);
            for i in 0..proof.len() {
                for bit in 0..256 {
                    let mut bad = proof.clone();
                    flip(&mut bad[i], bit);
                    assert!(
                        verify_inclusion::<Sm3>(&data, m, n, &root, &bad).is_err(),
                        "flipped proof accepted"
                    );
                }
            }
            for bit in 0..data.len() * 8 {
                let mut bad = data.clone();
                flip(&mut bad, bit);
                assert!(
                    verify_inclusion::<Sm3>(&bad, m, n, &root, &proof).is_err(),
                    "flipped leaf accepted"
                );
            }
            for bit in 0..256 {
                let mut bad = root;
                flip(&mut bad, bit);
                assert!(
                    verify_inclusion::<Sm3>(&data, m, n, &bad, &proof).is_err(),
                    "flipped root accepted"
                );
            }
            for other in 0..n + 2 {
                if other != m {
                    assert!(
                        verify_inclusion::<Sm3>(&data, other, n, &root, &proof).is_err(),
                        "index {other} for {m} accepted"
                    );
                }
            }
            // A proof alone does not pin the tree size (RFC 9162 §2.1.3.2 takes leaf 0 of
            // size 3 as leaf 0 of size 4 too: the signed head binds the size). Any size that
            // changes the path must fail.
            for size in [n - 1, n + 1, n * 2] {
                if size >= 1
                    && m < size
                    && path::<Sm3>(m as usize, &leaves[..size as usize]).len() != proof.len()
                {
                    assert!(
                        verify_inclusion::<Sm3>(&data, m, size, &root, &proof).is_err(),
                        "size {size} for {n} accepted"
                    );
                }
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(
                verify_inclusion::<Sm3>(&data, m, n, &root, &longer).is_err(),
                "padded proof accepted"
            );
        }
        for m in 1..n {
            let proof = consistency_proof::<Sm3, _>(&log, m, n).expect("proof");
            let old_root = mth::<Sm3>(&d[..m as usize]);
            for i in 0..proof.len() {
                for bit in 0..256 {
                    let mut bad = proof.clone();
                    flip(&mut bad[i], bit);
                    assert!(
                        verify_consistency::<Sm3>(m, &old_root, n, &root, &bad).is_err(),
                        "flipped consistency accepted"
                    );
                }
            }
            for bit in 0..256 {
                let mut bad_old = old_root;
                flip(&mut bad_old, bit);
                assert!(verify_consistency::<Sm3>(m, &bad_old, n, &root, &proof).is_err());
                let mut bad_new = root;
                flip(&mut bad_new, bit);
                assert!(verify_consistency::<Sm3>(m, &old_root, n, &bad_new, &proof).is_err());
            }
            for other in 1..=n {
                if other != m {
                    let other_root = mth::<Sm3>(&d[..other as usize]);
                    assert!(
                        verify_consistency::<Sm3>(other, &other_root, n, &root, &proof).is_err(),
                        "old size {other} for {m} accepted"
                    );
                }
            }
        }
    }
}

#[test]
fn random_proofs_up_to_a_million_leaves_sm3() {
    const N: u64 = 1_000_000;
    let (log, leaves) = build::<Sm3>(N);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9162);
    let mut sizes: Vec<u64> = (0..3).map(|_| rng.random_range(1..=N)).collect();
    sizes.push(N);
    sizes.push(1 << 19);
    for &n in &sizes {
        // The reference recursion is O(n) per call: a root and two paths per size, and
        // the other proofs are checked by verifying against the reference root.
        let root = mth::<Sm3>(&leaves[..n as usize]);
        assert_eq!(
            root_at::<Sm3, _>(&log, n).expect("root"),
            root,
            "root of size {n}"
        );
        for k in 0..40 {
            let m = rng.random_range(0..n);
            let proof = inclusion_proof::<Sm3, _>(&log, n, m).expect("proof");
            if k < 2 {
                assert_eq!(
                    proof,
                    path::<Sm3>(m as usize, &leaves[..n as usize]),
                    "PATH({m}, D[{n}])"
                );
            }
            verify_inclusion::<Sm3>(&leaf_data(m), m, n, &root, &proof).expect("verifies");
            let mut bad = proof.clone();
            let i = rng.random_range(0..bad.len().max(1));
            if let Some(node) = bad.get_mut(i) {
                flip(node, rng.random_range(0..256));
                assert!(verify_inclusion::<Sm3>(&leaf_data(m), m, n, &root, &bad).is_err());
            }
        }
        for _ in 0..10 {
            let m = rng.random_range(1..=n);
            let proof = consistency_proof::<Sm3, _>(&log, m, n).expect("proof");
            let old_root = root_at::<Sm3, _>(&log, m).expect("old root");
            verify_consistency::<Sm3>(m, &old_root, n, &root, &proof).expect("verifies");
        }
    }
}

#[test]
fn impossible_requests_are_errors_not_panics() {
    let (log, _) = build::<Sm3>(5);
    assert!(matches!(
        inclusion_proof::<Sm3, _>(&log, 0, 0),
        Err(ProofError::EmptyTree)
    ));
    assert!(matches!(
        inclusion_proof::<Sm3, _>(&log, 5, 5),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        consistency_proof::<Sm3, _>(&log, 0, 5),
        Err(ProofError::SizesInvalid { .. })
    ));
    assert!(matches!(
        consistency_proof::<Sm3, _>(&log, 6, 5),
        Err(ProofError::SizesInvalid { .. })
    ));
    // A size the store has not reached: the source answers with a missing node.
    assert!(matches!(
        inclusion_proof::<Sm3, _>(&log, 9, 0),
        Err(ProofError::Source(_))
    ));
    let root = log.root::<Sm3>();
    assert!(verify_inclusion::<Sm3>(b"x", 0, u64::MAX, &root, &[]).is_err());
    assert!(verify_consistency::<Sm3>(3, &root, u64::MAX, &root, &[]).is_err());
}
