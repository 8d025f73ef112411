//! Tidy test: the contracts crate keeps to its place in DESIGN.md's dependency arrows
//! (`keys <- ledger <- contracts`) and links nothing of storage, runtime or networking.
//!
//! Declared edges come from `cargo metadata`; the linked set comes from `cargo tree -p
//! weinong-contracts -e normal`, which resolves features for this package alone (metadata
//! unifies features over the whole workspace, where other crates do enable the ledger's
//! RocksDB store).

use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "tokio",
    "rocksdb",
    "librocksdb-sys",
    "sqlx",
    "libp2p",
    "openraft",
    "axum",
    "hyper",
    "reqwest",
    "mio",
    "rayon",
];

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Read at run time: a binary reused from another checkout must read this one.
    let manifest = format!(
        "{}/../Cargo.toml",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    );
    let out = Command::new(cargo)
        .args(args)
        .args(["--offline", "--manifest-path", &manifest])
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Package names linked by `package` (normal dependencies, features as resolved for it).
fn linked(package: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
    ];
    args.extend_from_slice(extra);
    cargo(&args)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn contracts_link_no_storage_runtime_or_network() {
    let names = linked("weinong-contracts", &[]);
    assert!(
        names.iter().any(|n| n == "weinong-ledger"),
        "the tree lists the ledger: {names:?}"
    );
    for bad in FORBIDDEN {
        assert!(
            !names.iter().any(|n| n == bad),
            "weinong-contracts links {bad}"
        );
    }
}

#[test]
fn the_check_sees_rocksdb_where_it_is() {
    // The same check against the ledger with its default `store` feature must see RocksDB,
    // or the test above proves nothing.
    let names = linked("weinong-ledger", &["--features", "store"]);
    assert!(
        names.iter().any(|n| n == "rocksdb"),
        "expected rocksdb under weinong-ledger/store: {names:?}"
    );
}

#[test]
fn declared_edges_follow_the_arrows() {
    let meta: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"]))
            .expect("cargo metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let deps_of = |name: &str| -> Vec<serde_json::Value> {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["dependencies"].as_array().cloned())
            .unwrap_or_default()
    };
    let normal = |deps: &[serde_json::Value]| -> Vec<String> {
        deps.iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect()
    };
    let contracts = deps_of("weinong-contracts");
    let names = normal(&contracts);
    let workspace: Vec<&String> = names.iter().filter(|n| n.starts_with("weinong")).collect();
    assert_eq!(
        workspace,
        vec!["weinong-keys", "weinong-ledger"],
        "contracts may depend on keys and ledger only"
    );
    let ledger = contracts
        .iter()
        .find(|d| d["name"] == "weinong-ledger")
        .expect("ledger edge");
    assert_eq!(
        ledger["uses_default_features"], false,
        "contracts must use the verifier-only ledger build"
    );
    assert!(
        !ledger["features"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "store")),
        "contracts must not enable the ledger's store"
    );
    // Nothing below contracts points back up at it.
    for lower in ["weinong-keys", "weinong-ledger"] {
        assert!(
            !normal(&deps_of(lower))
                .iter()
                .any(|n| n == "weinong-contracts"),
            "{lower} depends on contracts"
        );
    }
}
