//! The key commands against OpenSSL 3: signatures, ciphertexts, digests and keys move both
//! ways. OpenSSL is told the GB/T 32918 default distinguishing ID explicitly, since its own
//! default is empty.

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;

use common::{exit_2, ok};

const DISTID: &str = "distid:1234567812345678";
const PASSWORD: &str = "correct horse battery staple";

fn weinong(args: &[&str]) -> Output {
    weinong_with_password(args, PASSWORD)
}

fn weinong_with_password(args: &[&str], password: &str) -> Output {
    common::output(
        common::weinong()
            .args(args)
            .env("WEINONG_KEY_PASSWORD", password),
    )
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl 3 is installed (scripts/setup-system.sh)")
}

/// Exit code 2 and exactly one non-empty error line that contains `needle`.
fn input_error(out: &Output, needle: &str) {
    let err = exit_2(out);
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{needle:?} not in {err:?}"
    );
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("create a temporary directory"))
    }
    fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).to_string_lossy().into_owned()
    }
}

/// `weinong keys <command> <from> --out <to>`, which must succeed.
fn keys(command: &str, from: &str, to: &str) {
    ok(&weinong(&["keys", command, from, "--out", to]));
}

/// `weinong sign --key <key> --in <msg> --out <sig>`, which must succeed.
fn sign(key: &str, msg: &str, sig: &str) {
    ok(&weinong(&["sign", "--key", key, "--in", msg, "--out", sig]));
}

/// `weinong keys new` and `export-public`: (keystore path, public PEM path).
fn new_keystore(d: &Dir) -> (String, String) {
    let ks = d.s("k.json");
    ok(&weinong(&["keys", "new", "--out", &ks]));
    let pem = d.s("k.pub.pem");
    keys("export-public", &ks, &pem);
    (ks, pem)
}

/// An OpenSSL key pair of `algorithm` (`SM2`, `EC` for P-256, `RSA`): (private PEM, public PEM).
fn openssl_key(d: &Dir, name: &str, algorithm: &str) -> (String, String) {
    let (key, public) = (
        d.s(&format!("{name}.key.pem")),
        d.s(&format!("{name}.pub.pem")),
    );
    let opts: &[&str] = match algorithm {
        "EC" => &["-pkeyopt", "ec_paramgen_curve:P-256"],
        "RSA" => &["-pkeyopt", "rsa_keygen_bits:1024"],
        _ => &[],
    };
    let mut args = vec!["genpkey", "-algorithm", algorithm, "-out", &key];
    args.extend_from_slice(opts);
    ok(&openssl(&args));
    ok(&openssl(&["pkey", "-in", &key, "-pubout", "-out", &public]));
    (key, public)
}

fn openssl_sm2_sign(key: &str, msg: &str, sig: &str) -> Output {
    let args = [
        "pkeyutl", "-sign", "-inkey", key, "-rawin", "-digest", "sm3",
    ];
    openssl(&[&args[..], &["-pkeyopt", DISTID, "-in", msg, "-out", sig]].concat())
}

fn openssl_sm2_verify(public: &str, msg: &str, sig: &str) -> Output {
    let args = ["pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin"];
    openssl(
        &[
            &args[..],
            &[
                "-digest", "sm3", "-pkeyopt", DISTID, "-in", msg, "-sigfile", sig,
            ],
        ]
        .concat(),
    )
}

fn weinong_verify(public: &str, msg: &str, sig: &str) -> Output {
    weinong(&["verify", "--pub", public, "--in", msg, "--sig", sig])
}

#[test]
fn our_signature_verifies_in_openssl_and_back() {
    let d = Dir::new();
    let (ks, pem) = new_keystore(&d);
    std::fs::write(d.p("msg"), b"consent 42 granted").unwrap();
    sign(&ks, &d.s("msg"), &d.s("sig"));
    ok(&openssl_sm2_verify(&pem, &d.s("msg"), &d.s("sig")));
    ok(&weinong_verify(&pem, &d.s("msg"), &d.s("sig")));
    // A different message: ours says invalid (exit 1), and OpenSSL agrees.
    std::fs::write(d.p("msg2"), b"consent 43 granted").unwrap();
    assert_eq!(
        weinong_verify(&pem, &d.s("msg2"), &d.s("sig"))
            .status
            .code(),
        Some(1)
    );
    assert!(
        !openssl_sm2_verify(&pem, &d.s("msg2"), &d.s("sig"))
            .status
            .success()
    );
}

#[test]
fn openssl_signature_and_keys_work_here() {
    let d = Dir::new();
    let (key, public) = openssl_key(&d, "o", "SM2");
    std::fs::write(d.p("msg"), b"block 7 header").unwrap();
    ok(&openssl_sm2_sign(&key, &d.s("msg"), &d.s("sig")));
    ok(&weinong_verify(&public, &d.s("msg"), &d.s("sig")));
    // Import OpenSSL's private key; the keystore's public key equals OpenSSL's.
    keys("import-private", &key, &d.s("o.json"));
    keys("export-public", &d.s("o.json"), &d.s("o.pub2.pem"));
    let der = |p: &str| openssl(&["pkey", "-pubin", "-in", p, "-outform", "DER"]);
    let (a, b) = (der(&public), der(&d.s("o.pub2.pem")));
    ok(&a);
    assert_eq!(a.stdout, b.stdout);
    // Our PKCS#8 export reads in OpenSSL and signs there; we verify against the keystore.
    keys("export-private", &d.s("o.json"), &d.s("o.key2.pem"));
    ok(&openssl_sm2_sign(
        &d.s("o.key2.pem"),
        &d.s("msg"),
        &d.s("sig2"),
    ));
    ok(&weinong_verify(&d.s("o.json"), &d.s("msg"), &d.s("sig2")));
}

