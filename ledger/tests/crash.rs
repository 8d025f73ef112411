//! Crash safety: a child process appends blocks in a loop and is killed with SIGKILL in the
//! middle of it; the store must reopen at (or after) the last block the child reported as
//! appended, with a consistent log, and take further appends.
#![cfg(feature = "store")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::Consortium;
use weinong_ledger::store::LedgerStore;

const CHILD_DIR_ENV: &str = "WEINONG_LEDGER_CRASH_CHILD_DIR";

/// The child's side: not a test on its own (returns at once unless the parent set the
/// environment variable). Appends blocks of 50 transactions forever, printing each height
/// after its append returned (i.e. after the synced write).
#[test]
fn crash_child_appends_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV).map(PathBuf::from) else {
        return;
    };
    let mut store = match LedgerStore::open(&dir) {
        Ok(s) => s,
        Err(_) => LedgerStore::create(&dir, &Consortium::fixed(0).set).expect("create"),
    };
    let mut c = Consortium::fixed(store.log_size());
    loop {
        c.append(&mut store, 50);
        let height = store.tip().expect("just appended").height;
        println!("appended {height}");
    }
}

fn run_child_until(dir: &std::path::Path, reports: u64) -> u64 {
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "crash_child_appends_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped");
    let mut last = None;
    let mut seen = 0;
    // Keep the pipe open until the child is dead, so it never stops on a broken pipe.
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("child output");
        if let Some(h) = line.strip_prefix("appended ") {
            last = Some(h.trim().parse::<u64>().expect("height"));
            seen += 1;
            if seen == reports {
                break;
            }
        }
    }
    // SIGKILL while the child is busy in its next append.
    child.kill().expect("kill child");
    child.wait().expect("reap child");
    drop(lines);
    last.expect("child appended at least one block")
}

#[test]
fn killed_writer_reopens_at_a_synced_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut floor = 0;
    for round in 0..3u64 {
        let reported = run_child_until(dir.path(), 5 + round * 3);
        assert!(reported >= floor);
        let store = LedgerStore::open(dir.path()).expect("reopens after kill -9");
        let tip = *store.tip().expect("blocks survive");
        // Everything acknowledged survives; at most the block in flight was added too.
        assert!(
            tip.height >= reported,
            "round {round}: tip {} < acknowledged {reported}",
            tip.height
        );
        assert!(
            tip.height <= reported + 1,
            "round {round}: tip {} past the block in flight",
            tip.height
        );
        assert_eq!(tip.log_size, (tip.height + 1) * 50);
        store.fsck().expect("consistent after the crash");
        floor = tip.height;
    }
    // And the store still takes appends from this process.
    let mut store = LedgerStore::open(dir.path()).expect("reopen");
    let mut c = Consortium::fixed(store.log_size());
    c.append(&mut store, 3);
    store.fsck().expect("clean");
}
