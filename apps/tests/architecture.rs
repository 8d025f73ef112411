//! Tidy test: the dependency arrows of ARCHITECTURE.md hold.
//!
//! `keys <- ledger <- contracts <- node <-(HTTP and the `weinong-node` binary)- apps`,
//! `keys <- mpc <- node`, `keys <- connectors <- node`, `contracts <- mpc` (the
//! share-binding wire format), `keys, ledger, contracts <- api (wire types) <- audit <- audit-cli, apps`; the
//! ledger verifier builds without RocksDB; contracts never pull in a runtime, a database or
//! a network stack; the `weinong-audit` verifier binary links no RocksDB, libp2p or openraft.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `cargo <args>` (offline) at the workspace root, which must succeed; its stdout.
fn cargo(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .current_dir(format!(
            "{}/..",
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
        ))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Workspace crate -> (normal dependency name, optional?) from `cargo metadata`.
fn workspace_deps() -> BTreeMap<String, Vec<(String, bool)>> {
    let out = cargo(&["metadata", "--format-version", "1", "--no-deps"]);
    let meta: serde_json::Value = serde_json::from_slice(&out).expect("metadata is JSON");
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
        ("weinong-mpc", &["weinong-keys", "weinong-contracts"]),
        (
            "weinong-audit",
            &[
                "weinong-keys",
                "weinong-ledger",
                "weinong-contracts",
                "weinong-api",
            ],
        ),
        ("weinong-audit-cli", &["weinong-audit", "weinong-ledger"]),
        (
            "weinong-audit-wasm-test",
            &["weinong-audit", "weinong-mpc", "weinong-contracts"],
        ),
        (
            "weinong-console-wasm",
            &[
                "weinong-keys",
                "weinong-ledger",
                "weinong-contracts",
                "weinong-api",
                "weinong-mpc",
                "weinong-audit",
            ],
        ),
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

/// Every package `root` reaches over the dependency kinds `edges` (`cargo tree -p root -e
/// edges`, this platform), by name.
fn reachable_from(root: &str, edges: &str) -> BTreeSet<String> {
    let out = cargo(&["tree", "--prefix", "none", "-e", edges, "-p", root]);
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The CLI is a client: it reaches a node over HTTP and starts the `weinong-node` binary,
/// and links neither the node crate nor its consensus and network stacks, not even in its
/// tests (those that need them live in `e2e/`). It may serve HTTP itself — `weinong
/// console` serves the web console and passes its calls through, with axum — but holds no
/// node state behind it.
#[test]
fn the_cli_links_no_node_consensus_or_network_stack() {
    let reached = reachable_from("weinong", "normal,build,dev");
    for forbidden in ["weinong-node", "openraft", "libp2p", "libp2p-swarm"] {
        assert!(
            !reached.contains(forbidden),
            "`cargo tree -p weinong` reaches {forbidden}: the CLI must not link the node \
             (move node-level tests to e2e/, speak HTTP to a node)"
        );
    }
    // The check itself can fail: the node does reach them.
    let node = reachable_from("weinong-node", "normal,build,dev");
    assert!(node.contains("openraft") && node.contains("libp2p"));
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

/// The stand-alone verifier (`weinong-audit`, package weinong-audit-cli) links no database,
/// peer-to-peer or consensus stack: its normal dependency tree, resolved for that package
/// alone (so the ledger builds without its `store` feature), names none of them.
#[test]
fn the_verifier_binary_links_no_rocksdb_libp2p_or_openraft() {
    let tree = reachable_from("weinong-audit-cli", "normal");
    assert!(tree.contains("weinong-ledger"), "{tree:?}");
    for heavy in ["rocksdb", "libp2p", "openraft", "tokio"] {
        let found: Vec<&String> = tree.iter().filter(|n| n.contains(heavy)).collect();
        assert!(
            found.is_empty(),
            "weinong-audit-cli must not depend on {heavy}: {found:?}"
        );
    }
}

/// What the console runs in the browser (`weinong-console-wasm`) reaches no database,
/// network, runtime or consensus stack either: keys, the verifier build of the ledger and
/// the audit checks only.
#[test]
fn the_console_wasm_links_no_server_stack() {
    let tree = reachable_from("weinong-console-wasm", "normal");
    assert!(tree.contains("weinong-audit"), "{tree:?}");
    for heavy in [
        "rocksdb",
        "libp2p",
        "openraft",
        "tokio",
        "sqlx",
        "reqwest",
        "weinong-node",
    ] {
        let found: Vec<&String> = tree.iter().filter(|n| n.contains(heavy)).collect();
        assert!(
            found.is_empty(),
            "weinong-console-wasm must not depend on {heavy}: {found:?}"
        );
    }
}
