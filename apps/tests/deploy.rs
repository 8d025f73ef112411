//! The shipped systemd units (`deploy/systemd/weinong-node@.service`,
//! `weinong-console@.service`) are ones systemd accepts without a warning, start the
//! `weinong-node` daemon (the `weinong` console) under test, and keep their hardening:
//! `systemd-analyze security` rates each at most 2.0 ("OK"; 10 is an unsandboxed root
//! service). A typo in a directive would only be a warning to systemd (the directive
//! is ignored, and with it the protection): so any output of `verify` fails the test.

use std::path::Path;
use std::process::Command;

mod common;

/// The shipped unit `name` with its `ExecStart` pointed at `binary` under test (systemd
/// checks that the program exists), as instance `health`, in `dir`.
fn unit_for_test(dir: &Path, name: &str, binary: &str) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(format!(
        "{}/../deploy/systemd/{name}@.service",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    ))
    .expect("the shipped unit");
    let exe = common::weinong_exe().with_file_name(binary);
    assert!(exe.is_file(), "build the binaries first: {}", exe.display());
    let shipped_exec = format!("ExecStart=/usr/local/bin/{binary} ");
    assert_eq!(
        shipped.matches(&shipped_exec).count(),
        1,
        "the unit starts {binary} from /usr/local/bin, as deploy/README.md says"
    );
    let unit = shipped.replace(&shipped_exec, &format!("ExecStart={} ", exe.display()));
    let path = dir.join(format!("{name}@health.service"));
    std::fs::write(&path, unit).expect("write the unit");
    path
}

/// `systemd-analyze verify` says nothing and `security` rates the unit at most 2.0.
fn verifies_and_stays_hardened(unit: &Path, name: &str) {
    let verify = systemd_analyze(&["verify"], unit);
    let said = common::combined(&verify);
    assert!(
        verify.status.success(),
        "systemd-analyze verify failed:\n{said}"
    );
    assert!(
        said.trim().is_empty(),
        "systemd-analyze verify warned:\n{said}"
    );
    let security = systemd_analyze(&["security", "--offline=true", "--no-pager"], unit);
    let said = common::combined(&security);
    let marker = format!("Overall exposure level for {name}@health.service: ");
    let exposure: f64 = said
        .lines()
        .find_map(|l| l.split(marker.as_str()).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{said}"));
    assert!(
        exposure <= 2.0,
        "{name}: exposure {exposure} above 2.0:\n{said}"
    );
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
    let unit = unit_for_test(dir.path(), "weinong-node", "weinong-node");
    verifies_and_stays_hardened(&unit, "weinong-node");

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

#[test]
fn the_console_unit_verifies_cleanly_and_stays_hardened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit_for_test(dir.path(), "weinong-console", "weinong");
    verifies_and_stays_hardened(&unit, "weinong-console");
}
