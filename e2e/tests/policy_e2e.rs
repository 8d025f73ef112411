//! 免申即享 policy runs end to end on a devnet (real `weinong devnet` processes): every shipped
//! policy is run by its receiving department (`weinong policy run` signed with its node
//! key), the nodes evaluate their predicates, run PSI over their libp2p streams and the
//! receiver stores the matches. Each result is checked against the plaintext evaluation of
//! the same predicates and set expression over the three departments' stores
//! (`weinong_connectors::policy::evaluate_plain`, independent of PSI and the network).
//! Also checked: the ledger shows each run with its legal basis and each department's
//! access; only the receiver's own key reads the result; a department other than the
//! receiver cannot open a run.

#[path = "../../apps/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::{Duration, Instant};

use common::devnet::{DevnetProcess, node_run};
use weinong_connectors::policy::{Mode, PolicySpec, SHIPPED, evaluate_plain};
use weinong_connectors::{Department, Store};

const BASE_PORT: u16 = 18_900;

/// Node `i`'s keystore path (the department's key).
fn node_keystore(net: &DevnetProcess, i: usize) -> String {
    let config = net.node_config_toml(i);
    let path = config["keystore"].as_str().expect("keystore");
    net.node_config(i)
        .parent()
        .expect("dir")
        .join(path)
        .display()
        .to_string()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The matches of the plaintext evaluation of `spec` over the devnet's stores, as of today
/// (the runs' block date), as hex pseudonyms.
fn plaintext(net: &DevnetProcess, spec: &PolicySpec) -> BTreeSet<String> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut stores = Vec::new();
        for (i, d) in [
            Department::CivilAffairs,
            Department::Health,
            Department::MedicalInsurance,
        ]
        .into_iter()
        .enumerate()
        {
            stores.push((d, Store::open(&net.store_url(i)).await.expect("store")));
        }
        let refs: Vec<(Department, &Store)> = stores.iter().map(|(d, s)| (*d, s)).collect();
        let today = weinong_connectors::date::Date::from_days(
            i64::try_from(weinong_keys::clock::now_ms() / 86_400_000).expect("days"),
        )
        .expect("date");
        evaluate_plain(spec, &refs, today)
            .await
            .expect("plaintext evaluation")
            .iter()
            .map(|p| p.to_hex())
            .collect()
    })
}

