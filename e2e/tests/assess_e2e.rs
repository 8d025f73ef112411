//! End to end, on real processes: `weinong devnet` (three department nodes with synthetic
//! data, registered models, sample care homes) and the actors' CLIs. A registrar records a
//! consent; a care home requests an admission assessment; the nodes check the consent on
//! their ledger replicas, record their accesses, compute in MPC over libp2p and seal their
//! output shares to the care home, which opens the result and records its commitment; an
//! auditor proves the story offline.
//!
//! The result is checked against the plaintext backend on the same stored rows. Also
//! checked: no consent, a revoked consent, a key without the institution role, another
//! care home reading the result, a batch request over twelve residents (eleven consenting),
//! the leader department node killed (the request fails
//! with a reason; a retry succeeds after restart), no ID number or name anywhere in a ledger
//! store, and no department's distinctive raw values in another node's files. And the
//! node that serves the shares cannot pass off what it likes: with its result store
//! tampered with, `assess fetch` refuses a forged share (valid encryption, wrong signer), a
//! share of another request, and a replayed share, each by name, and records nothing; the
//! auditor checks the three departments' share signatures in the bundle.

#[path = "../../apps/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use common::devnet::{DevnetProcess, node_run};
use common::{contains, files_under};
use weinong_connectors::features::load_features;
use weinong_connectors::{Department, Store};
use weinong_keys::SubjectPseudonym;
use weinong_mpc::model::{
    ADMISSION_V1, InputBatch, PERIODIC_V1, PERIODIC_V2, compile, evaluate_plain,
};

const BASE_PORT: u16 = 18_700;

/// The devnet, and the nodes this test restarted itself.
struct Net {
    devnet: DevnetProcess,
    restarted: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in self.restarted.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Then the devnet stops its own nodes.
    }
}

impl std::ops::Deref for Net {
    type Target = DevnetProcess;

    fn deref(&self) -> &DevnetProcess {
        &self.devnet
    }
}

impl Net {
    fn start(dir: &Path) -> Net {
        Net {
            // The test kills and restarts nodes itself.
            devnet: DevnetProcess::start(dir, BASE_PORT, &["--no-restart", "--people", "300"]),
            restarted: Vec::new(),
        }
    }

    /// The consortium's pseudonym key as the departments hold it: from the civil-affairs
    /// node's sealed data secrets (the clients under test get pseudonyms by OPRF; no file
    /// of theirs holds the pepper).
    fn pseudonym_key(&self) -> weinong_keys::PseudonymKey {
        weinong_keys::PseudonymKey::new(&self.data_secrets(0).pepper)
    }

    fn grant(&self, subject_id: &str) -> String {
        self.grant_with(
            subject_id,
            "admission_assessment",
            "ability_assessment,vital_signs,falls,screens,insurance_claims",
        )
    }

    fn grant_with(&self, subject_id: &str, purpose: &str, categories: &str) -> String {
        let out = self.cli_as(
            "registrar",
            0,
            &[
                "consent",
                "grant",
                "--subject",
                subject_id,
                "--grantee",
                self.actor("care-home-1")["key_id"]
                    .as_str()
                    .expect("key id"),
                "--purpose",
                purpose,
                "--categories",
                categories,
                "--days",
                "30",
            ],
        );
        assert!(out.status.success(), "consent grant failed");
        let printed = String::from_utf8_lossy(&out.stdout);
        let consent = hex_after(&printed, "consent").expect("consent id in the output");
        // The withdrawal hint is a command that runs as printed (node and key included).
        let hint = format!(
            "withdraw it with: weinong consent revoke --node {} --key {} --consent {consent}",
            self.url(0),
            self.actor_keystore("registrar")
        );
        assert!(printed.contains(&hint), "{hint:?} not in:\n{printed}");
        consent
    }

    /// An admission assessment of `subject_id` requested by `key` through `node`, with
    /// `extra` arguments.
    fn request_with(&self, subject_id: &str, key: &str, node: usize, extra: &[&str]) -> Output {
        let mut args = vec![
            "assess",
            "request",
            "--subject",
            subject_id,
            "--model",
            "admission-v1",
        ];
        args.extend_from_slice(extra);
        self.cli_as(key, node, &args)
    }

    /// As [`Net::request_with`], waiting for the result, its receipt to `receipt`.
    fn request(&self, subject_id: &str, key: &str, node: usize, receipt: &Path) -> Output {
        let receipt = receipt.display().to_string();
        let wait = ["--wait", "--timeout-s", "90", "--receipt", &receipt];
        self.request_with(subject_id, key, node, &wait)
    }

