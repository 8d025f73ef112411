//! RFC 9497's OPRF-mode vectors for ristretto255-SHA512 (`tests/vectors/`), run through the
//! `voprf` calls `weinong_keys::PseudonymKey` and `PseudonymBlinding` make: key derivation,
//! blinding, blind evaluation, finalisation and direct evaluation each match the RFC.

use voprf::{Group, OprfClient, OprfServer, Ristretto255};

fn field(block: &str, name: &str) -> Vec<u8> {
    let line = block
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("vector field {name} missing"));
    hex::decode(line.split_whitespace().nth(1).expect("a value")).expect("hex")
}

#[test]
fn rfc_9497_a_1_1_oprf_ristretto255_sha512() {
    let text = include_str!("vectors/rfc9497-ristretto255-oprf.txt");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = body.split("\n\n");
    let key = blocks.next().expect("key block");
    let server =
        OprfServer::<Ristretto255>::new_from_seed(&field(key, "Seed"), &field(key, "KeyInfo"))
            .expect("DeriveKeyPair");
    assert_eq!(server.serialize()[..], field(key, "skSm"));
    let mut n = 0;
    for v in blocks {
        let input = field(v, "Input");
        let blind = Ristretto255::deserialize_scalar(&field(v, "Blind")).expect("blind");
        let blinded = OprfClient::<Ristretto255>::deterministic_blind_unchecked(&input, blind)
            .expect("Blind");
        assert_eq!(blinded.message.serialize()[..], field(v, "BlindedElement"));
        let evaluated = server.blind_evaluate(&blinded.message);
        assert_eq!(evaluated.serialize()[..], field(v, "EvaluationElement"));
        let output = blinded
            .state
            .finalize(&input, &evaluated)
            .expect("Finalize");
        assert_eq!(output[..], field(v, "Output"));
        assert_eq!(
            server.evaluate(&input).expect("Evaluate")[..],
            field(v, "Output")
        );
        n += 1;
    }
    assert_eq!(n, 2, "both vectors of A.1.1 ran");
}
