//! The key commands against OpenSSL 3: signatures, ciphertexts, digests and keys move both
//! ways. OpenSSL is told the GB/T 32918 default distinguishing ID explicitly, since its own
//! default is empty.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DISTID: &str = "distid:1234567812345678";
const PASSWORD: &str = "correct horse battery staple";

fn weinong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weinong"))
        .args(args)
        .env("WEINONG_KEY_PASSWORD", PASSWORD)
        .output()
        .expect("run weinong")
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl 3 is installed (scripts/setup-system.sh)")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Exit code 2 and exactly one non-empty error line that contains `needle`.
fn input_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{needle:?} not in {err:?}"
    );
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).to_string_lossy().into_owned()
    }
}

fn new_keystore(d: &Dir) -> (String, String) {
    let ks = d.s("k.json");
    ok(&weinong(&["keys", "new", "--out", &ks]));
    let pem = d.s("k.pub.pem");
    ok(&weinong(&["keys", "export-public", &ks, "--out", &pem]));
    (ks, pem)
}

#[test]
fn our_signature_verifies_in_openssl_and_back() {
    let d = Dir::new();
    let (ks, pem) = new_keystore(&d);
    std::fs::write(d.p("msg"), b"consent 42 granted").unwrap();
    ok(&weinong(&[
        "sign",
        "--key",
        &ks,
        "--in",
        &d.s("msg"),
        "--out",
        &d.s("sig"),
    ]));
    ok(&openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &pem,
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        DISTID,
        "-in",
        &d.s("msg"),
        "-sigfile",
        &d.s("sig"),
    ]));
    ok(&weinong(&[
        "verify",
        "--pub",
        &pem,
        "--in",
        &d.s("msg"),
        "--sig",
        &d.s("sig"),
    ]));
    // A different message: ours says invalid (exit 1), OpenSSL agrees.
    std::fs::write(d.p("msg2"), b"consent 43 granted").unwrap();
    let out = weinong(&[
        "verify",
        "--pub",
        &pem,
        "--in",
        &d.s("msg2"),
        "--sig",
        &d.s("sig"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &pem,
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        DISTID,
        "-in",
        &d.s("msg2"),
        "-sigfile",
        &d.s("sig"),
    ]);
    assert!(!out.status.success());
}

#[test]
fn openssl_signature_and_keys_work_here() {
    let d = Dir::new();
    ok(&openssl(&[
        "genpkey",
        "-algorithm",
        "SM2",
        "-out",
        &d.s("o.key.pem"),
    ]));
    ok(&openssl(&[
        "pkey",
        "-in",
        &d.s("o.key.pem"),
        "-pubout",
        "-out",
        &d.s("o.pub.pem"),
    ]));
    std::fs::write(d.p("msg"), b"block 7 header").unwrap();
    ok(&openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        &d.s("o.key.pem"),
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        DISTID,
        "-in",
        &d.s("msg"),
        "-out",
        &d.s("sig"),
    ]));
    ok(&weinong(&[
        "verify",
        "--pub",
        &d.s("o.pub.pem"),
        "--in",
        &d.s("msg"),
        "--sig",
        &d.s("sig"),
    ]));
    // Import OpenSSL's private key; the keystore's public key equals OpenSSL's.
    ok(&weinong(&[
        "keys",
        "import-private",
        &d.s("o.key.pem"),
        "--out",
        &d.s("o.json"),
    ]));
    ok(&weinong(&[
        "keys",
        "export-public",
        &d.s("o.json"),
        "--out",
        &d.s("o.pub2.pem"),
    ]));
    let a = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        &d.s("o.pub.pem"),
        "-outform",
        "DER",
    ]);
    let b = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        &d.s("o.pub2.pem"),
        "-outform",
        "DER",
    ]);
    ok(&a);
    assert_eq!(a.stdout, b.stdout);
    // Our PKCS#8 export reads in OpenSSL and signs there; we verify.
    ok(&weinong(&[
        "keys",
        "export-private",
        &d.s("o.json"),
        "--out",
        &d.s("o.key2.pem"),
    ]));
    ok(&openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        &d.s("o.key2.pem"),
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        DISTID,
        "-in",
        &d.s("msg"),
        "-out",
        &d.s("sig2"),
    ]));
    ok(&weinong(&[
        "verify",
        "--pub",
        &d.s("o.json"),
        "--in",
        &d.s("msg"),
        "--sig",
        &d.s("sig2"),
    ]));
}

#[test]
fn sm2_encryption_both_ways() {
    let d = Dir::new();
    ok(&openssl(&[
        "genpkey",
        "-algorithm",
        "SM2",
        "-out",
        &d.s("o.key.pem"),
    ]));
    ok(&openssl(&[
        "pkey",
        "-in",
        &d.s("o.key.pem"),
        "-pubout",
        "-out",
        &d.s("o.pub.pem"),
    ]));
    let msg = b"result share for care home 0042".to_vec();
    std::fs::write(d.p("msg"), &msg).unwrap();
    // OpenSSL encrypts, we decrypt (through the library, with the imported key).
    ok(&openssl(&[
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        &d.s("o.pub.pem"),
        "-in",
        &d.s("msg"),
        "-out",
        &d.s("ct"),
    ]));
    let pem = std::fs::read_to_string(d.p("o.key.pem")).unwrap();
    let key = weinong_keys::KeyPair::from_pkcs8_pem(&pem).unwrap();
    let ct = std::fs::read(d.p("ct")).unwrap();
    assert_eq!(&*key.decrypt(&ct).unwrap(), &msg);
    // We encrypt, OpenSSL decrypts.
    let ours = key.public_key().encrypt(&msg).unwrap();
    std::fs::write(d.p("ct2"), ours).unwrap();
    let out = openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        &d.s("o.key.pem"),
        "-in",
        &d.s("ct2"),
    ]);
    ok(&out);
    assert_eq!(out.stdout, msg);
}

