//! `ResultCommitment::of` against OpenSSL 3's SM3 over the documented bytes, built here by
//! hand from the format (not from the function under test), and a fixed vector.

use std::io::Write;
use std::process::{Command, Stdio};

use weinong_contracts::{ModelId, RequestId, ResultCommitment};

/// The documented encoding, written out field by field.
fn documented_bytes(
    request: [u8; 32],
    model: [u8; 32],
    len: u32,
    outputs: &[i64],
    nonce: [u8; 32],
) -> Vec<u8> {
    let mut b = b"weinong-result-v1".to_vec();
    b.extend_from_slice(&request);
    b.extend_from_slice(&model);
    b.extend_from_slice(&len.to_be_bytes());
    let count = u32::try_from(outputs.len()).expect("small test");
    b.extend_from_slice(&count.to_be_bytes());
    for v in outputs {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&nonce);
    b
}

fn openssl_sm3(bytes: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sm3", "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("OpenSSL 3 is part of the development environment (DESIGN.md)");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(bytes)
        .expect("write to openssl");
    let out = child.wait_with_output().expect("openssl runs");
    assert!(out.status.success(), "openssl dgst -sm3 failed");
    let text = String::from_utf8(out.stdout).expect("ASCII");
    text.split_whitespace().next().expect("a digest").to_owned()
}

fn of(request: [u8; 32], model: [u8; 32], len: u32, outputs: &[i64], nonce: [u8; 32]) -> String {
    ResultCommitment::of(
        &RequestId::from_bytes(request),
        &ModelId::from_bytes(model),
        len,
        outputs,
        &nonce,
    )
    .to_hex()
}

#[test]
fn fixed_vector() {
    // Produced with OpenSSL 3.0 from the documented bytes:
    //   python3 -c "import struct; open('v.bin','wb').write(b'weinong-result-v1'
    //     + b'\x11'*32 + b'\x22'*32 + struct.pack('>I',2) + struct.pack('>I',4)
    //     + b''.join(struct.pack('>q',v) for v in [3,-1,0,-2**63]) + b'\x33'*32)"
    //   openssl dgst -sm3 -r v.bin
    assert_eq!(
        of([0x11; 32], [0x22; 32], 2, &[3, -1, 0, i64::MIN], [0x33; 32]),
        "d346c159cbc03d298442b1c96d041e60b23cc5a803bb60a7c4ad92509b3c6f42"
    );
}

/// request, model, len, outputs, nonce.
type Case = ([u8; 32], [u8; 32], u32, Vec<i64>, [u8; 32]);

#[test]
fn agrees_with_openssl_and_binds_every_field() {
    let cases: Vec<Case> = vec![
        ([1; 32], [2; 32], 1, vec![4, 2, 1, 0, 3], [9; 32]),
        ([1; 32], [2; 32], 0, vec![], [9; 32]),
        (
            [0xfe; 32],
            [0; 32],
            3,
            vec![i64::MAX, -7, 12, 0, 1, -1],
            [0; 32],
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (request, model, len, outputs, nonce) in &cases {
        let ours = of(*request, *model, *len, outputs, *nonce);
        let bytes = documented_bytes(*request, *model, *len, outputs, *nonce);
        assert_eq!(ours, openssl_sm3(&bytes), "case len {len} {outputs:?}");
        assert!(seen.insert(ours));
    }
    // Changing any one field changes the commitment.
    let (request, model, len, outputs, nonce) = &cases[0];
    let base = of(*request, *model, *len, outputs, *nonce);
    let mut other_nonce = *nonce;
    other_nonce[31] ^= 1;
    let mut other_outputs = outputs.clone();
    other_outputs[2] += 1;
    let variants = [
        of([3; 32], *model, *len, outputs, *nonce),
        of(*request, [3; 32], *len, outputs, *nonce),
        of(*request, *model, len + 1, outputs, *nonce),
        of(*request, *model, *len, &other_outputs, *nonce),
        of(*request, *model, *len, &outputs[..4], *nonce),
        of(*request, *model, *len, outputs, other_nonce),
    ];
    for v in variants {
        assert_ne!(v, base);
    }
}