    /// `consent revoke` of `consent` by the registrar.
    fn revoke(&self, consent: &str) -> Output {
        self.cli_as("registrar", 0, &["consent", "revoke", "--consent", consent])
    }

    /// `assess fetch` of `request` by `key` from node 0, the receipt to `receipt`, with
    /// `extra` arguments.
    fn fetch(&self, request: &str, key: &str, receipt: &Path, extra: &[&str]) -> Output {
        let receipt = receipt.display().to_string();
        let mut args = vec![
            "assess",
            "fetch",
            request,
            "--model",
            "admission-v1",
            "--receipt",
            &receipt,
        ];
        args.extend_from_slice(extra);
        self.cli_as(key, 0, &args)
    }

    fn kill9(&self, i: usize) {
        self.devnet.kill9(i);
    }

    fn restart(&mut self, i: usize) {
        let node = node_run(&self.node_config(i))
            .spawn()
            .expect("restart node");
        self.restarted.push(node);
    }

    /// Waits until node `i` answers `/healthz` with the same height as another node.
    fn wait_caught_up(&self, i: usize) {
        self.devnet.wait_caught_up(i);
    }
}

/// The body of an unsigned GET (`/healthz`, `/metrics`).
fn open_get(url: &str, path: &str) -> Option<String> {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    use std::io::Write;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split("\r\n\r\n").nth(1).map(str::to_owned)
}

/// The index of the Raft leader among the department nodes (by its key id), as node 0
/// sees it.
fn leader_index(net: &Net) -> Option<usize> {
    let metrics = open_get(&net.url(0), "/metrics")?;
    let leader = common::devnet::leader_key_in(&metrics)?;
    (0..3).find(|&i| net.manifest["nodes"][i]["key_id"].as_str() == Some(leader.as_str()))
}

/// The first 64-hex-character word after `word` in `text`.
fn hex_after(text: &str, word: &str) -> Option<String> {
    let mut seen = false;
    for token in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        if token == word {
            seen = true;
        } else if seen && token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(token.to_owned());
        }
    }
    None
}

/// The plaintext backend's admission-v1 outputs for `subject`, from the three nodes'
/// own department stores (the reference the MPC result must equal).
fn plaintext_outputs(net: &Net, subject: SubjectPseudonym, as_of_ms: u64) -> Vec<i64> {
    plaintext_of(net, ADMISSION_V1, subject, as_of_ms).expect("every input held")
}

/// `model_source`'s plaintext outputs for `subject`, or `None` if some department cannot
/// supply its inputs.
fn plaintext_of(
    net: &Net,
    model_source: &str,
    subject: SubjectPseudonym,
    as_of_ms: u64,
) -> Option<Vec<i64>> {
    let model = compile(model_source).expect("model");
    let as_of = weinong_connectors::date::Date::from_days(
        i64::try_from(as_of_ms / 86_400_000).expect("days"),
    )
    .expect("date");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut columns: Vec<Option<Vec<i64>>> = vec![None; model.inputs().len()];
    // Node i serves the department that plays party i.
    for (i, department) in Department::ALL.into_iter().enumerate() {
        let database = net.store_url(i);
        let table = runtime.block_on(async {
            let store = Store::open(&database).await.expect("store");
            load_features(&store, department, &[subject], as_of)
                .await
                .expect("features")
        });
        for (index, values) in
            weinong_node::assess::inputs::department_columns(&model, department, &table).ok()?
        {
            columns[index] = Some(values);
        }
    }
    let columns: Vec<Vec<i64>> = columns
        .into_iter()
        .map(|c| c.expect("every input held by a department"))
        .collect();
    let batch = InputBatch::new(&model, columns).expect("inputs in range");
    Some(evaluate_plain(&model, &batch).row(0))
}

