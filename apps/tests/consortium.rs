//! Multi-process tests of the consortium: real `weinong-node` processes on loopback
//! (RocksDB, libp2p, openraft, axum), driven by `weinong devnet` and `weinong bench
//! ledger` (which checks agreement header by header and looks up acknowledged
//! transactions on every node).
//!
//! The tests run one at a time (a lock): each starts three or four nodes on a 2-core
//! machine.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use weinong_keys::KeyPair;

mod common;

use common::devnet::{Devnet, finish_load, http, signed, signed_get, signed_post, text};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn three_nodes_agree_a_learner_catches_up_and_bad_requests_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::create(&tmp.path().join("devnet"), 17300);

    // 10,000 transactions from four signed clients, round-robin over all three nodes;
    // then every header of every height is compared and every acknowledged transaction
    // looked up on every node.
    let out = net.bench(&["--txs", "10000", "--batch", "100", "--check", "0"]);
    assert!(out.status.success(), "bench ledger failed");
    let report = text(&out);
    assert!(
        report.contains("committed       10000 of 10000"),
        "{report}"
    );
    assert!(
        report.contains("agree on every header") && report.contains(": yes"),
        "{report}"
    );
    assert!(report.contains("all present"), "{report}");

    // An auditor's learner node starts from nothing and reaches the same headers.
    net.start_auditor();
    let out = net.bench(&["--check-only", "--include-auditor", "--acks", "/dev/null"]);
    assert!(
        out.status.success(),
        "the learner did not catch up: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("4 nodes agree on every header"),
        "{}",
        text(&out)
    );

    // Unsigned, wrongly signed, unknown-key and wrong-role requests.
    let addr = net.addr(1);
    let (status, body) = http(&addr, "GET", "/v1/blocks/latest", &[], b"").unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"code\""), "{body}");
    let auditor = net.key("auditor");
    let mut headers = signed(&addr, &auditor, "GET", "/v1/blocks/latest", b"");
    let good = headers.clone();
    let (status, _) = http(&addr, "GET", "/v1/blocks/latest", &good, b"").unwrap();
    assert_eq!(status, 200);
    let (status, _) = http(&addr, "GET", "/v1/blocks/latest", &good, b"").unwrap();
    assert_eq!(status, 401, "a replayed signature is refused");
    headers = signed(&addr, &auditor, "GET", "/v1/blocks/0", b"");
    let (status, _) = http(&addr, "GET", "/v1/blocks/latest", &headers, b"").unwrap();
    assert_eq!(status, 401, "a signature over another path is refused");
    // Signed for node 2, replayed to node 1: refused by name, and still good at node 2.
    let for_node_2 = signed(&net.addr(2), &auditor, "GET", "/v1/blocks/latest", b"");
    let (status, body) = http(&addr, "GET", "/v1/blocks/latest", &for_node_2, b"").unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("wrong_node"), "{body}");
    let (status, body) = http(&net.addr(2), "GET", "/v1/blocks/latest", &for_node_2, b"").unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _) = signed_get(&addr, &KeyPair::generate(), "/v1/blocks/latest");
    assert_eq!(status, 401, "an unknown key is refused");
    let registrar = net.key("registrar");
    let (status, body) = signed_get(&addr, &registrar, "/v1/blocks/latest");
    assert_eq!(status, 403, "a registrar may not read blocks: {body}");

    // Malformed and oversize bodies get JSON errors; the node keeps serving.
    let post = |body: &[u8]| signed_post(&addr, &registrar, "/v1/transactions", body);
    let (status, body) = post(b"{\"transactions\": [").unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(br#"{"transactions": ["00ff"]}"#).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("0"),
        "the error names the transaction: {body}"
    );
    let (status, _) = post(&vec![b' '; 2 * 1024 * 1024]).unwrap_or((413, String::new()));
    assert_eq!(status, 413);
    let (status, body) = http(&addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(status, 200, "{body}");
}

#[test]
fn killing_the_leader_under_load_loses_no_acknowledged_transaction() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::create(&tmp.path().join("devnet"), 17400);
    let acks = tmp.path().join("acks.txt");
    let leader = net.leader_index(Duration::from_secs(60), None);

    let load = net.spawn_load(4, 6000, 50, &acks);
    // Wait until the load is committing, then kill -9 the leader.
    let start = Instant::now();
    loop {
        let committed: u64 = net
            .metric(leader, "weinong_committed_txs_total")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if committed >= 1_000 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the load never started committing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    net.kill9(leader);
    let new_leader = net.leader_index(Duration::from_secs(60), Some(leader));
    assert_ne!(
        new_leader, leader,
        "a new leader is elected among the survivors"
    );

    finish_load(load, 6000);

    // The killed node restarts, catches up, and every acknowledged transaction is on every
    // node, under identical headers.
    net.start(leader);
    net.check_acks(&acks, "after the restart");
    // A request signed for a node and captured before it is killed and restarted: the
    // restarted node has an empty replay cache, yet refuses it (well inside the clock
    // window, so only the start-up rule can).
    let captured = signed(
        &net.addr(leader),
        &net.key("auditor"),
        "GET",
        "/v1/blocks/latest",
        b"",
    );
    net.kill9(leader);
    net.start(leader);
    let up = Instant::now();
    while http(&net.addr(leader), "GET", "/healthz", &[], b"").map_or(true, |(s, _)| s != 200) {
        assert!(
            up.elapsed() < Duration::from_secs(20),
            "the node's API came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = http(
        &net.addr(leader),
        "GET",
        "/v1/blocks/latest",
        &captured,
        b"",
    )
    .unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("signed_before_start"), "{body}");
}

