//! `weinong psi` end to end: two processes over loopback, `local`, and the error paths a
//! department operator meets (missing column, a malformed row at the peer).

use std::path::Path;
use std::process::{Output, Stdio};

mod common;

use common::{exit_2, ok, p, weinong, weinong_out};

/// The `i`-th ID of a synthetic series (valid GB 11643 check character), as in the tests
/// of `weinong-mpc`.
fn resident_id(i: u64) -> String {
    let first17 = format!(
        "310104{:04}{:02}{:02}{:03}",
        1930 + i / 336 % 80,
        i % 336 / 28 + 1,
        i % 28 + 1,
        i / 26_880 % 1000
    );
    let mut id = [0u8; 18];
    id[..17].copy_from_slice(first17.as_bytes());
    id[17] = weinong_keys::check_char(&id);
    String::from_utf8(id.to_vec()).expect("ASCII")
}

fn write_ids(path: &Path, ids: impl Iterator<Item = String>) {
    let mut text = String::from("id,note\n");
    for id in ids {
        text.push_str(&id);
        text.push_str(",x\n");
    }
    std::fs::write(path, text).expect("write");
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `weinong psi local --a a --b b --out out <extra>`.
fn psi_local(a: &Path, b: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["psi", "local", "--a", p(a), "--b", p(b), "--out", p(out)];
    args.extend_from_slice(extra);
    weinong_out(&args)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[test]
fn two_processes_over_loopback_find_the_intersection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_ids(&a, (0..300).map(resident_id));
    write_ids(&b, (200..500).map(resident_id));
    let out = dir.path().join("out.csv");
    let summary = dir.path().join("sender.csv");
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let receiver = weinong()
        .args([
            "psi",
            "run",
            "--role",
            "receiver",
            "--column",
            "id",
            "--listen",
            &listen,
            "--peer",
            "127.0.0.1",
            "--quiet",
        ])
        .arg("--input")
        .arg(&a)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the receiver");
    let sender = weinong()
        .args([
            "psi", "run", "--role", "sender", "--column", "id", "--peer", &listen, "--quiet",
        ])
        .arg("--input")
        .arg(&b)
        .arg("--out")
        .arg(&summary)
        .output()
        .expect("run the sender");
    ok(&receiver.wait_with_output().expect("receiver"));
    let sender_stdout = ok(&sender);
    let expected: Vec<String> = std::iter::once("id".to_owned())
        .chain((200..300).map(resident_id))
        .collect();
    assert_eq!(lines(&out), expected);
    assert_eq!(
        lines(&summary),
        vec![
            "rows,valid,invalid,distinct,receiver_distinct",
            "300,300,0,300,300"
        ]
    );
    assert!(
        (0..500)
            .map(resident_id)
            .all(|id| !sender_stdout.contains(&id)),
        "the sender prints no identifier"
    );
}

#[test]
fn local_runs_both_roles_and_cardinality_only_writes_the_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_ids(
        &a,
        (0..100)
            .map(resident_id)
            .chain(["11010519491231002X".to_owned(), "bad".to_owned()]),
    );
    write_ids(
        &b,
        (50..150)
            .map(resident_id)
            .chain(["11010519491231002x".to_owned()]),
    );
    let out = dir.path().join("out.csv");
    let stdout = ok(&psi_local(&a, &b, &out, &["--quiet"]));
    assert_eq!(
        lines(&out).len(),
        1 + 50 + 1,
        "50 shared IDs and the lower-case-x one"
    );
    assert!(
        stdout.contains("1 invalid (skipped)") && stdout.contains("line 103"),
        "{stdout}"
    );

    ok(&psi_local(&a, &b, &out, &["--cardinality-only", "--quiet"]));
    assert_eq!(lines(&out), vec!["intersection_size", "51"]);
}

#[test]
fn bad_input_exits_2_with_one_clear_line_and_no_result_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.csv");
    write_ids(&a, (0..10).map(resident_id));
    let out = dir.path().join("out.csv");
    let stderr = exit_2(&psi_local(&a, &a, &out, &["--column", "sfzh"]));
    assert!(
        stderr.starts_with("error: ") && stderr.contains("no column \"sfzh\""),
        "{stderr}"
    );
    assert!(
        !out.exists() && !dir.path().join("out.csv.partial").exists(),
        "no result file is left behind"
    );

    // A malformed row at the sender: the receiver's operator is told where.
    let bad = dir.path().join("bad.csv");
    let rows = [resident_id(1) + ",x", resident_id(2) + ",x,extra"];
    std::fs::write(&bad, format!("id,note\n{}\n", rows.join("\n"))).expect("write");
    let stderr = exit_2(&psi_local(&a, &bad, &out, &[]));
    assert!(
        stderr.contains("the peer aborted") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert!(!out.exists());
}
