//! `weinong devnet` with department data: what `--init-only` creates (secrets, stores,
//! `[assessment]` sections, the example subject), and a real run that registers the
//! shipped models once and prints the example.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use common::{mode, ok, output, weinong};

const PEOPLE: &str = "400";
const BASE_PORT: &str = "17500";

fn init(dir: &Path) -> serde_json::Value {
    let stdout = ok(&output(
        weinong()
            .args([
                "devnet",
                "--init-only",
                "--people",
                PEOPLE,
                "--base-port",
                BASE_PORT,
            ])
            .arg("--dir")
            .arg(dir),
    ));
    assert!(
        stdout.contains("weinong consent grant --subject"),
        "{stdout}"
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).expect("manifest"))
        .expect("manifest JSON")
}

#[test]
fn init_only_loads_each_department_and_names_a_subject_held_by_all_three() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let manifest = init(&dir);
    let id = manifest["example"]["id_number"].as_str().unwrap();
    let subject = manifest["example"]["subject"].as_str().unwrap();
    // No plaintext pepper file: clients get pseudonyms from a department node by OPRF.
    assert!(!dir.join("pepper.hex").exists());

    let parties: Vec<String> = (0..3)
        .map(|i| manifest["nodes"][i]["key_id"].as_str().unwrap().to_string())
        .collect();
    for (i, (department, short)) in [
        ("civil_affairs", "civil"),
        ("health", "health"),
        ("medical_insurance", "insurance"),
    ]
    .into_iter()
    .enumerate()
    {
        let config = dir.join(manifest["nodes"][i]["config"].as_str().unwrap());
        let node_dir = config.parent().unwrap();
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(
            text.contains(&format!("department = \"{department}\"")),
            "{text}"
        );
        for (party, key) in ["civil_affairs", "health", "medical_insurance"]
            .iter()
            .zip(&parties)
        {
            assert!(text.contains(&format!("{party} = \"{key}\"")), "{text}");
        }
        ok(&output(
            weinong().args(["node", "check", "--config"]).arg(&config),
        ));
        let secrets = node_dir.join("data-secrets.json");
        let db = node_dir.join("department.db");
        assert_eq!(mode(&secrets), 0o600);
        assert_eq!(mode(&db), 0o600);
        // The example person's rows are in this department's store, under the pepper.
        let export = tmp.path().join(format!("{short}.csv"));
        ok(&output(
            weinong()
                .args(["data", "export", "--department", short, "--db"])
                .arg(format!("sqlite://{}", db.display()))
                .arg("--secrets")
                .arg(&secrets)
                .arg("--password-file")
                .arg(dir.join("password"))
                .arg("--out")
                .arg(&export),
        ));
        let rows = std::fs::read_to_string(&export).unwrap();
        assert!(rows.lines().count() > 100, "{short}: {rows}");
        assert!(
            rows.lines().any(|l| l.starts_with(subject)),
            "{short} holds no row of {subject}"
        );
    }
    // The data secrets are sealed under the devnet password (the nodes' `password_file`);
    // each node has a data key of its own; all share the consortium pepper.
    let password = weinong_keys::read_password_file(&dir.join("password")).unwrap();
    let secrets: Vec<weinong_keys::DataSecrets> = (0..3)
        .map(|i| {
            let config = dir.join(manifest["nodes"][i]["config"].as_str().unwrap());
            let text = std::fs::read_to_string(config.with_file_name("data-secrets.json")).unwrap();
            assert!(text.contains("\"weinong-sealed-secrets\""), "{text}");
            weinong_keys::DataSecrets::open(&text, password.as_bytes()).unwrap()
        })
        .collect();
    for s in &secrets[1..] {
        assert_eq!(s.pepper.expose_bytes(), secrets[0].pepper.expose_bytes());
    }
    // The manifest's pseudonym is the consortium pepper's, as the departments compute it.
    let id = weinong_keys::ResidentId::parse(id).unwrap();
    assert_eq!(
        weinong_keys::SubjectPseudonym::derive(&secrets[0].pepper, &id).to_hex(),
        subject
    );
    assert_ne!(
        secrets[0].data_key.expose_bytes(),
        secrets[1].data_key.expose_bytes()
    );
    assert_ne!(
        secrets[1].data_key.expose_bytes(),
        secrets[2].data_key.expose_bytes()
    );
    let auditor = std::fs::read_to_string(dir.join("nodes/auditor/node.toml")).unwrap();
    assert!(!auditor.contains("[assessment]"), "{auditor}");
}

