//! Helpers the multi-process tests share: the CLI under test and running it.

#![allow(dead_code)] // each test binary uses its own subset

use std::process::{Command, Output};

pub mod devnet;

/// The CLI under test. `WEINONG_TEST_BIN` may point at a copy, so that a build in a
/// shared target directory cannot swap the binary in the middle of a test.
pub fn weinong() -> Command {
    match std::env::var_os("WEINONG_TEST_BIN") {
        Some(bin) => Command::new(bin),
        None => Command::new(env!("CARGO_BIN_EXE_weinong")),
    }
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