/// GB/T 42195-2022: two or more care-risk events in 30 days make the grade one worse. A
/// resident reassessed today at total 70 (轻度失能 by the total) with two falls in the
/// last 30 days (one kind of event, twice: the form's frequency 2) gets 中度失能 from the
/// admission model, end to end: civil affairs imports the new assessment with
/// `weinong data import` into its running node's store, and the node counts events, not
/// kinds. Also periodic-v2 for the same resident: equal to the plaintext backend, its
/// latest visit the one imported, the falls a reason. `exclude` is the resident whose
/// consent the caller revokes later: a second consent granted here would outlive it.
fn two_falls_make_the_grade_one_worse(net: &Net, base: &Path, exclude: &str) {
    let key = net.pseudonym_key();
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    let today_ms = u64::try_from(today).expect("ms");
    // A resident held by all three departments with no dementia or mental-disorder
    // diagnosis, whose own adjustment would hide the one under test.
    let (id, subject) = residents(&net.dir, 60)
        .into_iter()
        .filter(|id| id != exclude)
        .find_map(|id| {
            let subject = key.derive(&weinong_keys::ResidentId::parse(&id).ok()?);
            let insurance = features_of(net, 2, subject, today_ms)?;
            let clear = ["icd_dementia", "icd_mental_disorder"]
                .iter()
                .all(|n| insurance.column(n).and_then(|c| c[0]) == Some(0));
            let health = features_of(net, 1, subject, today_ms)?;
            (clear && health.row(0).is_some()).then_some((id, subject))
        })
        .expect("a resident without a dementia diagnosis held by every department");
    net.grant(&id);

    // The resident's latest civil row, reassessed today: 70 points, two falls.
    let truth = net.dir.join("synth").join("truth").join("civil.csv");
    let mut reader = csv::Reader::from_path(&truth).expect("civil truth");
    let header: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let mut row: Vec<String> = reader
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| r.get(col("id_number")) == Some(id.as_str()))
        .last()
        .expect("the resident's civil row")
        .iter()
        .map(str::to_owned)
        .collect();
    let date = weinong_connectors::date::Date::from_days(
        i64::try_from(today_ms / 86_400_000).expect("days"),
    )
    .expect("today");
    row[col("assessed_on")] = date.to_string();
    // Every item at its maximum (total 90), then 20 points off 进食…穿/脱裤子和鞋袜.
    let maxima = [
        ("gb_eating", 0),
        ("gb_grooming", 0),
        ("gb_bathing", 0),
        ("gb_dress_upper", 0),
        ("gb_dress_lower", 0),
        ("gb_urine", 4),
        ("gb_bowel", 4),
        ("gb_toilet", 4),
        ("gb_bed_transfer", 4),
        ("gb_chair_transfer", 4),
        ("gb_walking", 4),
        ("gb_stairs", 3),
        ("gb_orient_time", 4),
        ("gb_orient_place", 4),
        ("gb_orient_person", 4),
        ("gb_memory", 4),
        ("gb_understanding", 4),
        ("gb_expression", 4),
        ("gb_aggression", 1),
        ("gb_depression", 1),
        ("gb_consciousness", 2),
        ("gb_vision", 2),
        ("gb_hearing", 2),
        ("gb_daily_affairs", 4),
        ("gb_transport", 3),
        ("gb_social", 4),
        ("risk_fall_30d", 2),
        ("risk_choking_30d", 0),
        ("risk_self_harm_30d", 0),
        ("risk_wandering_30d", 0),
    ];
    let total: i64 = maxima.iter().take(26).map(|(_, v)| v).sum();
    assert_eq!(total, 70);
    for (name, value) in maxima {
        row[col(name)] = value.to_string();
    }
    let file = base.join("reassessment.csv");
    let mut writer = csv::Writer::from_path(&file).expect("reassessment file");
    writer.write_record(header.iter().skip(1)).expect("header");
    writer.write_record(row.iter().skip(1)).expect("row");
    writer.flush().expect("flush");
    drop(writer);
    let secrets = net.node_config(0).with_file_name("data-secrets.json");
    let out = net.cli(&[
        "data",
        "import",
        "--department",
        "civil",
        "--in",
        &file.display().to_string(),
        "--db",
        &net.store_url(0),
        "--secrets",
        &secrets.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", common::devnet::text(&out));

    let receipt_path = base.join("two-falls.json");
    let out = net.request(&id, "care-home-1", 0, &receipt_path);
    assert!(out.status.success(), "{}", common::devnet::text(&out));
    let at = opened(net, &receipt_path, ADMISSION_V1, subject);
    assert_eq!(at["ability_total"], 70);
    assert_eq!(at["ability_grade"], 2, "70 points and two falls: 中度失能");

    // periodic-v2 over the same resident: the report names the falls.
    let v2 = base.join("two-falls-v2.json");
    let receipt_arg = v2.display().to_string();
    let out = net.cli_as(
        "care-home-1",
        1,
        &[
            "assess",
            "request",
            "--subject",
            &id,
            "--model",
            "periodic-v2",
            "--wait",
            "--timeout-s",
            "90",
            "--receipt",
            &receipt_arg,
        ],
    );
    let printed = common::devnet::text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("风险等级 risk tier"), "{printed}");
    let at = opened(net, &v2, PERIODIC_V2, subject);
    assert_eq!(
        at["reason_risk_events"], 1,
        "two events at the latest visit"
    );
    assert!(at["falls_visits"] >= 1);
    assert!(at["ability_visits"] >= 1);
}

