//! Helpers the multi-process tests share: the CLI under test and running it.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
