//! `weinong … | head`: a reader that closes the pipe early ends the command quietly with
//! the shell's SIGPIPE status, never with a panic report (issue: "failed printing to
//! stdout: Broken pipe").

use std::io::{BufRead, BufReader};
use std::process::Stdio;

mod common;

use common::weinong;

/// Lines `weinong sm3` prints: about 70 bytes each, so several times a pipe's buffer
/// (64 KiB on Linux) and the command is still printing when the reader goes away.
const LINES: usize = 5_000;

#[test]
fn a_reader_closing_the_pipe_early_ends_the_command_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"abc").unwrap();
    let mut child = weinong()
        .arg("sm3")
        .args(std::iter::repeat_n(&file, LINES))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // What `head -1` does: read one line, close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // SM3("abc"), GB/T 32905 example 1: the command did print its first line.
    assert!(
        first.starts_with("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        "{first}"
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

#[test]
fn a_command_whose_output_is_read_to_the_end_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"abc").unwrap();
    let out = weinong()
        .arg("sm3")
        .args(std::iter::repeat_n(&file, LINES))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), LINES);
}