/// Deploy/README's restore runbook on real processes: an online backup of a department node
/// taken while clients submit; the node is destroyed (killed, its data_dir and department
/// store deleted); a copy of the backup with one flipped byte is refused before anything is
/// written; the backup itself verifies, restores, and the node catches up and serves every
/// acknowledged transaction under the same headers as the others.
#[test]
fn a_backup_taken_under_load_restores_after_the_node_is_destroyed() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::create(&tmp.path().join("devnet"), 18100);
    let acks = tmp.path().join("acks.txt");
    let leader = net.leader_index(Duration::from_secs(60), None);
    let node = (leader + 1) % 3;
    let config = net.config_path(node);
    let toml: toml::Value = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let base = config.parent().unwrap();
    let data_dir = base.join(toml["data_dir"].as_str().unwrap());
    let database = toml
        .get("assessment")
        .and_then(|a| a["database"].as_str())
        .and_then(|d| d.strip_prefix("sqlite://"))
        .map(|p| base.join(p));

    let load = net.spawn_load(2, 3000, 50, &acks);
    let start = Instant::now();
    while net
        .metric(node, "weinong_committed_txs_total")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        < 500
    {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the load never started committing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The backup, under load, through the CLI (which hands over to weinong-node).
    let backup = tmp.path().join("backup");
    let out = common::output(
        common::weinong()
            .args(["node", "backup", "--config"])
            .arg(&config)
            .arg("--to")
            .arg(&backup),
    );
    assert!(out.status.success(), "backup: {}", common::combined(&out));
    assert!(text(&out).contains("certified blocks"), "{}", text(&out));
    finish_load(load, 3000);

    // A copy with one byte flipped in its largest file.
    let flipped = tmp.path().join("flipped");
    copy_dir(&backup, &flipped);
    let largest = largest_file(&flipped);
    let mut bytes = std::fs::read(&largest).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x80;
    std::fs::write(&largest, bytes).unwrap();

    // The node is destroyed.
    net.kill9(node);
    std::fs::remove_dir_all(&data_dir).unwrap();
    if let Some(db) = &database {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }

    let restore = |from: &std::path::Path| {
        common::output(
            common::weinong()
                .args(["node", "restore", "--config"])
                .arg(&config)
                .arg("--from")
                .arg(from),
        )
    };
    let out = restore(&flipped);
    assert!(!out.status.success(), "a damaged backup was restored");
    let relative = largest.strip_prefix(&flipped).unwrap().to_str().unwrap();
    let said = common::combined(&out);
    assert!(
        said.contains(relative) && said.contains("SM3"),
        "the refusal names the damaged file: {said}"
    );
    assert!(
        !data_dir.exists(),
        "nothing is restored from a damaged backup"
    );

    let out = restore(&backup);
    assert!(out.status.success(), "restore: {}", common::combined(&out));
    let said = text(&out);
    assert!(said.contains("verified: ledger fsck and replay"), "{said}");
    if let Some(db) = &database {
        assert!(db.exists(), "the department store is restored: {said}");
    }

    // It starts, catches up and serves: every acknowledged transaction on every node.
    net.start(node);
    let up = Instant::now();
    while http(&net.addr(node), "GET", "/readyz", &[], b"").map_or(true, |(s, _)| s != 200) {
        if up.elapsed() > Duration::from_secs(120) {
            let log =
                std::fs::read_to_string(config.with_file_name("node.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "the restored node did not become ready; its log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    net.check_acks(&acks, "after the restore");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("backup copy");
    for entry in std::fs::read_dir(from).expect("backup copy") {
        let entry = entry.expect("backup copy");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("backup copy").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("backup copy");
        }
    }
}

fn largest_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut best: Option<(u64, std::path::PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).expect("backup copy") {
            let entry = entry.expect("backup copy");
            let meta = entry.metadata().expect("backup copy");
            if meta.is_dir() {
                stack.push(entry.path());
            } else if best.as_ref().is_none_or(|(n, _)| meta.len() > *n) {
                best = Some((meta.len(), entry.path()));
            }
        }
    }
    best.expect("backup copy").1
}