/// The first subject's outputs in the receipt at `path` by name, checked equal to the
/// plaintext backend's for `model_source` as of the request's time.
fn opened(
    net: &Net,
    path: &Path,
    model_source: &str,
    subject: SubjectPseudonym,
) -> std::collections::BTreeMap<String, i64> {
    let got = receipt(path);
    let outputs = first_outputs(&got);
    let request = got["request"].as_str().expect("request").to_owned();
    let requested = history(net, &request)["events"][0]["time_ms"]
        .as_u64()
        .expect("request time");
    assert_eq!(
        Some(outputs.clone()),
        plaintext_of(net, model_source, subject, requested),
        "MPC result differs from the plaintext backend"
    );
    got["output_names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().expect("name").to_owned())
        .zip(outputs)
        .collect()
}

/// Node `i`'s features of one subject as of `as_ms` (`None`: not held there).
fn features_of(
    net: &Net,
    i: usize,
    subject: SubjectPseudonym,
    as_ms: u64,
) -> Option<weinong_connectors::features::FeatureTable> {
    let as_of =
        weinong_connectors::date::Date::from_days(i64::try_from(as_ms / 86_400_000).expect("days"))
            .expect("date");
    let database = net.store_url(i);
    let department = Department::ALL[i];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let table = runtime.block_on(async {
        let store = Store::open(&database).await.expect("store");
        load_features(&store, department, &[subject], as_of)
            .await
            .expect("features")
    });
    table.row(0).is_some().then_some(table)
}

/// The first `n` distinct ID numbers of the civil-affairs register (the generator's truth:
/// one row per assessment, a person's rows next to each other).
fn residents(dir: &Path, n: usize) -> Vec<String> {
    let mut reader = csv::Reader::from_path(dir.join("synth").join("truth").join("civil.csv"))
        .expect("civil truth");
    let id = reader
        .headers()
        .expect("headers")
        .iter()
        .position(|h| h == "id_number")
        .expect("id column");
    let mut ids: Vec<String> = Vec::with_capacity(n);
    for record in reader.records() {
        let record = record.expect("row");
        let next = record.get(id).expect("id");
        if ids.last().map(String::as_str) != Some(next) {
            ids.push(next.to_owned());
        }
        if ids.len() == n {
            break;
        }
    }
    ids
}

/// A batch periodic-v1 request over twelve residents, eleven with consent: each consenting
/// resident whom every department holds records of is computed and equals the plaintext
/// backend's result, the others are not computed; the twelfth (no consent) is not
/// accessed; every department's access is in a consenting resident's history.
fn batch_request(net: &Net, base: &Path) {
    let people = residents(&net.dir, 12);
    let all_categories: Vec<String> = weinong_contracts::DataCategory::ALL
        .iter()
        .map(|c| c.label().replace(' ', "_"))
        .collect();
    for id in &people[..11] {
        net.grant_with(id, "periodic_assessment", &all_categories.join(","));
    }
    let list = base.join("residents.csv");
    let mut text = String::from("id_number\n");
    for id in &people {
        text.push_str(id);
        text.push('\n');
    }
    text.push_str(&people[0]);
    text.push('\n');
    std::fs::write(&list, text).expect("batch file");
    // Both periodic models over the same residents; the first is audited as well.
    let (request, receipt_path) = run_batch(net, base, &list, &people, PERIODIC_V1);
    run_batch(net, base, &list, &people, PERIODIC_V2);

    // The auditor proves the batch's list, accesses and the commitment the receipt opens.
    let printed = audit(
        net,
        &request,
        0,
        &base.join("batch-bundle.json"),
        &receipt_path,
    );
    assert!(
        printed.contains("12 subjects listed in 1 parts"),
        "{printed}"
    );
    assert_eq!(
        printed.matches("that department's key").count(),
        3,
        "{printed}"
    );
    assert_eq!(printed.matches("batch access").count(), 3, "{printed}");

    // The resident's history shows the three departments' batch accesses.
    let listed = consent_history(net, &people[0], 2);
    assert_eq!(listed.matches(&request[..16]).count(), 3, "{listed}");
    assert!(!consent_history(net, &people[11], 2).contains(&request[..16]));

    // Before requesting, a care home sees the consents granted to it, and only those; the
    // registrar sees every consent of the person.
    let list = |actor: &str, id: &str| {
        let out = net.cli_as(actor, 2, &["consent", "list", "--subject", id]);
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "consent list as {actor}: {said}");
        said
    };
    let count = |said: &str| -> usize {
        said.split(": ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {said}"))
    };
    let home = net.actor("care-home-1")["key_id"]
        .as_str()
        .expect("key id")
        .to_owned();
    let own = list("care-home-1", &people[0]);
    assert!(own.contains("periodic assessment"), "{own}");
    let lines: Vec<&str> = own.lines().skip(1).collect();
    assert_eq!(lines.len(), count(&own), "{own}");
    assert!(
        lines.iter().all(|l| l.contains(&home)),
        "only its own:\n{own}"
    );
    let everyone = list("registrar", &people[0]);
    assert!(count(&everyone) >= count(&own), "{everyone}");
    assert_eq!(count(&list("care-home-1", &people[11])), 0);
}

