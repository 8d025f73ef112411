//! `weinong ledger` and `weinong audit` end to end: build a demo ledger, export a bundle and
//! heads, verify them (exit 0), tamper with them (exit 1, naming the check), damage the
//! store through RocksDB and see fsck name it (exit 1).

use std::fs;
use std::path::Path;

mod common;

use common::{exits, p, weinong_out as weinong};

/// `weinong ledger <command> --dir <dir> <args>`: exit 0 and each of `expected` printed;
/// returns what it printed.
fn ledger(command: &str, dir: &Path, args: &[&str], expected: &[&str]) -> String {
    let mut all = vec!["ledger", command, "--dir", p(dir)];
    all.extend_from_slice(args);
    exits(&weinong(&all), 0, expected)
}

/// `weinong audit <args>`: exit `code` and each of `expected` printed.
fn audit(args: &[&str], code: i32, expected: &[&str]) {
    let all: Vec<&str> = std::iter::once("audit")
        .chain(args.iter().copied())
        .collect();
    exits(&weinong(&all), code, expected);
}

/// Writes the JSON file `from` to `to` with `edit` applied.
fn tampered(from: &Path, to: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let json = fs::read_to_string(from).expect("bundle");
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
    edit(&mut value);
    fs::write(to, serde_json::to_string(&value).expect("json")).expect("write");
}

/// `hex` with its digit at `at` changed (to 1 if it was 0, else to 0).
fn flip_digit(hex: &serde_json::Value, at: usize) -> serde_json::Value {
    let hex = hex.as_str().expect("a hex string");
    let digit = if &hex[at..=at] == "0" { "1" } else { "0" };
    serde_json::Value::String(format!("{}{digit}{}", &hex[..at], &hex[at + 1..]))
}

#[test]
fn demo_ledger_bundle_and_consistency_round_trip() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("ledger");
    let demo = ledger("demo", &dir, &["--blocks", "5", "--txs", "7"], &[]);
    let first_tx = demo
        .lines()
        .find_map(|l| l.strip_prefix("first transaction: ").map(str::to_owned))
        .expect("demo prints the first transaction hash");
    ledger(
        "fsck",
        &dir,
        &[],
        &[
            "5 blocks, 35 transactions",
            "5 co-signed tree heads checked",
        ],
    );

    let members = tmp.path().join("members.hex");
    let head4 = tmp.path().join("head4.json");
    let head1 = tmp.path().join("head1.json");
    let args = ["--out", p(&head4), "--members-out", p(&members)];
    ledger("head", &dir, &args, &["height:       4"]);
    ledger("head", &dir, &["--height", "1", "--out", p(&head1)], &[]);

    let bundle = tmp.path().join("bundle.json");
    let args = ["--tx", &first_tx, "--height", "3", "--out", p(&bundle)];
    ledger("export-bundle", &dir, &args, &[]);
    let proven = format!("transaction {first_tx} is proven");
    audit(
        &["verify", p(&bundle), "--members", p(&members)],
        0,
        &[&proven, "leaf 0 of the log of 28 leaves"],
    );

    // One hex digit of the proof changed: exit 1, naming the inclusion check.
    let bad = tmp.path().join("bad.json");
    tampered(&bundle, &bad, |v| {
        v["inclusion_proof"][0] = flip_digit(&v["inclusion_proof"][0], 0);
    });
    audit(&["verify", p(&bad)], 1, &["FAILED check `inclusion`"]);

    // The first transaction (block 0) proven against the tip (block 4) by the headers
    // between them, with the tip's co-signed tree head.
    let linked = tmp.path().join("linked.json");
    let args = ["--tx", &first_tx, "--chain", "--out", p(&linked)];
    ledger("export-bundle", &dir, &args, &["weinong-proof-bundle/2"]);
    audit(
        &["verify", p(&linked), "--members", p(&members)],
        0,
        &[
            "leaf 0 of the log of 7 leaves",
            "block 0 (",
            "linked by 4 headers (hash chain) to block 4",
            "co-signed by 3 members",
        ],
    );
    // Change the block time of the middle link (the last 8 bytes before the proposer).
    let bad = tmp.path().join("bad_linked.json");
    tampered(&linked, &bad, |v| {
        let at = v["chain"][1].as_str().expect("a link").len() - 64 - 1;
        v["chain"][1] = flip_digit(&v["chain"][1], at);
    });
    audit(&["verify", p(&bad)], 1, &["FAILED check `chain`"]);

    let proof = tmp.path().join("consistency.json");
    let args = ["--old", "1", "--new", "4", "--out", p(&proof)];
    ledger("consistency", &dir, &args, &[]);
    audit(
        &[
            "consistency",
            p(&head1),
            p(&head4),
            p(&proof),
            "--members",
            p(&members),
        ],
        0,
        &["14 leaves"],
    );
    let swapped = ["consistency", p(&head4), p(&head1), p(&proof)];
    audit(&swapped, 1, &["FAILED check `sizes`"]);

    // Missing files are usage errors (exit 2), not failed checks.
    audit(&["verify", p(&tmp.path().join("nope.json"))], 2, &[]);
}

#[test]
fn fsck_names_a_damaged_transaction() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("ledger");
    ledger("demo", &dir, &["--blocks", "30", "--txs", "3"], &[]);
    {
        use weinong_ledger::store::schema;
        let cfs = schema::COLUMN_FAMILIES
            .iter()
            .map(|n| rocksdb::ColumnFamilyDescriptor::new(*n, rocksdb::Options::default()));
        let db = rocksdb::DB::open_cf_descriptors(&rocksdb::Options::default(), &dir, cfs)
            .expect("raw open");
        // Transaction 4 is the second of block 1's chunk (blocks of 3).
        let cf = db.cf_handle(schema::CF_TX_CHUNKS).expect("cf");
        let key = schema::index_key(3);
        let mut v = db.get_cf(cf, key).expect("read").expect("block 1's chunk");
        let tx4 = schema::chunk_ranges(&v).expect("well formed")[1].clone();
        v[tx4.start + 62] ^= 0x04;
        db.put_cf(cf, key, v).expect("write");
    }
    let fsck = weinong(&["ledger", "fsck", "--dir", p(&dir)]);
    exits(&fsck, 1, &["FAILED: corrupt transaction 4"]);
}
