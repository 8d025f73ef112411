//! `weinong psi` end to end: two processes over loopback, `local`, and the error paths a
//! department operator meets (missing column, a malformed row at the peer).

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn weinong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weinong"))
        .args(args)
        .output()
        .expect("run weinong")
}

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
    let receiver = Command::new(env!("CARGO_BIN_EXE_weinong"))
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
    let sender = Command::new(env!("CARGO_BIN_EXE_weinong"))
        .args([
            "psi", "run", "--role", "sender", "--column", "id", "--peer", &listen, "--quiet",
        ])
        .arg("--input")
        .arg(&b)
        .arg("--out")
        .arg(&summary)
        .output()
        .expect("run the sender");
    let receiver = receiver.wait_with_output().expect("receiver");
    assert!(
        receiver.status.success(),
        "{}",
        String::from_utf8_lossy(&receiver.stderr)
    );
    assert!(
        sender.status.success(),
        "{}",
        String::from_utf8_lossy(&sender.stderr)
    );
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
    let sender_stdout = String::from_utf8_lossy(&sender.stdout);
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
    let run = weinong(&[
        "psi",
        "local",
        "--a",
        a.to_str().expect("utf-8"),
        "--b",
        b.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--quiet",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        lines(&out).len(),
        1 + 50 + 1,
        "50 shared IDs and the lower-case-x one"
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("1 invalid (skipped)") && stdout.contains("line 103"),
        "{stdout}"
    );

    let run = weinong(&[
        "psi",
        "local",
        "--cardinality-only",
        "--a",
        a.to_str().expect("utf-8"),
        "--b",
        b.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--quiet",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(lines(&out), vec!["intersection_size", "51"]);
}

#[test]
fn bad_input_exits_2_with_one_clear_line_and_no_result_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.csv");
    write_ids(&a, (0..10).map(resident_id));
    let out = dir.path().join("out.csv");
    let run = weinong(&[
        "psi",
        "local",
        "--a",
        a.to_str().expect("utf-8"),
        "--b",
        a.to_str().expect("utf-8"),
        "--column",
        "sfzh",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
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
    std::fs::write(
        &bad,
        format!(
            "id,note\n{},x\n{},x,extra\n",
            resident_id(1),
            resident_id(2)
        ),
    )
    .expect("write");
    let run = weinong(&[
        "psi",
        "local",
        "--a",
        a.to_str().expect("utf-8"),
        "--b",
        bad.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("the peer aborted") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert!(!out.exists());
}