/// One batch request of `model_source` over the residents in `list` (`people`, then the
/// first again): every consenting resident with records at all three departments computed,
/// equal to the plaintext backend. Returns the request id and its receipt.
fn run_batch(
    net: &Net,
    base: &Path,
    list: &Path,
    people: &[String],
    model_source: &str,
) -> (String, PathBuf) {
    let model_name = compile(model_source).expect("shipped").name().to_owned();
    let out_csv = base.join(format!("batch-out-{model_name}.csv"));
    let receipt_path = base.join(format!("batch-receipt-{model_name}.json"));
    let out = net.cli_as(
        "care-home-1",
        1,
        &[
            "assess",
            "request",
            "--batch",
            &list.display().to_string(),
            "--model",
            &model_name,
            "--wait",
            "--timeout-s",
            "90",
            "--receipt",
            &receipt_path.display().to_string(),
            "--out",
            &out_csv.display().to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "the batch request failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let request = receipt(&receipt_path)["request"]
        .as_str()
        .expect("request id")
        .to_owned();
    let h = history(net, &request);
    assert!(
        h["status"].as_str().unwrap_or("").starts_with("computed"),
        "{h}"
    );
    assert_eq!(h["batch"]["subjects"], 12, "{h}");
    let covered: Vec<u64> = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "batch accessed")
        .map(|e| e["subjects"].as_u64().expect("covered"))
        .collect();
    assert_eq!(covered, vec![11, 11, 11], "{h}");
    let requested_at = h["events"][0]["time_ms"].as_u64().expect("request time");

    let csv = std::fs::read_to_string(&out_csv).expect("per-line CSV");
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 13, "one row per subject line:\n{csv}");
    let key = net.pseudonym_key();
    let mut computed = 0;
    for (row, id) in rows.iter().zip(people.iter().chain([&people[0]])) {
        let subject = key.derive(&weinong_keys::ResidentId::parse(id).expect("valid ID"));
        assert_eq!(row[1], subject.to_hex().as_str());
        let expected = plaintext_of(net, model_source, subject, requested_at);
        if *id == people[11] {
            assert_eq!(row[2], "false", "no consent, not computed");
            continue;
        }
        match expected {
            Some(expected) => {
                assert_eq!(row[2], "true", "{csv}");
                let got: Vec<i64> = row[3..]
                    .iter()
                    .map(|v| v.parse().expect("integer"))
                    .collect();
                assert_eq!(
                    got, expected,
                    "{model_name}: batch MPC result differs from the plaintext backend"
                );
                computed += 1;
            }
            None => assert_eq!(row[2], "false", "no records at some department"),
        }
    }
    assert!(computed >= 2, "consenting residents computed:\n{csv}");

    (request, receipt_path)
}

/// Where node `i` keeps the sealed shares of `request`.
fn share_dir(net: &Net, i: usize, request: &str) -> PathBuf {
    let config_path = net.node_config(i);
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(&config_path).expect("config"))
            .expect("config TOML");
    let data = PathBuf::from(config["data_dir"].as_str().expect("data_dir"));
    let data = if data.is_relative() {
        config_path.parent().expect("dir").join(data)
    } else {
        data
    };
    data.join("results").join(request)
}

/// Requests an admission assessment of `subject_id` without waiting; returns its id.
fn request_only(net: &Net, subject_id: &str) -> String {
    let out = net.request_with(subject_id, "care-home-1", 0, &[]);
    assert!(out.status.success(), "the request was not committed");
    hex_after(&String::from_utf8_lossy(&out.stdout), "request").expect("request id")
}

