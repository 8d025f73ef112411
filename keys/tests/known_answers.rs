//! GM/T known-answer tests, read from `tests/vectors/` (each file names its source).

use sm4::cipher::{BlockCipherEncrypt, KeyInit};
use weinong_keys::{KeyPair, sm3_digest};

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
}

#[test]
fn sm3_gbt_32905_examples() {
    let mut n = 0;
    for row in rows(include_str!("vectors/sm3.txt")) {
        let msg = hex::decode(row[0]).unwrap();
        assert_eq!(hex::encode(sm3_digest(&msg)), row[1]);
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn sm4_gbt_32907_examples() {
    for row in rows(include_str!("vectors/sm4.txt")) {
        let key: [u8; 16] = hex::decode(row[0]).unwrap().try_into().unwrap();
        let mut block: [u8; 16] = hex::decode(row[1]).unwrap().try_into().unwrap();
        let rounds: u32 = row[2].parse().unwrap();
        let cipher = sm4::Sm4::new(&key.into());
        for _ in 0..rounds {
            let mut b = block.into();
            cipher.encrypt_block(&mut b);
            block = b.into();
        }
        assert_eq!(hex::encode(block), row[3], "{rounds} rounds");
    }
}

#[test]
fn sm2_sign_verify_and_encrypt_decrypt_round_trips() {
    let key = KeyPair::generate();
    for len in [0usize, 1, 32, 1000] {
        let msg = vec![0xa5u8; len];
        let sig = key.sign(&msg);
        key.public_key().verify(&msg, &sig).unwrap();
        let sig2 = weinong_keys::Signature::from_der(&sig.to_der()).unwrap();
        assert_eq!(sig, sig2);
        if len > 0 {
            let ct = key.public_key().encrypt(&msg).unwrap();
            assert_eq!(&*key.decrypt(&ct).unwrap(), &msg);
            let mut bad = ct.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(key.decrypt(&bad).is_err());
        }
    }
    let pem = key.to_pkcs8_pem().unwrap();
    let back = KeyPair::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(back.key_id(), key.key_id());
    let pub_pem = key.public_key().to_spki_pem().unwrap();
    assert_eq!(
        weinong_keys::PublicKey::from_spki_pem(&pub_pem).unwrap(),
        *key.public_key()
    );
}

#[test]
fn sm2_ciphertexts_stay_within_the_named_overhead() {
    let key = KeyPair::generate();
    // Short, medium, and long enough that C2's length takes a 4-byte DER length.
    for len in [1usize, 127, 128, 65_535, 65_536, 1 << 24] {
        let msg = vec![0x5au8; len];
        let ct = key.public_key().encrypt(&msg).unwrap();
        let overhead = ct.len() - len;
        assert!(
            overhead <= weinong_keys::SM2_CIPHERTEXT_OVERHEAD_MAX,
            "{len}-byte message: {overhead} bytes of overhead"
        );
        // C1's two coordinates and C3's 32 bytes are always there (DER drops a
        // coordinate's leading zero bytes, so a little under 96 is possible).
        assert!(
            overhead >= 80,
            "{len}-byte message: {overhead} bytes of overhead"
        );
    }
}
