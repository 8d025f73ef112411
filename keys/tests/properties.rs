//! Property tests: a signature or sealed box survives a round trip, and any single flipped
//! bit of message, signature, ciphertext or tag is rejected.

use proptest::prelude::*;
use weinong_keys::{DataKey, KeyPair, PreparedPublicKey, ResidentId, Signature, check_char};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_flipped_bit_breaks_a_signature(msg in proptest::collection::vec(any::<u8>(), 0..200), bit in 0usize..(64 * 8 + 200 * 8)) {
        let key = KeyPair::generate();
        let sig = key.sign(&msg);
        let prepared = PreparedPublicKey::new(key.public_key());
        prop_assert!(key.public_key().verify(&msg, &sig).is_ok());
        prop_assert!(prepared.verify(&msg, &sig).is_ok());
        if bit < 512 {
            let mut b = sig.to_bytes();
            b[bit / 8] ^= 1 << (bit % 8);
            if let Ok(bad) = Signature::from_bytes(&b) {
                prop_assert!(key.public_key().verify(&msg, &bad).is_err());
                prop_assert!(prepared.verify(&msg, &bad).is_err());
            }
        } else if !msg.is_empty() {
            let i = (bit - 512) % (msg.len() * 8);
            let mut m = msg.clone();
            m[i / 8] ^= 1 << (i % 8);
            prop_assert!(key.public_key().verify(&m, &sig).is_err());
            prop_assert!(prepared.verify(&m, &sig).is_err());
        }
    }

    #[test]
    fn sealed_data_round_trips_and_detects_flips(msg in proptest::collection::vec(any::<u8>(), 0..300), aad in proptest::collection::vec(any::<u8>(), 0..20), bit in any::<usize>()) {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(&aad, &msg).unwrap();
        prop_assert_eq!(&**key.open(&aad, &sealed).unwrap(), &msg[..]);
        let i = bit % (sealed.len() * 8);
        let mut t = sealed.clone();
        t[i / 8] ^= 1 << (i % 8);
        prop_assert!(key.open(&aad, &t).is_err());
    }

    #[test]
    fn id_parser_never_panics_and_accepts_only_valid_check_chars(s in "[0-9xX ]{0,20}") {
        if let Ok(id) = ResidentId::parse(&s) {
            let mut bytes = [0u8; 18];
            bytes.copy_from_slice(id.as_str().as_bytes());
            prop_assert_eq!(check_char(&bytes), bytes[17]);
        }
    }

    #[test]
    fn generated_ids_validate(area in 110000u32..660000, y in 1900u16..2025, m in 1u8..=12, d in 1u8..=28, seq in 0u16..1000) {
        let mut bytes = [0u8; 18];
        let head = format!("{area:06}{y:04}{m:02}{d:02}{seq:03}");
        bytes[..17].copy_from_slice(head.as_bytes());
        bytes[17] = check_char(&bytes);
        let text = std::str::from_utf8(&bytes).unwrap();
        let id = ResidentId::parse(text).unwrap();
        prop_assert_eq!(id.birth_date(), (y, m, d));
    }
}