/// Two requests A and B are computed; node 0's result store is tampered with before the
/// care home fetches B from it. A share forged with a valid encryption but the wrong
/// signer, A's genuine share served for B, and one share served twice are each refused
/// by `assess fetch` (exit 1) with a message naming why, and nothing is recorded; the
/// untouched shares then open.
fn tampered_shares(net: &Net, base: &Path, subject_id: &str) {
    let a = request_only(net, subject_id);
    let b = request_only(net, subject_id);
    let (dir_a, dir_b) = (share_dir(net, 0, &a), share_dir(net, 0, &b));
    let until = Instant::now() + Duration::from_secs(90);
    while !(0..3).all(|p| {
        dir_a.join(format!("p{p}.share")).exists() && dir_b.join(format!("p{p}.share")).exists()
    }) {
        assert!(
            Instant::now() < until,
            "the shares of A and B did not arrive"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let original: Vec<Vec<u8>> = (0..3)
        .map(|p| std::fs::read(dir_b.join(format!("p{p}.share"))).expect("share"))
        .collect();
    let restore = || {
        for (p, bytes) in original.iter().enumerate() {
            std::fs::write(dir_b.join(format!("p{p}.share")), bytes).expect("restore");
        }
    };
    let receipt = base.join("r-tampered.json");
    let fetch = || {
        let out = net.fetch(&b, "care-home-1", &receipt, &["--timeout-s", "30"]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let refused = |why: &str| {
        let (code, printed) = fetch();
        assert_eq!(
            code,
            Some(1),
            "a tampered share must be refused:
{printed}"
        );
        assert!(
            printed.contains(why),
            "the refusal must name {why:?}:
{printed}"
        );
        assert!(!receipt.exists(), "nothing is recorded for a refused share");
    };

    // Forged: a well-formed share for B, validly encrypted to the care home, claiming
    // health's key (party 1's signer) but signed by another key.
    let keystore = std::fs::read_to_string(net.actor_keystore("care-home-1")).expect("keystore");
    let care_home = weinong_keys::keystore_public_key(&keystore).expect("public key");
    let model = compile(ADMISSION_V1).expect("model");
    let b_bytes: [u8; 32] = hex::decode(&b).expect("hex").try_into().expect("32 bytes");
    let mut plain = b"WNOS".to_vec();
    plain.push(2);
    plain.push(1);
    plain.extend_from_slice(&model.id().0);
    plain.extend_from_slice(&b_bytes);
    let subject = net
        .pseudonym_key()
        .derive(&weinong_keys::ResidentId::parse(subject_id).expect("ID"));
    plain.extend_from_slice(&weinong_mpc::model::subjects_digest(std::iter::once(
        subject.as_bytes(),
    )));
    let outputs = u32::try_from(model.outputs().len()).expect("outputs");
    plain.extend_from_slice(&1u32.to_be_bytes());
    plain.extend_from_slice(&outputs.to_be_bytes());
    plain.resize(plain.len() + 8 * model.outputs().len(), 0);
    let blob = care_home.encrypt(&plain).expect("encrypt");
    let forger = weinong_keys::KeyPair::generate();
    let consortium = {
        let genesis = std::fs::read(net.dir.join("genesis.bin")).expect("genesis");
        weinong_keys::sm3_digest(&genesis)
    };
    let message = weinong_mpc::model::share_signature_message(
        &consortium,
        &b_bytes,
        weinong_mpc::PartyId::P1,
        &model.id(),
        &weinong_keys::sm3_digest(&blob),
    );
    let mut forged = original[1][..37].to_vec();
    forged.extend_from_slice(&forger.sign(&message).to_bytes());
    forged.extend_from_slice(&blob);
    std::fs::write(dir_b.join("p1.share"), &forged).expect("forge");
    refused("forged");

    // A's genuine share of party 1, served for B.
    restore();
    std::fs::copy(dir_a.join("p1.share"), dir_b.join("p1.share")).expect("copy");
    refused(&format!("made for request {a}, not for this request {b}"));

    // Party 0's share served again as party 2's.
    restore();
    std::fs::write(dir_b.join("p2.share"), &original[0]).expect("replay");
    refused("replayed share");

    // Untouched, the same shares open and the result is recorded.
    restore();
    let (code, printed) = fetch();
    assert_eq!(
        code,
        Some(0),
        "the genuine shares must open:
{printed}"
    );
    assert!(receipt.exists());
}

/// The auditor's proof of `request`: `audit request` against node `node` writes `bundle`,
/// `audit verify` checks it with the care home's `receipt`. Both must succeed; returns what
/// the verification printed.
fn audit(net: &Net, request: &str, node: usize, bundle: &Path, receipt: &Path) -> String {
    let out = net.cli_as(
        "auditor",
        node,
        &[
            "audit",
            "request",
            request,
            "--out",
            &bundle.display().to_string(),
        ],
    );
    assert!(out.status.success(), "audit request failed");
    let out = net.cli(&[
        "audit",
        "verify",
        &bundle.display().to_string(),
        "--receipt",
        &receipt.display().to_string(),
    ]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "audit verify failed:\n{printed}");
    printed
}

/// Every access to `subject_id`'s data, as the registrar lists it from node `node`
/// (`consent history`, which must succeed).
fn consent_history(net: &Net, subject_id: &str, node: usize) -> String {
    let out = net.cli_as(
        "registrar",
        node,
        &["consent", "history", "--subject", subject_id],
    );
    assert!(out.status.success(), "consent history failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn receipt(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("receipt")).expect("receipt JSON")
}

/// The outputs of a receipt's first (single) subject.
fn first_outputs(receipt: &serde_json::Value) -> Vec<i64> {
    receipt["outputs"][0]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|v| v.as_i64().expect("integer"))
        .collect()
}

fn history(net: &Net, request: &str) -> serde_json::Value {
    let out = net.cli_as("auditor", 1, &["tx", "history", request]);
    assert!(out.status.success(), "tx history failed");
    serde_json::from_slice(&out.stdout).expect("history JSON")
}

/// ID numbers and names of the synthetic population (from the health export, which
/// has canonical headers and UTF-8).
fn population(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut reader = csv::Reader::from_path(dir.join("synth").join("health.csv")).expect("csv");
    let headers = reader.headers().expect("headers").clone();
    let id = headers
        .iter()
        .position(|h| h == "id_number")
        .expect("id column");
    let name = headers
        .iter()
        .position(|h| h == "name")
        .expect("name column");
    let (mut ids, mut names) = (BTreeSet::new(), BTreeSet::new());
    for row in reader.records().flatten() {
        if let Some(v) = row.get(id).map(str::trim).filter(|v| v.len() >= 15) {
            ids.insert(v.to_owned());
        }
        if let Some(v) = row
            .get(name)
            .map(str::trim)
            .filter(|v| v.chars().count() >= 2)
        {
            names.insert(v.to_owned());
        }
    }
    (ids, names)
}

/// No file under `dir` holds any of `needles` (which are `what`).
fn holds_none(dir: &Path, needles: &BTreeSet<String>, what: &str) {
    for (path, bytes) in files_under(dir) {
        for needle in needles {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{} holds {what}",
                path.display()
            );
        }
    }
}

/// Every insurance claim number in the synthetic data.
fn claim_ids(dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join("synth").join("insurance.jsonl"))
        .expect("claims")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["claim_id"].as_str().map(|c| c.trim().to_owned()))
        .filter(|c| c.len() >= 8)
        .collect()
}

#[test]
fn a_care_home_gets_an_assessment_only_with_consent() {
    let base = tempfile::tempdir().expect("temp dir");
    let dir = base.path().join("devnet");
    let mut net = Net::start(&dir);
    let (subject_id, subject) = net.example();
    let subject: SubjectPseudonym = subject.parse().expect("pseudonym");

    // Grant → request → the result equals the plaintext backend's.
    let consent = net.grant(&subject_id);
    let r1 = base.path().join("r1.json");
    let out = net.request(&subject_id, "care-home-1", 0, &r1);
    assert!(out.status.success(), "the assessment failed");
    let got = receipt(&r1);
    let request = got["request"].as_str().expect("request id").to_owned();
    let h = history(&net, &request);
    let computed_at = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "requested" || e["event"] == "requested")
        .and_then(|e| e["time_ms"].as_u64())
        .expect("request time");
    let expected = plaintext_outputs(&net, subject, computed_at);
    let outputs = first_outputs(&got);
    assert_eq!(
        outputs, expected,
        "MPC result differs from the plaintext backend"
    );
    assert!(
        h["status"].as_str().unwrap_or("").starts_with("computed"),
        "{h}"
    );

    // The auditor proves the request, the accesses, their consent and the commitment, and
    // the three departments' signatures over the shares they gave the care home.
    let printed = audit(&net, &request, 2, &base.path().join("bundle.json"), &r1);
    assert_eq!(
        printed.matches("that department's key").count(),
        3,
        "{printed}"
    );

    // A node's result store tampered with: forged, misdirected and replayed shares.
    tampered_shares(&net, base.path(), &subject_id);

    // The registrar can show the person every access to their data.
    let listed = consent_history(&net, &subject_id, 1);
    assert_eq!(
        listed.matches(&request[..16]).count(),
        3,
        "one access per department for the request:\n{listed}"
    );
    // Each access names the department that read, and its time in UTC, not epoch ms.
    for department in [
        "civil affairs (member",
        "health (member",
        "medical insurance (member",
    ] {
        assert!(
            listed.contains(department),
            "{department:?} not in:\n{listed}"
        );
    }
    assert!(
        listed.contains("TIME (UTC)") && listed.contains(" 20"),
        "{listed}"
    );

    // Many residents under one request.
    batch_request(&net, base.path());

    // Care-risk events are counted, not kinds: two falls worsen the grade.
    two_falls_make_the_grade_one_worse(&net, base.path(), &subject_id);

    // Without consent: refused, nothing accessed, the refusal on the ledger.
    let stranger = "11010519491231002X";
    let r2 = base.path().join("r2.json");
    let out = net.request(stranger, "care-home-1", 1, &r2);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a request without consent must be refused"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("consent"));
    assert!(!r2.exists(), "no receipt without a result");

    // Another care home may not read the first one's request.
    let out = net.fetch(
        &request,
        "care-home-2",
        &base.path().join("r-other.json"),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "a refusal exits 3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));

    // A key without the institution role: the registrar's request is refused by the
    // contracts; the auditor (who may submit nothing) gets 403. Both are refusals: exit 3,
    // whatever the layer that refused.
    let out = net.request(&subject_id, "registrar", 0, &base.path().join("r3.json"));
    assert_eq!(out.status.code(), Some(3), "{}", common::devnet::text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected"));
    let out = net.request(&subject_id, "auditor", 0, &base.path().join("r4.json"));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));

    // Revoked: the next request is refused.
    let out = net.revoke(&consent);
    assert!(out.status.success(), "consent revoke failed");
    // A second withdrawal is refused by the contracts (exit 3), saying it was withdrawn.
    let again = net.revoke(&consent);
    let printed = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(3), "{printed}");
    assert!(
        printed.contains("rejected") && printed.contains("consent revoked at block"),
        "{printed}"
    );
    let out = net.request(&subject_id, "care-home-1", 2, &base.path().join("r5.json"));
    assert_eq!(
        out.status.code(),
        Some(3),
        "a request after revocation must be refused"
    );

    // A consent that omits one category the model reads (screens, held by health): the
    // health node's access for its inputs' categories is refused, it joins no session and
    // the request fails, naming the consent.
    net.grant_with(
        &subject_id,
        "admission_assessment",
        "ability_assessment,vital_signs,falls,insurance_claims",
    );
    let out = net.request(&subject_id, "care-home-1", 1, &base.path().join("r5b.json"));
    assert_eq!(
        out.status.code(),
        Some(3),
        "a consent without screens must not give an assessment"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("consent"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A department node down (the Raft leader, so the consortium also elects a new one
    // while the request is submitted): the request fails with a reason; after a restart
    // a retry succeeds.
    net.grant(&subject_id);
    let down = leader_index(&net).expect("a leader");
    let client = if down == 0 { 1 } else { 0 };
    net.kill9(down);
    let out = net.request(
        &subject_id,
        "care-home-1",
        client,
        &base.path().join("r6.json"),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a request with a node down must fail"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("computation aborted"));
    net.restart(down);
    net.wait_caught_up(down);
    let r7 = base.path().join("r7.json");
    let out = net.request(&subject_id, "care-home-1", client, &r7);
    assert!(out.status.success(), "the retry after restart failed");
    let again = first_outputs(&receipt(&r7));
    assert_eq!(again, expected);

    // No department's raw records in another node's files: the insurance claim numbers of
    // every person stay with the medical-insurance node (only pseudonyms and shares move).
    let claims = claim_ids(&dir);
    assert!(claims.len() > 100, "claims read");
    for i in 0..2 {
        let node_dir = net.node_config(i).parent().expect("dir").to_path_buf();
        holds_none(&node_dir, &claims, "an insurance claim number");
    }

    // No ID number or name in any node's ledger store.
    let (ids, names) = population(&dir);
    assert!(ids.len() > 100 && names.len() > 50, "population read");
    for i in 0..3 {
        let ledger = net.node_config(i).parent().expect("dir").join("data");
        holds_none(&ledger, &ids, "an ID number");
        holds_none(&ledger, &names, "a name");
    }
}