#[test]
fn sm2_encryption_both_ways() {
    let d = Dir::new();
    let (key_pem, public) = openssl_key(&d, "o", "SM2");
    let msg = b"result share for care home 0042".to_vec();
    std::fs::write(d.p("msg"), &msg).unwrap();
    // OpenSSL encrypts, we decrypt (through the library, with the imported key).
    let enc = ["pkeyutl", "-encrypt", "-pubin", "-inkey", &public];
    ok(&openssl(
        &[&enc[..], &["-in", &d.s("msg"), "-out", &d.s("ct")]].concat(),
    ));
    let key =
        weinong_keys::KeyPair::from_pkcs8_pem(&std::fs::read_to_string(&key_pem).unwrap()).unwrap();
    let ct = std::fs::read(d.p("ct")).unwrap();
    assert_eq!(&*key.decrypt(&ct).unwrap(), &msg);
    // We encrypt, OpenSSL decrypts.
    std::fs::write(d.p("ct2"), key.public_key().encrypt(&msg).unwrap()).unwrap();
    let out = openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        &key_pem,
        "-in",
        &d.s("ct2"),
    ]);
    ok(&out);
    assert_eq!(out.stdout, msg);
}

#[test]
fn sm3_equals_openssl_dgst() {
    let d = Dir::new();
    for n in [0usize, 1, 55, 56, 64, 1000, 1 << 20] {
        let name = format!("f{n}");
        let data: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(d.p(&name), &data).unwrap();
        let ours = weinong(&["sm3", &d.s(&name)]);
        ok(&ours);
        let theirs = openssl(&["dgst", "-sm3", "-r", &d.s(&name)]);
        ok(&theirs);
        let first = |o: &Output| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .map(str::to_owned)
        };
        assert_eq!(first(&ours), first(&theirs), "size {n}");
    }
}

#[test]
fn bad_input_gets_exit_2_and_one_line() {
    let d = Dir::new();
    let (ks, pem) = new_keystore(&d);
    let msg = d.s("msg");
    std::fs::write(&msg, b"m").unwrap();
    sign(&ks, &msg, &d.s("sig"));
    let sig = std::fs::read(d.p("sig")).unwrap();
    std::fs::write(d.p("trunc"), &sig[..sig.len() - 5]).unwrap();
    input_error(&weinong_verify(&pem, &msg, &d.s("trunc")), "signature");
    std::fs::write(d.p("empty"), b"").unwrap();
    input_error(&weinong_verify(&pem, &msg, &d.s("empty")), "signature");
    input_error(&weinong_verify(&d.s("empty"), &msg, &d.s("sig")), "empty");
    // P-256 and RSA keys are refused, naming SM2 as what was expected.
    for algorithm in ["EC", "RSA"] {
        let (key, public) = openssl_key(&d, algorithm, algorithm);
        input_error(&weinong_verify(&public, &msg, &d.s("sig")), "SM2");
        let out = d.s(&format!("{algorithm}.json"));
        input_error(
            &weinong(&["keys", "import-private", &key, "--out", &out]),
            "SM2",
        );
    }
    // A wrong password and a tampered keystore.
    let sign_with = |key: &str, password: &str| {
        weinong_with_password(
            &["sign", "--key", key, "--in", &msg, "--out", &d.s("sig3")],
            password,
        )
    };
    input_error(&sign_with(&ks, "not it"), "wrong password");
    let text = std::fs::read_to_string(&ks).unwrap();
    let tampered = text.replacen("\"sealed\": \"01", "\"sealed\": \"02", 1);
    assert_ne!(tampered, text);
    std::fs::write(d.p("t.json"), tampered).unwrap();
    input_error(&sign_with(&d.s("t.json"), PASSWORD), "keystore");
    // Missing files, bad ID check digits, an empty pepper file.
    input_error(&weinong(&["sm3", &d.s("nope")]), "cannot open");
    std::fs::write(d.p("pepper"), "11".repeat(32)).unwrap();
    let pseudonym = |pepper: &str, id: &str| weinong(&["pseudonym", "--pepper-file", pepper, id]);
    input_error(
        &pseudonym(&d.s("pepper"), "110105194912310021"),
        "check digit",
    );
    input_error(&pseudonym(&d.s("empty"), "11010519491231002X"), "empty");
    let out = pseudonym(&d.s("pepper"), "11010519491231002x");
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 64);
    // Refuses to overwrite a keystore.
    input_error(&weinong(&["keys", "new", "--out", &ks]), "already exists");
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
