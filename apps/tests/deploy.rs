//! The shipped systemd unit (`deploy/systemd/weinong-node@.service`) is one systemd accepts
//! without a warning, starts the `weinong-node` daemon with a config it can read, and keeps
//! its hardening: `systemd-analyze security` rates it at most 2.0 ("OK"; 10 is an unsandboxed
//! root service). A typo in a directive would only be a warning to systemd (the directive
//! is ignored, and with it the protection): so any output of `verify` fails the test.

use std::path::Path;
use std::process::Command;

mod common;

/// The unit with its `ExecStart` pointed at the daemon under test (systemd checks that the
/// program exists), as instance `health`, in `dir`.
fn unit_for_test(dir: &Path) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(format!(
        "{}/../deploy/systemd/weinong-node@.service",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    ))
    .expect("the shipped unit");
    let daemon = common::weinong_exe().with_file_name("weinong-node");
    assert!(
        daemon.is_file(),
        "build the binaries first: {}",
        daemon.display()
    );
    assert_eq!(
        shipped
            .matches("ExecStart=/usr/local/bin/weinong-node run --config")
            .count(),
        1,
        "the unit starts the daemon from /usr/local/bin, as deploy/README.md says"
    );
    let unit = shipped.replace(
        "ExecStart=/usr/local/bin/weinong-node",
        &format!("ExecStart={}", daemon.display()),
    );
    let path = dir.join("weinong-node@health.service");
    std::fs::write(&path, unit).expect("write the unit");
    path
}

fn systemd_analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .current_dir(unit.parent().expect("a directory"))
        .output()
        .expect("systemd-analyze (package systemd; scripts/setup-system.sh installs it)")
}

#[test]
fn the_node_unit_verifies_cleanly_and_stays_hardened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit_for_test(dir.path());

    let verify = systemd_analyze(&["verify"], &unit);
    let said = common::combined(&verify);
    assert!(
        verify.status.success(),
        "systemd-analyze verify failed:\n{said}"
    );
    assert!(
        said.trim().is_empty(),
        "systemd-analyze verify warned:\n{said}"
    );

    let security = systemd_analyze(&["security", "--offline=true", "--no-pager"], &unit);
    let said = common::combined(&security);
    let exposure: f64 = said
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for weinong-node@health.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{said}"));
    assert!(exposure <= 2.0, "exposure {exposure} above 2.0:\n{said}");

    // The check can fail: the same unit with one protection misspelt is reported.
    let typo = std::fs::read_to_string(&unit)
        .expect("unit")
        .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes");
    std::fs::write(&unit, typo).expect("write");
    let said = common::combined(&systemd_analyze(&["verify"], &unit));
    assert!(
        said.contains("NoNewPrivilege"),
        "a misspelt directive passed:\n{said}"
    );
}
