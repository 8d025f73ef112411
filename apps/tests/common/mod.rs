//! Helpers the CLI and multi-process tests share: the CLI under test, running it and
//! checking how it ended.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

pub mod devnet;

/// The CLI under test. `WEINONG_TEST_BIN` may point at a copy (with `weinong-node` beside
/// it), so that a build in a shared target directory cannot swap the binary in the middle
/// of a test.
pub fn weinong() -> Command {
    Command::new(weinong_exe())
}

/// The path of the CLI under test: `WEINONG_TEST_BIN`, else the CLI package's own binary,
/// else (a test of another package, `e2e/`) the `weinong` in the target directory above
/// this test executable (`target/release/deps/<test>`), which `cargo test --workspace`
/// builds. `weinong devnet` and `weinong node run` start the `weinong-node` beside it.
pub fn weinong_exe() -> PathBuf {
    if let Some(bin) = std::env::var_os("WEINONG_TEST_BIN") {
        return bin.into();
    }
    if let Some(bin) = option_env!("CARGO_BIN_EXE_weinong") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable sits in <target>/<profile>/deps")
        .join("weinong");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --release --workspace --bins` (or the whole \
         `cargo test --release --workspace`) before this test",
        bin.display()
    );
    bin
}

/// The node daemon beside the CLI under test.
pub fn weinong_node() -> Command {
    let cli = weinong_exe();
    let bin = cli.with_file_name("weinong-node");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --release --workspace --bins` first",
        bin.display()
    );
    Command::new(bin)
}

/// Runs the CLI under test with `args`; its output is captured, not echoed.
pub fn weinong_out(args: &[&str]) -> Output {
    output(weinong().args(args))
}

/// Runs `cmd` and returns its output (captured, not echoed).
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("run weinong")
}

/// What a command printed: stdout, then stderr.
pub fn combined(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary path as an argument.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Requires success (else shows the status and both streams); returns stdout.
pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = out.status;
    assert!(
        status.success(),
        "status {status:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// Requires exit code 2 (an input error); returns stderr.
pub fn exit_2(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    err
}

/// Exit code 2 and an error containing `needle`.
pub fn input_error(out: &Output, needle: &str) {
    let err = exit_2(out);
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
}

/// Requires exit code `code` and each of `expected` in what the command printed (stdout
/// and stderr); returns that text.
pub fn exits(out: &Output, code: i32, expected: &[&str]) -> String {
    let text = combined(out);
    assert_eq!(out.status.code(), Some(code), "{text}");
    for want in expected {
        assert!(text.contains(want), "{want:?} not printed:\n{text}");
    }
    text
}

/// Sends `signal` (`-INT`, `-TERM`) to `child` and waits up to `grace` for it to exit,
/// killing it if it does not; whether it exited by itself.
pub fn stop(child: &mut Child, signal: &str, grace: Duration) -> bool {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Every file under `dir` with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                // A file a node removed between listing and reading is gone, not hiding.
                out.push((path, bytes));
            }
        }
    }
    out
}

/// Whether `needle` (not empty) occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // An empty needle would make every "does not contain" leak check pass: a test bug.
    assert!(!needle.is_empty(), "searching for an empty byte string");
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A file's permission bits.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("file").permissions().mode() & 0o777
}

/// Runs `cmd`, echoing its output into the test log.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run weinong");
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
