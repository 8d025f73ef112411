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

use common::devnet::DevnetProcess;
use weinong_connectors::policy::{PolicySpec, SHIPPED, evaluate_plain};
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

/// The run id `weinong policy run` printed.
fn run_id(out: &str) -> String {
    let at = out.find("opening run ").expect("the run id is printed") + "opening run ".len();
    out[at..at + 64].to_owned()
}

#[test]
fn shipped_policies_on_a_devnet_equal_the_plaintext_evaluation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = DevnetProcess::start(&dir.path().join("net"), BASE_PORT, &["--people", "600"]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let stores: Vec<(Department, Store)> = runtime.block_on(async {
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
        stores
    });
    // The runs' date is today's block date; the plaintext evaluation uses the same day.
    let today = weinong_connectors::date::Date::from_days(
        i64::try_from(weinong_keys::clock::now_ms() / 86_400_000).expect("days"),
    )
    .expect("date");
    let mut nonempty = 0;
    for source in SHIPPED {
        let spec = PolicySpec::from_toml(source).expect("shipped policy");
        let receiver = spec.receiver().party();
        let key = node_keystore(&net, receiver);
        let url = net.url(receiver);
        let out = net.cli(&[
            "policy",
            "run",
            "--policy",
            spec.name(),
            "--key",
            &key,
            "--node",
            &url,
        ]);
        let said = text(&out);
        assert!(
            out.status.success(),
            "policy {} run failed:\n{said}",
            spec.name()
        );
        assert!(said.contains("completed"), "{said}");
        let run = run_id(&said);
        // The ledger: legal basis and each department's access (every term's department).
        let status = net.cli(&[
            "policy", "status", "--run", &run, "--key", &key, "--node", &url,
        ]);
        let status = text(&status);
        assert!(
            status.contains(spec.legal_basis().as_str().replace('_', " ").as_str()),
            "{status}"
        );
        let accesses = status.matches("access by member").count();
        assert_eq!(accesses, spec.terms().len(), "{status}");
        // The result, by the receiver's own key; compared with the plaintext.
        let csv = dir.path().join(format!("{}.csv", spec.name()));
        let csv_arg = csv.display().to_string();
        let fetched = net.cli(&[
            "policy", "fetch", "--run", &run, "--out", &csv_arg, "--key", &key, "--node", &url,
        ]);
        assert!(fetched.status.success(), "{}", text(&fetched));
        let got: BTreeSet<String> = std::fs::read_to_string(&csv)
            .expect("csv")
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect();
        let expected: BTreeSet<String> = runtime.block_on(async {
            let refs: Vec<(Department, &Store)> = stores.iter().map(|(d, s)| (*d, s)).collect();
            evaluate_plain(&spec, &refs, today)
                .await
                .expect("plaintext evaluation")
                .iter()
                .map(|p| p.to_hex())
                .collect()
        });
        assert_eq!(got, expected, "policy {}", spec.name());
        nonempty += usize::from(!expected.is_empty());
        // Another department's key reads no result on the receiver's node, and the
        // receiver's node holds the only copy: the other nodes answer "no result".
        let other = (receiver + 1) % 3;
        let refused = net.cli(&[
            "policy",
            "fetch",
            "--run",
            &run,
            "--out",
            "/dev/null/x",
            "--key",
            &node_keystore(&net, other),
            "--node",
            &url,
        ]);
        assert!(
            !refused.status.success(),
            "another department read the result"
        );
        let elsewhere = net.cli(&[
            "policy",
            "fetch",
            "--run",
            &run,
            "--out",
            "/dev/null/x",
            "--key",
            &node_keystore(&net, other),
            "--node",
            &net.url(other),
        ]);
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
    // A department that is not the receiver cannot open a run.
    let spec = PolicySpec::from_toml(SHIPPED[0]).expect("policy");
    let not_receiver = (spec.receiver().party() + 1) % 3;
    let out = net.cli(&[
        "policy",
        "run",
        "--policy",
        spec.name(),
        "--wait-secs",
        "0",
        "--key",
        &node_keystore(&net, not_receiver),
        "--node",
        &net.url(not_receiver),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is not the current key of member"),
        "{}",
        text(&out)
    );
}
