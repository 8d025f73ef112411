//! `weinong ledger` and `weinong audit` end to end: build a demo ledger, export a bundle and
//! heads, verify them (exit 0), tamper with them (exit 1, naming the check), damage the
//! store through RocksDB and see fsck name it (exit 1).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn weinong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weinong"))
        .args(args)
        .output()
        .expect("run weinong")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[test]
fn demo_ledger_bundle_and_consistency_round_trip() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("ledger");
    let out = weinong(&[
        "ledger",
        "demo",
        "--dir",
        p(&dir),
        "--blocks",
        "5",
        "--txs",
        "7",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let first_tx = text(&out)
        .lines()
        .find_map(|l| l.strip_prefix("first transaction: ").map(str::to_owned))
        .expect("demo prints the first transaction hash");

    let fsck = weinong(&["ledger", "fsck", "--dir", p(&dir)]);
    assert_eq!(fsck.status.code(), Some(0), "{}", text(&fsck));
    assert!(
        text(&fsck).contains("5 blocks, 35 transactions"),
        "{}",
        text(&fsck)
    );
    assert!(
        text(&fsck).contains("5 co-signed tree heads checked"),
        "{}",
        text(&fsck)
    );

    let members = tmp.path().join("members.hex");
    let head4 = tmp.path().join("head4.json");
    let head1 = tmp.path().join("head1.json");
    let out = weinong(&[
        "ledger",
        "head",
        "--dir",
        p(&dir),
        "--out",
        p(&head4),
        "--members-out",
        p(&members),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("height:       4"));
    let out = weinong(&[
        "ledger",
        "head",
        "--dir",
        p(&dir),
        "--height",
        "1",
        "--out",
        p(&head1),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let bundle = tmp.path().join("bundle.json");
    let out = weinong(&[
        "ledger",
        "export-bundle",
        "--dir",
        p(&dir),
        "--tx",
        &first_tx,
        "--height",
        "3",
        "--out",
        p(&bundle),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let ok = weinong(&["audit", "verify", p(&bundle), "--members", p(&members)]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(
        text(&ok).contains(&format!("transaction {first_tx} is proven")),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("leaf 0 of the log of 28 leaves"),
        "{}",
        text(&ok)
    );

    // One hex digit of the proof changed: exit 1, naming the inclusion check.
    let json = fs::read_to_string(&bundle).expect("bundle");
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let node = value["inclusion_proof"][0]
        .as_str()
        .expect("proof node")
        .to_owned();
    let flipped = format!(
        "{}{}",
        if node.starts_with('0') { "1" } else { "0" },
        &node[1..]
    );
    value["inclusion_proof"][0] = serde_json::Value::String(flipped);
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, serde_json::to_string(&value).expect("json")).expect("write");
    let fail = weinong(&["audit", "verify", p(&bad)]);
    assert_eq!(fail.status.code(), Some(1), "{}", text(&fail));
    assert!(
        text(&fail).contains("FAILED check `inclusion`"),
        "{}",
        text(&fail)
    );

    // The first transaction (block 0) proven against the tip (block 4) by the headers
    // between them, with the tip's co-signed tree head.
    let linked = tmp.path().join("linked.json");
    let out = weinong(&[
        "ledger",
        "export-bundle",
        "--dir",
        p(&dir),
        "--tx",
        &first_tx,
        "--chain",
        "--out",
        p(&linked),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("weinong-proof-bundle/2"),
        "{}",
        text(&out)
    );
    let ok = weinong(&["audit", "verify", p(&linked), "--members", p(&members)]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    for expected in [
        "leaf 0 of the log of 7 leaves",
        "block 0 (",
        "linked by 4 headers (hash chain) to block 4",
        "co-signed by 3 members",
    ] {
        assert!(text(&ok).contains(expected), "{expected}: {}", text(&ok));
    }
    let json = fs::read_to_string(&linked).expect("bundle");
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let link = value["chain"][1].as_str().expect("a link").to_owned();
    // Change the block time of the middle link (the last 8 bytes before the proposer).
    let at = link.len() - 64 - 1;
    let digit = if &link[at..=at] == "0" { "1" } else { "0" };
    value["chain"][1] =
        serde_json::Value::String(format!("{}{digit}{}", &link[..at], &link[at + 1..]));
    let bad = tmp.path().join("bad_linked.json");
    fs::write(&bad, serde_json::to_string(&value).expect("json")).expect("write");
    let fail = weinong(&["audit", "verify", p(&bad)]);
    assert_eq!(fail.status.code(), Some(1), "{}", text(&fail));
    assert!(
        text(&fail).contains("FAILED check `chain`"),
        "{}",
        text(&fail)
    );

    let proof = tmp.path().join("consistency.json");
    let out = weinong(&[
        "ledger",
        "consistency",
        "--dir",
        p(&dir),
        "--old",
        "1",
        "--new",
        "4",
        "--out",
        p(&proof),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let ok = weinong(&[
        "audit",
        "consistency",
        p(&head1),
        p(&head4),
        p(&proof),
        "--members",
        p(&members),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).contains("14 leaves"), "{}", text(&ok));
    let swapped = weinong(&["audit", "consistency", p(&head4), p(&head1), p(&proof)]);
    assert_eq!(swapped.status.code(), Some(1), "{}", text(&swapped));
    assert!(
        text(&swapped).contains("FAILED check `sizes`"),
        "{}",
        text(&swapped)
    );

    // Missing files are usage errors (exit 2), not failed checks.
    let missing = weinong(&["audit", "verify", p(&tmp.path().join("nope.json"))]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
}

#[test]
fn fsck_names_a_damaged_transaction() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("ledger");
    let out = weinong(&[
        "ledger",
        "demo",
        "--dir",
        p(&dir),
        "--blocks",
        "30",
        "--txs",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out));
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
    assert_eq!(fsck.status.code(), Some(1), "{}", text(&fsck));
    assert!(
        text(&fsck).contains("FAILED: corrupt transaction 4"),
        "{}",
        text(&fsck)
    );
}