/// `weinong policy <args> --key <key> --node <url>`.
fn policy_cli(net: &DevnetProcess, args: &[&str], key: &str, url: &str) -> std::process::Output {
    let mut all = vec!["policy"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--key", key, "--node", url]);
    net.cli(&all)
}

/// `weinong policy run` (with `extra` arguments) until the ledger takes it: right after a
/// node restarts, the node asked may not be connected to the Raft leader yet and answers
/// "unavailable" (nothing committed); that is retried for up to a minute.
fn open_run_when_available(
    net: &DevnetProcess,
    spec: &PolicySpec,
    extra: &[&str],
    key: &str,
    url: &str,
) -> std::process::Output {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let mut args = vec!["run", "--policy", spec.name()];
        args.extend_from_slice(extra);
        let out = policy_cli(net, &args, key, url);
        let said = text(&out);
        let unavailable = !out.status.success() && said.contains("unavailable ");
        if !unavailable || Instant::now() > until {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `weinong policy fetch` of `run` into `csv`: the matched pseudonyms it wrote.
fn fetch_matches(
    net: &DevnetProcess,
    run: &str,
    csv: &std::path::Path,
    key: &str,
    url: &str,
) -> BTreeSet<String> {
    let csv_arg = csv.display().to_string();
    let fetched = policy_cli(net, &["fetch", "--run", run, "--out", &csv_arg], key, url);
    assert!(fetched.status.success(), "{}", text(&fetched));
    std::fs::read_to_string(csv)
        .expect("csv")
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The run id `weinong policy run` printed.
fn run_id(out: &str) -> String {
    let at = out.find("opening run ").expect("the run id is printed") + "opening run ".len();
    out[at..at + 64].to_owned()
}

#[test]
fn shipped_policies_on_a_devnet_equal_the_plaintext_evaluation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = DevnetProcess::start(&dir.path().join("net"), BASE_PORT, &["--people", "600"]);
    let mut nonempty = 0;
    // Each completed run and its matches, for the access-history check below.
    let mut completed: Vec<(String, BTreeSet<String>, usize)> = Vec::new();
    for source in SHIPPED {
        let spec = PolicySpec::from_toml(source).expect("shipped policy");
        let receiver = spec.receiver().party();
        let key = node_keystore(&net, receiver);
        let url = net.url(receiver);
        let out = policy_cli(&net, &["run", "--policy", spec.name()], &key, &url);
        let said = text(&out);
        assert!(
            out.status.success(),
            "policy {} run failed:\n{said}",
            spec.name()
        );
        assert!(said.contains("completed"), "{said}");
        let run = run_id(&said);
        // The ledger: legal basis and each department's access (every term's department).
        let status = text(&policy_cli(&net, &["status", "--run", &run], &key, &url));
        assert!(
            status.contains(spec.legal_basis().as_str().replace('_', " ").as_str()),
            "{status}"
        );
        let accesses = status.matches("access by member").count();
        assert_eq!(accesses, spec.terms().len(), "{status}");
        // The result, by the receiver's own key; compared with the plaintext.
        let csv = dir.path().join(format!("{}.csv", spec.name()));
        let got = fetch_matches(&net, &run, &csv, &key, &url);
        let expected = plaintext(&net, &spec);
        nonempty += usize::from(!expected.is_empty());
        if spec.mode() == Mode::Cardinality {
            // Only the count reaches the receiver: the run prints it, the file lists no one.
            assert!(got.is_empty(), "a count-only run listed people");
            assert!(
                said.contains(&format!("matched: {}", expected.len())),
                "count {} expected:\n{said}",
                expected.len()
            );
            completed.push((run.clone(), BTreeSet::new(), receiver));
        } else {
            assert_eq!(got, expected, "policy {}", spec.name());
            completed.push((run.clone(), expected.clone(), receiver));
        }
        // Another department's key reads no result on the receiver's node, and the
        // receiver's node holds the only copy: the other nodes answer "no result".
        let other = (receiver + 1) % 3;
        let other_key = node_keystore(&net, other);
        let fetch = ["fetch", "--run", &run, "--out", "/dev/null/x"];
        let refused = policy_cli(&net, &fetch, &other_key, &url);
        assert!(
            !refused.status.success(),
            "another department read the result"
        );
        let elsewhere = policy_cli(&net, &fetch, &other_key, &net.url(other));
        assert!(
            text(&elsewhere).contains("no_run_result"),
            "{}",
            text(&elsewhere)
        );
    }
    assert!(
        nonempty >= 2,
        "the synthetic data should match most policies"
    );
    // The node lists every registered policy with its run, and every run newest first.
    let key = node_keystore(&net, 0);
    let url = net.url(0);
    let registered = text(&policy_cli(&net, &["registered"], &key, &url));
    for source in SHIPPED {
        let spec = PolicySpec::from_toml(source).expect("shipped policy");
        let line = registered
            .lines()
            .position(|l| l.starts_with(spec.name()))
            .unwrap_or_else(|| panic!("{} not listed:\n{registered}", spec.name()));
        let detail = registered.lines().nth(line + 1).unwrap_or_default();
        assert!(detail.contains("1 run(s)"), "{detail}");
        assert!(
            detail.contains(&format!("({})", spec.receiver().short_name())),
            "{detail}"
        );
    }
    let runs = text(&policy_cli(&net, &["runs", "--limit", "200"], &key, &url));
    assert!(
        runs.starts_with(&format!("{} run(s)", SHIPPED.len())),
        "{runs}"
    );
    let listed: Vec<usize> = completed
        .iter()
        .map(|(run, _, _)| runs.find(run.as_str()).expect("run listed"))
        .collect();
    assert!(
        listed.windows(2).all(|w| w[0] > w[1]),
        "newest first:\n{runs}"
    );
    let refused = policy_cli(&net, &["runs", "--limit", "0"], &key, &url);
    assert!(
        !refused.status.success() && text(&refused).contains("out of range"),
        "{}",
        text(&refused)
    );
    // A subject's access history lists exactly the runs that matched them, each proven
    // against the run's commitment on the ledger; only the receiver's node holds them
    // (civil affairs' for most shipped policies, medical insurance's for the death register).
    let mut subjects: BTreeSet<&String> = BTreeSet::new();
    for (_, matched, _) in &completed {
        subjects.extend(matched.iter().take(3));
    }
    assert!(!subjects.is_empty(), "no matched subject to look up");
    let receivers: BTreeSet<usize> = completed.iter().map(|(_, _, r)| *r).collect();
    for subject in subjects {
        for node in 0..3 {
            let out = net.cli_as(
                "registrar",
                node,
                &["consent", "history", "--subject-pseudonym", subject],
            );
            let said = text(&out);
            assert!(out.status.success(), "{said}");
            let mut shown = false;
            for (run, matched, receiver) in &completed {
                let line = format!("included in policy run {run}");
                let expect = *receiver == node && matched.contains(subject);
                shown |= expect;
                assert_eq!(
                    said.contains(&line),
                    expect,
                    "run {run} for subject {subject} on node {node}:\n{said}"
                );
            }
            if shown {
                assert!(said.contains("proof checked against the run's ledger commitment"));
            }
            if !receivers.contains(&node) {
                assert!(!said.contains("included in policy run"), "{said}");
            }
        }
    }
    // The bench's bounded run: the p2p run and the loopback PSI over the same lists agree
    // (the bench fails if they do not) and both figures and their ratio are printed.
    let dir_arg = net.dir.display().to_string();
    let bench = net.cli(&["bench", "policy", "--dir", &dir_arg]);
    let said = text(&bench);
    assert!(bench.status.success(), "{said}");
    for line in [
        "p2p run",
        "PSI over libp2p",
        "loopback",
        "/ PSI over loopback TCP",
    ] {
        assert!(said.contains(line), "no {line:?} in:\n{said}");
    }
    // A department that is not the receiver cannot open a run.
    let spec = PolicySpec::from_toml(SHIPPED[0]).expect("policy");
    let not_receiver = (spec.receiver().party() + 1) % 3;
    let out = policy_cli(
        &net,
        &["run", "--policy", spec.name(), "--wait-secs", "0"],
        &node_keystore(&net, not_receiver),
        &net.url(not_receiver),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is not the current key of member"),
        "{}",
        text(&out)
    );
}

/// Node processes the test restarted itself; killed when the test ends.
struct Restarted(Vec<Child>);

impl Drop for Restarted {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

const PAUSE_LINE: &str = "fault: pausing after the access";

/// A node killed mid-run — a sender (medical insurance), then the receiver (civil
/// affairs), each killed while it is inside the run (its access recorded, stalled there by
/// a `[faults]` pause) — fails the run on the ledger with its reason, seconds later, not
/// after the PSI join wait; once the node is back, a retry completes with the plaintext
/// result.
#[test]
fn a_node_killed_mid_run_fails_the_run_and_a_retry_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = DevnetProcess::start(
        &dir.path().join("net"),
        BASE_PORT + 50,
        &["--no-restart", "--people", "300"],
    );
    let mut restarted = Restarted(Vec::new());
    let spec = SHIPPED
        .iter()
        .map(|s| PolicySpec::from_toml(s).expect("shipped policy"))
        .find(|s| s.name() == "aged-80-alone-dementia")
        .expect("the dementia policy ships");
    let receiver = spec.receiver().party();
    let sender = spec
        .terms()
        .iter()
        .map(|t| t.department().party())
        .find(|&p| p != receiver)
        .expect("a sender");
    let key = node_keystore(&net, receiver);
    let bystander = (0..3)
        .find(|&i| i != receiver && i != sender)
        .expect("a third node");
    let status = |run: &str| {
        text(&policy_cli(
            &net,
            &["status", "--run", run],
            &key,
            &net.url(bystander),
        ))
    };
    for victim in [sender, receiver] {
        // Restart the victim with a pause after its access.
        let config = net.node_config(victim);
        let original = std::fs::read_to_string(&config).expect("config");
        net.kill9(victim);
        std::fs::write(
            &config,
            format!("{original}\n[faults]\npolicy_pause_after_access_ms = 300000\n"),
        )
        .expect("config");
        let log = config.with_file_name("node.log");
        let pauses_before = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(PAUSE_LINE)
            .count();
        restarted.0.push(
            node_run(&config)
                .env("WEINONG_ALLOW_FAULTS", "1")
                .spawn()
                .expect("restart"),
        );
        net.wait_caught_up(victim);
        let out = open_run_when_available(
            &net,
            &spec,
            &["--wait-secs", "0"],
            &key,
            &net.url(bystander),
        );
        assert!(out.status.success(), "{}", text(&out));
        let run = run_id(&text(&out));
        // Inside the run: its access is on the ledger and it stalls before evaluating.
        let until = Instant::now() + Duration::from_secs(60);
        while std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(PAUSE_LINE)
            .count()
            == pauses_before
        {
            assert!(
                Instant::now() < until,
                "node {victim} never reached its pause"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        net.kill9(victim);
        let killed = Instant::now();
        let failed = loop {
            let said = status(&run);
            if said.contains(": failed") {
                break said;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(90),
                "the run did not fail after node {victim} was killed:\n{said}"
            );
            std::thread::sleep(Duration::from_millis(500));
        };
        assert!(failed.contains("failed: computation aborted"), "{failed}");
        // Every department that entered the run before the kill recorded its access.
        assert!(failed.matches("access by member").count() >= 2, "{failed}");
        // Back without the fault.
        std::fs::write(&config, &original).expect("config");
        restarted
            .0
            .push(node_run(&config).spawn().expect("restart"));
        net.wait_caught_up(victim);
    }
    // The retry completes and equals the plaintext evaluation.
    let url = net.url(receiver);
    let out = open_run_when_available(&net, &spec, &[], &key, &url);
    let said = text(&out);
    assert!(out.status.success(), "the retry failed:\n{said}");
    assert!(said.contains("completed"), "{said}");
    let run = run_id(&said);
    let got = fetch_matches(&net, &run, &dir.path().join("retry.csv"), &key, &url);
    assert_eq!(got, plaintext(&net, &spec));
}