/// A running `weinong devnet`; stopped with SIGTERM (so it stops its nodes) when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(dir: &Path) -> Running {
        let mut child = weinong()
            .args(["devnet", "--base-port", BASE_PORT])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .expect("start weinong devnet");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("devnet: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The first line (within 90 s) that `wanted` accepts.
    fn until(&self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// Lines up to and including the one saying the devnet runs.
    fn until_running(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line.starts_with("the devnet is running");
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("the devnet did not come up: {seen:#?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        common::stop(&mut self.child, "-TERM", Duration::from_secs(30));
    }
}

/// Each shipped model has a line of `lines` starting `model <name> (` that `says`
/// accepts; else the failure says the model is `what`.
fn every_model(lines: &[String], says: impl Fn(&str) -> bool, what: &str) {
    for model in ["admission-v1", "periodic-v1", "periodic-v2"] {
        let prefix = format!("model {model} (");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix) && says(l)),
            "{model} {what}: {lines:#?}"
        );
    }
}

#[test]
fn a_run_registers_the_shipped_models_once_and_prints_the_example() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let manifest = init(&dir);
    let id = manifest["example"]["id_number"]
        .as_str()
        .unwrap()
        .to_string();
    let home = manifest["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "care-home-1")
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_string();

    let first = Running::start(&dir).until_running();
    every_model(&first, |l| l.contains(") registered"), "not registered");
    let grant = first
        .iter()
        .find(|l| l.contains("weinong consent grant"))
        .expect("the example's consent grant");
    assert!(grant.contains(&format!("--subject {id} ")), "{grant}");
    assert!(grant.contains(&format!("--grantee {home} ")), "{grant}");
    assert!(
        first
            .iter()
            .any(|l| l.contains("weinong assess request") && l.contains("admission-v1")),
        "{first:#?}"
    );
    // Every step of the README's walk-through is printed, runnable: `weinong` is put on
    // PATH first (`cargo run` leaves it in the target directory), the batch file exists.
    let path_line = first
        .iter()
        .find(|l| l.trim_start().starts_with("export PATH="))
        .expect("a PATH line");
    let cli = weinong();
    let bin_dir = Path::new(cli.get_program())
        .parent()
        .unwrap()
        .display()
        .to_string();
    assert!(path_line.contains(&bin_dir), "{path_line}");
    for step in [
        "weinong audit request REQUEST_ID",
        "weinong audit verify bundle.json --receipt receipt.json",
        &format!("weinong consent history --subject {id} "),
        "weinong assess request --batch ",
    ] {
        assert!(
            first.iter().any(|l| l.contains(step)),
            "{step:?} not printed: {first:#?}"
        );
    }
    let batch = std::fs::read_to_string(dir.join("example-batch.csv")).unwrap();
    assert_eq!(batch, format!("id_number\n{id}\n"));

    // Resumed: the ledger already holds both models, and nothing is registered twice.
    let devnet = Running::start(&dir);
    let second = devnet.until_running();
    every_model(
        &second,
        |l| l.ends_with("is registered"),
        "not found already registered",
    );

    // A node that dies is restarted by the devnet, so it stays the devnet's child...
    let config = dir.join("nodes/health/node.toml");
    let pattern = format!("weinong-node run --config {}", config.display());
    let killed = Command::new("pkill")
        .args(["-9", "-f", &pattern])
        .status()
        .unwrap();
    assert!(killed.success(), "no process matched {pattern:?}");
    let restarted =
        devnet.until(|l| l.starts_with("node health exited") && l.contains("restarting it"));
    assert!(
        restarted.is_some(),
        "the devnet did not restart the killed node"
    );
    let url = manifest["nodes"][1]["url"].as_str().unwrap().to_owned();
    let addr = url.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the restarted node never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // ...and stops with it: no node of this devnet outlives its SIGTERM.
    drop(devnet);
    let left = Command::new("pgrep")
        .args([
            "-f",
            &format!("weinong-node run --config {}", dir.display()),
        ])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "nodes outlived the devnet: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}
