//! Governance reaches the network, on real node processes: rotating a department's key
//! hands its seat (p2p admission, Raft vote, block signature) to the new key; revoking it
//! takes the seat away; blocks keep committing throughout. A "cannot" of the threat model
//! in ARCHITECTURE.md ("Threat model: insiders").
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;

use common::devnet::{Devnet, text};
use common::{run, weinong};
use weinong_keys::KeyPair;

/// Department C, the one governance rotates and then revokes.
const C: usize = 2;

fn metric(net: &Devnet, i: usize, name: &str) -> Option<u64> {
    net.metric(i, name).and_then(|v| v.parse().ok())
}

/// Whether each node `i` of `want` reports `value` for metric `name`.
fn all_report(net: &Devnet, name: &str, want: &[(usize, u64)]) -> bool {
    want.iter()
        .all(|&(i, value)| metric(net, i, name) == Some(value))
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// [`wait_until`] that prints each node's peers, members and height and its log's tail
/// when the wait fails.
fn wait_on_net(net: &Devnet, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if start.elapsed() >= limit {
            let state = net.diagnose(&["weinong_peers", "weinong_members", "weinong_height"]);
            panic!("not within {limit:?}: {what}\n{state}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn path(net: &Devnet, rel: &str) -> PathBuf {
    net.dir.join(rel)
}

fn actor_keystore(net: &Devnet, name: &str) -> PathBuf {
    let actors = net.manifest["actors"].as_array().unwrap();
    let actor = actors.iter().find(|a| a["name"] == name).unwrap();
    path(net, actor["keystore"].as_str().unwrap())
}

fn node_keystore(net: &Devnet, i: usize) -> String {
    net.manifest["nodes"][i]["keystore"]
        .as_str()
        .unwrap()
        .to_string()
}

fn password(net: &Devnet) -> String {
    std::fs::read_to_string(path(net, "password"))
        .unwrap()
        .trim()
        .to_string()
}

/// One governance change, proposed through node `via` by admin-1, approved by both admins
/// (the devnet's 2-of-2), submitted; the command must report it committed.
fn govern(net: &Devnet, via: usize, change: &[&str]) {
    let proposal = path(net, &format!("proposal-{}.json", change[0]));
    let _ = std::fs::remove_file(&proposal);
    let url = net.url(via);
    let admin = |name: &str| actor_keystore(net, name);
    let cli = |args: Vec<String>| {
        let out = run(weinong()
            .env("WEINONG_KEY_PASSWORD", password(net))
            .args(args));
        assert!(out.status.success(), "{}", text(&out));
        out
    };
    let mut propose: Vec<String> = [
        "tx",
        "--node",
        &url,
        "--key",
        admin("admin-1").to_str().unwrap(),
        "governance",
        "propose",
        "--out",
        proposal.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    propose.extend(change.iter().map(|s| s.to_string()));
    cli(propose);
    for name in ["admin-1", "admin-2"] {
        cli(vec![
            "tx".into(),
            "--key".into(),
            admin(name).to_string_lossy().into_owned(),
            "governance".into(),
            "approve".into(),
            proposal.to_string_lossy().into_owned(),
        ]);
    }
    let out = cli(vec![
        "tx".into(),
        "--node".into(),
        url,
        "--key".into(),
        admin("admin-1").to_string_lossy().into_owned(),
        "governance".into(),
        "submit".into(),
        proposal.to_string_lossy().into_owned(),
    ]);
    assert!(text(&out).contains("committed"), "{}", text(&out));
}

/// A fresh keystore at `rel` under the devnet's password; its path.
fn new_keystore(net: &Devnet, rel: &str) -> PathBuf {
    let out = run(weinong()
        .env("WEINONG_KEY_PASSWORD", password(net))
        .args(["keys", "new", "--out"])
        .arg(path(net, rel)));
    assert!(out.status.success(), "{}", text(&out));
    path(net, rel)
}

/// Submits `txs` transactions through the running nodes; all must commit.
fn load(net: &Devnet, txs: u32) {
    let out = net.bench(&["--no-check", "--txs", &txs.to_string(), "--batch", "20"]);
    assert!(out.status.success(), "the load failed: {}", text(&out));
    assert!(
        text(&out).contains(&format!("committed       {txs} of {txs}")),
        "{}",
        text(&out)
    );
}

/// The key ids that signed node `i`'s newest block.
fn latest_signers(net: &Devnet, i: usize, auditor: &KeyPair) -> Vec<String> {
    net.latest_block(i, auditor)["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signer"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rotating_hands_the_seat_to_the_new_key_and_revoking_takes_it_away() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::create(&tmp.path().join("devnet"), 17800);
    net.leader_index(Duration::from_secs(60), None);
    let auditor = net.key("auditor");
    let (a, b) = (net.key_id(0), net.key_id(1));
    let old_c = net.key_id(C);
    load(&net, 100);

    // Rotate C's key: the old key signs its consent to the rotation, two admins approve.
    let new_rel = "keys/department-c-rotated.keystore.json";
    new_keystore(&net, new_rel);
    let new_key = {
        let text = std::fs::read_to_string(path(&net, new_rel)).unwrap();
        weinong_keys::open_keystore(&text, password(&net).as_bytes()).unwrap()
    };
    let new_c = new_key.key_id().to_hex();
    let old_keystore = path(&net, &node_keystore(&net, C));
    govern(
        &net,
        0,
        &[
            "rotate-key",
            "--old",
            old_keystore.to_str().unwrap(),
            "--new",
            path(&net, new_rel).to_str().unwrap(),
        ],
    );
    // The old key loses its seat at once: A and B drop its connection, and blocks commit
    // with their two signatures while C still runs the old key.
    wait_on_net(
        &net,
        "A and B disconnect C's old key",
        Duration::from_secs(30),
        || all_report(&net, "weinong_peers", &[(0, 1), (1, 1)]),
    );
    load(&net, 100);
    let signers = latest_signers(&net, 0, &auditor);
    assert!(
        !signers.contains(&old_c),
        "the rotated-away key signed: {signers:?}"
    );

    // C restarts with its new key and takes the seat back.
    net.kill9(C);
    let config = net.config_path(C);
    let before = std::fs::read_to_string(&config).unwrap();
    let after = before.replace(&node_keystore(&net, C), new_rel);
    assert_ne!(before, after, "the config names the old keystore");
    std::fs::write(&config, after).unwrap();
    // The harness finds the leader by key id: C's is the new one now.
    net.manifest["nodes"][C]["key_id"] = serde_json::Value::String(new_c.clone());
    net.start(C);
    wait_on_net(
        &net,
        "C connects to A and B with its new key",
        Duration::from_secs(60),
        || all_report(&net, "weinong_peers", &[(0, 2), (C, 2)]),
    );
    wait_until("C catches up", Duration::from_secs(60), || {
        metric(&net, C, "weinong_height") >= metric(&net, 0, "weinong_height")
    });
    // With A down, blocks commit only if C's new key votes in Raft and signs (2 of 3): a
    // governance change (an auditor role for a fresh key) goes through B.
    net.kill9(0);
    net.leader_index(Duration::from_secs(60), Some(0));
    let fresh = new_keystore(&net, "keys/fresh-auditor.keystore.json");
    govern(
        &net,
        1,
        &[
            "bind-role",
            "--public",
            fresh.to_str().unwrap(),
            "--role",
            "auditor",
        ],
    );
    let signers = latest_signers(&net, 1, &auditor);
    assert!(
        signers.contains(&new_c),
        "C's new key did not sign: {signers:?}"
    );
    assert!(!signers.contains(&a), "A is down but signed: {signers:?}");
    net.start(0);
    wait_until("A is back and caught up", Duration::from_secs(60), || {
        metric(&net, 0, "weinong_height") >= metric(&net, 1, "weinong_height")
            && metric(&net, 0, "weinong_peers") == Some(2)
    });

    // Revoke C's (new) key: C can no longer connect, vote or sign; A and B go on.
    govern(&net, 1, &["revoke-key", "--key-id", &new_c]);
    wait_until(
        "the member set shrinks to A and B",
        Duration::from_secs(30),
        || all_report(&net, "weinong_members", &[(0, 2), (1, 2)]),
    );
    wait_on_net(
        &net,
        "C is disconnected everywhere",
        Duration::from_secs(90),
        || all_report(&net, "weinong_peers", &[(0, 1), (1, 1), (C, 0)]),
    );
    let c_height = metric(&net, C, "weinong_height").unwrap();
    load(&net, 100);
    let signers = latest_signers(&net, 0, &auditor);
    assert!(
        signers.iter().all(|s| *s == a || *s == b),
        "a block after the revocation carries another signature than A's and B's: {signers:?}"
    );
    // Still cut off after the load: C received nothing, and its reconnects are refused.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(metric(&net, C, "weinong_peers"), Some(0));
    assert_eq!(
        metric(&net, C, "weinong_height"),
        Some(c_height),
        "the revoked node kept receiving blocks"
    );
    wait_until(
        "the leader's Raft voters follow (A and B)",
        Duration::from_secs(30),
        || (0..2).any(|i| metric(&net, i, "weinong_raft_voters") == Some(2)),
    );
}
