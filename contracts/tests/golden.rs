//! Format pins: the genesis bytes, the consortium id and the state digest right after
//! genesis, for fixed keys, as written by format version 1. A change here is a format
//! change: bump the version and keep reading the old one, never edit the file silently.
//! (`UPDATE_GOLDEN=1 cargo test --release -p weinong-contracts --test golden` rewrites it.)

use weinong_contracts::{Genesis, MemberId, State};
use weinong_keys::KeyPair;

/// Read at run time: a binary reused from another checkout must read this one.
fn golden() -> String {
    format!(
        "{}/tests/data/genesis_v1.txt",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    )
}

fn key(n: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[n; 32]).expect("a scalar below the group order")
}

fn genesis() -> Genesis {
    Genesis {
        time_ms: 1_767_225_600_000,
        threshold: 2,
        members: (1..=3)
            .map(|i| (MemberId(u16::from(i)), key(i).public_key().clone()))
            .collect(),
        admins: (4..=6).map(|i| key(i).public_key().clone()).collect(),
        auditors: vec![key(7).public_key().clone()],
        registrars: vec![key(8).public_key().clone()],
    }
}

#[test]
fn genesis_and_state_digest_match_the_pinned_version_1() {
    let genesis = genesis();
    let bytes = genesis.encode().expect("encodes");
    let state = State::from_genesis(&genesis).expect("valid");
    let now = format!(
        "# weinong-contracts format version 1: genesis of keys with secret [n; 32], n = 1..=8\n\
         genesis {}\nconsortium {}\nstate_digest {}\n",
        hex::encode(&bytes),
        state.consortium(),
        state.digest()
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden(), &now).expect("write golden file");
    }
    let pinned = std::fs::read_to_string(golden()).expect("golden file present");
    assert_eq!(now, pinned, "format version 1 changed");
    // The pinned bytes still decode to the same genesis.
    let line = pinned
        .lines()
        .find_map(|l| l.strip_prefix("genesis "))
        .expect("genesis line");
    let decoded = Genesis::decode(&hex::decode(line).expect("hex")).expect("decodes");
    assert_eq!(decoded.encode().expect("encodes"), bytes);
}