#[test]
fn sm3_equals_openssl_dgst() {
    let d = Dir::new();
    let sizes = [0usize, 1, 55, 56, 64, 1000, 1 << 20];
    for n in sizes {
        let name = format!("f{n}");
        let data: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(d.p(&name), &data).unwrap();
        let ours = weinong(&["sm3", &d.s(&name)]);
        ok(&ours);
        let theirs = openssl(&["dgst", "-sm3", "-r", &d.s(&name)]);
        ok(&theirs);
        let a = String::from_utf8(ours.stdout).unwrap();
        let b = String::from_utf8(theirs.stdout).unwrap();
        assert_eq!(
            a.split_whitespace().next(),
            b.split_whitespace().next(),
            "size {n}"
        );
    }
}

#[test]
fn bad_input_gets_exit_2_and_one_line() {
    let d = Dir::new();
    let (ks, pem) = new_keystore(&d);
    std::fs::write(d.p("msg"), b"m").unwrap();
    ok(&weinong(&[
        "sign",
        "--key",
        &ks,
        "--in",
        &d.s("msg"),
        "--out",
        &d.s("sig"),
    ]));
    let sig = std::fs::read(d.p("sig")).unwrap();
    std::fs::write(d.p("trunc"), &sig[..sig.len() - 5]).unwrap();
    input_error(
        &weinong(&[
            "verify",
            "--pub",
            &pem,
            "--in",
            &d.s("msg"),
            "--sig",
            &d.s("trunc"),
        ]),
        "signature",
    );
    std::fs::write(d.p("empty"), b"").unwrap();
    input_error(
        &weinong(&[
            "verify",
            "--pub",
            &pem,
            "--in",
            &d.s("msg"),
            "--sig",
            &d.s("empty"),
        ]),
        "signature",
    );
    input_error(
        &weinong(&[
            "verify",
            "--pub",
            &d.s("empty"),
            "--in",
            &d.s("msg"),
            "--sig",
            &d.s("sig"),
        ]),
        "empty",
    );
    // A P-256 public key and an RSA key are refused, naming the problem.
    ok(&openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &d.s("p256.pem"),
    ]));
    ok(&openssl(&[
        "pkey",
        "-in",
        &d.s("p256.pem"),
        "-pubout",
        "-out",
        &d.s("p256.pub.pem"),
    ]));
    input_error(
        &weinong(&[
            "verify",
            "--pub",
            &d.s("p256.pub.pem"),
            "--in",
            &d.s("msg"),
            "--sig",
            &d.s("sig"),
        ]),
        "SM2",
    );
    input_error(
        &weinong(&[
            "keys",
            "import-private",
            &d.s("p256.pem"),
            "--out",
            &d.s("x.json"),
        ]),
        "SM2",
    );
    ok(&openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        &d.s("rsa.pem"),
    ]));
    input_error(
        &weinong(&[
            "keys",
            "import-private",
            &d.s("rsa.pem"),
            "--out",
            &d.s("y.json"),
        ]),
        "SM2",
    );
    ok(&openssl(&[
        "pkey",
        "-in",
        &d.s("rsa.pem"),
        "-pubout",
        "-out",
        &d.s("rsa.pub.pem"),
    ]));
    input_error(
        &weinong(&[
            "verify",
            "--pub",
            &d.s("rsa.pub.pem"),
            "--in",
            &d.s("msg"),
            "--sig",
            &d.s("sig"),
        ]),
        "SM2",
    );
    // Bad password.
    let out = Command::new(env!("CARGO_BIN_EXE_weinong"))
        .args([
            "sign",
            "--key",
            &ks,
            "--in",
            &d.s("msg"),
            "--out",
            &d.s("sig3"),
        ])
        .env("WEINONG_KEY_PASSWORD", "not it")
        .output()
        .unwrap();
    input_error(&out, "wrong password");
    // A tampered keystore.
    let text = std::fs::read_to_string(&ks).unwrap();
    let tampered = text.replacen("\"sealed\": \"01", "\"sealed\": \"02", 1);
    assert_ne!(tampered, text);
    std::fs::write(d.p("t.json"), tampered).unwrap();
    input_error(
        &weinong(&[
            "sign",
            "--key",
            &d.s("t.json"),
            "--in",
            &d.s("msg"),
            "--out",
            &d.s("sig4"),
        ]),
        "keystore",
    );
    // Missing files and bad ID check digits.
    input_error(&weinong(&["sm3", &d.s("nope")]), "cannot open");
    std::fs::write(d.p("pepper"), "11".repeat(32)).unwrap();
    input_error(
        &weinong(&[
            "pseudonym",
            "--pepper-file",
            &d.s("pepper"),
            "110105194912310021",
        ]),
        "check digit",
    );
    input_error(
        &weinong(&[
            "pseudonym",
            "--pepper-file",
            &d.s("empty"),
            "11010519491231002X",
        ]),
        "empty",
    );
    let out = weinong(&[
        "pseudonym",
        "--pepper-file",
        &d.s("pepper"),
        "11010519491231002x",
    ]);
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 64);
    // Refuses to overwrite a keystore.
    input_error(&weinong(&["keys", "new", "--out", &ks]), "already exists");
    let _ = Path::new(&ks);
}

#[test]
fn show_prints_key_id_and_pem() {
    let d = Dir::new();
    let (ks, _) = new_keystore(&d);
    let out = weinong(&["keys", "show", &ks]);
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("key id: "));
    assert!(text.contains("BEGIN PUBLIC KEY"));
}
