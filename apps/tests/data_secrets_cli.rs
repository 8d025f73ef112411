//! `weinong data secrets / import / export / reseal` with sealed data secrets: the file is
//! sealed under the password (nothing secret in it), imports and exports open it with the
//! password file, a wrong password, a group-readable password file and a plaintext file of
//! an older weinong are refused with their messages, and `reseal` migrates the old file.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{mode, ok};

fn weinong() -> Command {
    let mut c = common::weinong();
    // Only what each test passes: no password or secrets from the environment.
    for var in [
        "WEINONG_KEY_PASSWORD",
        "WEINONG_PASSWORD_FILE",
        "WEINONG_DATA_SECRETS",
        "WEINONG_DATA_DB",
    ] {
        c.env_remove(var);
    }
    c
}

fn run(c: &mut Command) -> Output {
    common::output(c.stdin(std::process::Stdio::null()))
}

fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn password_file(path: &Path, password: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{password}\n")).expect("write password file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .expect("chmod password file");
}

fn export(db: &str, secrets: &Path, password: &Path, out: &Path) -> Output {
    run(weinong()
        .args(["data", "export", "--department", "civil", "--db", db])
        .arg("--secrets")
        .arg(secrets)
        .arg("--password-file")
        .arg(password)
        .arg("--out")
        .arg(out))
}

fn reseal(old: &Path, new: &Path, password: &Path) -> Output {
    run(weinong()
        .args(["data", "reseal", "--in"])
        .arg(old)
        .arg("--out")
        .arg(new)
        .arg("--password-file")
        .arg(password))
}

#[test]
fn sealed_data_secrets_through_import_export_and_reseal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pw = dir.join("pw");
    password_file(&pw, "node password", 0o600);
    let pepper = "ab".repeat(32);
    std::fs::write(dir.join("pepper.hex"), &pepper).unwrap();

    // Sealed: no pepper in the file, mode 0600.
    let secrets = dir.join("secrets.json");
    ok(&run(weinong()
        .args(["data", "secrets", "--out"])
        .arg(&secrets)
        .arg("--pepper-file")
        .arg(dir.join("pepper.hex"))
        .arg("--password-file")
        .arg(&pw)));
    let text = std::fs::read_to_string(&secrets).unwrap();
    assert!(text.contains("\"weinong-sealed-secrets\""), "{text}");
    assert!(!text.contains(&pepper), "{text}");
    assert_eq!(mode(&secrets), 0o600);
    let opened = weinong_keys::DataSecrets::open(&text, b"node password").unwrap();
    assert_eq!(opened.pepper.to_hex().as_str(), pepper);

    // Import and export with the password file.
    let synth = dir.join("synth");
    ok(&run(weinong()
        .args(["data", "synth", "--people", "60", "--out"])
        .arg(&synth)));
    let db = format!("sqlite://{}", dir.join("civil.db").display());
    ok(&run(weinong()
        .args(["data", "import", "--department", "civil", "--db", &db])
        .arg("--in")
        .arg(synth.join("civil.csv"))
        .arg("--mapping")
        .arg(synth.join("civil.mapping.toml"))
        .arg("--secrets")
        .arg(&secrets)
        .arg("--password-file")
        .arg(&pw)));
    let csv = dir.join("civil.csv");
    ok(&export(&db, &secrets, &pw, &csv));
    let exported = std::fs::read_to_string(&csv).unwrap();
    assert!(exported.lines().count() > 30, "{exported}");

    // A wrong password is refused.
    let wrong = dir.join("wrong");
    password_file(&wrong, "not it", 0o600);
    let e = fails(&export(&db, &secrets, &wrong, &dir.join("x.csv")));
    assert!(e.contains("wrong password"), "{e}");

    // A password file others can read is refused, naming the file and the fix.
    let open_pw = dir.join("open-pw");
    password_file(&open_pw, "node password", 0o644);
    let e = fails(&export(&db, &secrets, &open_pw, &dir.join("y.csv")));
    assert!(e.contains(&open_pw.display().to_string()), "{e}");
    assert!(
        e.contains(&format!("chmod 600 {}", open_pw.display())),
        "{e}"
    );
    assert!(!dir.join("y.csv").exists());

    // An old plaintext file (the same secrets) is refused with how to re-seal it...
    let old = dir.join("old-secrets.json");
    std::fs::write(
        &old,
        format!(
            "{{\"data_key\":\"{}\",\"pepper\":\"{}\"}}\n",
            hex::encode(opened.data_key.expose_bytes()),
            pepper
        ),
    )
    .unwrap();
    let e = fails(&export(&db, &old, &pw, &dir.join("z.csv")));
    assert!(e.contains("plaintext secrets file"), "{e}");
    assert!(e.contains("weinong data reseal"), "{e}");
    assert!(e.contains(&old.display().to_string()), "{e}");

    // ... and `reseal` turns it into a sealed file that opens the same rows.
    let resealed = dir.join("resealed.json");
    let said = ok(&reseal(&old, &resealed, &pw));
    assert!(said.contains("delete the plaintext one"), "{said}");
    let text = std::fs::read_to_string(&resealed).unwrap();
    assert!(!text.contains(&pepper), "{text}");
    let again = dir.join("again.csv");
    ok(&export(&db, &resealed, &pw, &again));
    assert_eq!(std::fs::read_to_string(&again).unwrap(), exported);
    // Resealing a sealed file, or over an existing file, is refused.
    let e = fails(&reseal(&resealed, &dir.join("twice.json"), &pw));
    assert!(e.contains("already sealed"), "{e}");
}
