//! Tidy test: the dependency arrows of ARCHITECTURE.md hold.
//!
//! `keys <- ledger <- contracts <- node <-(HTTP; entry point only)- apps`, `keys <- mpc <- node`,
//! `keys <- connectors <- node`; the ledger verifier builds without RocksDB; contracts never
//! pull in a runtime, a database or a network stack.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Workspace crate -> (normal dependency name, optional?) from `cargo metadata`.
fn workspace_deps() -> BTreeMap<String, Vec<(String, bool)>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut map = BTreeMap::new();
    for pkg in meta["packages"].as_array().expect("packages") {
        let name = pkg["name"].as_str().expect("name").to_owned();
        let deps = pkg["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null()) // normal dependencies only
            .map(|d| {
                (
                    d["name"].as_str().unwrap_or_default().to_owned(),
                    d["optional"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        map.insert(name, deps);
    }
    map
}

fn weinong_deps(deps: &[(String, bool)]) -> BTreeSet<&str> {
    deps.iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.starts_with("weinong"))
        .collect()
}

#[test]
fn dependency_arrows_point_one_way() {
    let all = workspace_deps();
    let allowed: &[(&str, &[&str])] = &[
        ("weinong-keys", &[]),
        ("weinong-ledger", &["weinong-keys"]),
        ("weinong-contracts", &["weinong-keys", "weinong-ledger"]),
        ("weinong-mpc", &["weinong-keys"]),
        ("weinong-connectors", &["weinong-keys"]),
        (
            "weinong-api",
            &["weinong-keys", "weinong-ledger", "weinong-contracts"],
        ),
    ];
    for (krate, may) in allowed {
        let Some(deps) = all.get(*krate) else {
            continue;
        };
        let found = weinong_deps(deps);
        let extra: Vec<_> = found.iter().filter(|d| !may.contains(d)).collect();
        assert!(
            extra.is_empty(),
            "{krate} must not depend on {extra:?} (see ARCHITECTURE.md)"
        );
    }
}

/// The CLI links the node crate for `weinong node run` and `weinong devnet` only: its
/// source may name `weinong_node::run` and `weinong_node::config`, nothing else of the
/// node (every other command speaks HTTP).
#[test]
fn apps_use_only_the_node_entry_point() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(src).expect("apps/src") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("weinong_node::") {
                let after = &rest[at + "weinong_node::".len()..];
                let segment: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if segment != "run" && segment != "config" {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
                rest = after;
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "apps may use only weinong_node::run and weinong_node::config:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_verifier_and_the_contracts_stay_small() {
    let all = workspace_deps();
    if let Some(deps) = all.get("weinong-ledger") {
        for heavy in ["rocksdb", "tokio", "libp2p"] {
            if let Some((_, optional)) = deps.iter().find(|(n, _)| n == heavy) {
                assert!(
                    optional,
                    "weinong-ledger must keep {heavy} behind a feature (the verifier builds without it)"
                );
            }
        }
    }
    // The API's wire types build for WebAssembly: no server, store or p2p stack, and the
    // client's HTTP and runtime stay behind its `client` feature.
    if let Some(deps) = all.get("weinong-api") {
        for heavy in ["rocksdb", "libp2p", "openraft", "axum", "weinong-node"] {
            assert!(
                !deps.iter().any(|(n, _)| n == heavy),
                "weinong-api must not depend on {heavy}"
            );
        }
        for client_only in ["reqwest", "tokio"] {
            if let Some((_, optional)) = deps.iter().find(|(n, _)| n == client_only) {
                assert!(
                    optional,
                    "weinong-api must keep {client_only} behind its `client` feature"
                );
            }
        }
    }
    if let Some(deps) = all.get("weinong-contracts") {
        for heavy in ["rocksdb", "tokio", "sqlx", "libp2p"] {
            assert!(
                !deps.iter().any(|(n, _)| n == heavy),
                "weinong-contracts must not depend on {heavy}"
            );
        }
    }
}
