//! Protection at rest (no ID number or name in the SQLite file), bad input (unknown
//! encoding, wrong mappings, truncated XLSX) and atomic imports (a failure halfway leaves
//! the store as it was), on SQLite and PostgreSQL; plus an XLSX import.

mod common;

use std::path::{Path, PathBuf};

use common::{TestStore, read_csv};
use weinong_connectors::synth::synthetic_secrets;
use weinong_connectors::{
    ConnectorError, Department, ImportOptions, Mapping, QualityReport, import_file,
};

const SEED: u64 = 77;
const DIRT: f64 = 0.05;

/// Imports `path` into department `d` of the test's store under the secrets of `SEED`.
async fn import(
    s: &TestStore,
    d: Department,
    path: &Path,
    mapping: &Mapping,
    options: &ImportOptions,
) -> Result<QualityReport, ConnectorError> {
    import_file(
        &s.store,
        d,
        path,
        mapping,
        &synthetic_secrets(SEED),
        options,
    )
    .await
}

/// As [`import`] for a file whose headers are the department's own (no mapping).
async fn import_unmapped(
    s: &TestStore,
    d: Department,
    path: &Path,
    options: &ImportOptions,
) -> Result<QualityReport, ConnectorError> {
    import(s, d, path, &Mapping::default(), options).await
}

/// A copy of `data`'s file `name`, saved as `broken`, with line `index` (from 0) replaced;
/// and the file's number of lines.
fn break_line(data: &Path, name: &str, index: usize, line: &str, broken: &str) -> (PathBuf, usize) {
    let text = std::fs::read_to_string(data.join(name)).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[index] = line;
    let path = data.join(broken);
    std::fs::write(&path, lines.join("\n")).expect("write");
    (path, lines.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_holds_no_id_number_or_name() {
    let data = tempfile::tempdir().expect("tempdir");
    common::synth(data.path(), 400, SEED, DIRT);
    let s = common::sqlite_store().await;
    common::import_all(&s.store, data.path(), &synthetic_secrets(SEED)).await;
    let db = s.close().await;
    // Every file SQLite left behind (main file, and WAL/SHM if any).
    let mut bytes = Vec::new();
    for e in std::fs::read_dir(db.sqlite_dir()).expect("read dir") {
        bytes.extend(std::fs::read(e.expect("entry").path()).expect("read db file"));
    }
    assert!(
        bytes.len() > 100_000,
        "the database holds the imported rows"
    );
    let truth = read_csv(&data.path().join("truth/civil.csv"));
    assert!(truth.len() > 300);
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for row in &truth {
        let (id, name, phone) = (&row[1], &row[2], &row[3]);
        assert!(
            !contains(id.as_bytes()),
            "an ID number is stored in the clear"
        );
        assert!(!contains(name.as_bytes()), "a name is stored in the clear");
        if !phone.is_empty() {
            assert!(
                !contains(phone.as_bytes()),
                "a phone number is stored in the clear"
            );
        }
        // The pseudonym is what keys the rows.
        let pseudonym = hex::decode(&row[0]).expect("hex");
        assert!(contains(&pseudonym), "rows are keyed by pseudonym");
    }
}

async fn table_counts(s: &TestStore) -> Vec<i64> {
    let mut v = Vec::new();
    for d in Department::ALL {
        v.push(s.store.count_rows(d).await.expect("count"));
        v.push(s.store.count_subjects(d).await.expect("count"));
    }
    v.push(i64::try_from(s.store.jobs().await.expect("jobs").len()).expect("len"));
    v
}

async fn failing_import_changes_nothing(s: &TestStore) {
    let data = tempfile::tempdir().expect("tempdir");
    common::synth(data.path(), 300, SEED, DIRT);
    // A first, good import so "as it was" is not just "empty".
    let civil = common::mapping_for(data.path(), Department::CivilAffairs);
    import(
        s,
        Department::CivilAffairs,
        &data.path().join("civil.csv"),
        &civil,
        &ImportOptions::default(),
    )
    .await
    .expect("good import");
    let before = table_counts(s).await;
    assert!(before[0] > 0 && before[2] == 0 && before[4] == 0);
    // Health file broken far past the first chunks: a row with a missing column.
    let (broken, lines) = break_line(
        data.path(),
        "health.csv",
        450,
        "11010519491231002X,张三",
        "broken.csv",
    );
    assert!(lines > 500);
    let options = ImportOptions {
        chunk_rows: 100,
        progress: None,
    };
    let err = import_unmapped(s, Department::Health, &broken, &options)
        .await
        .expect_err("a malformed row must fail the import");
    assert!(matches!(err, ConnectorError::Csv { .. }), "{err}");
    assert!(err.to_string().contains("broken.csv"), "{err}");
    assert_eq!(
        table_counts(s).await,
        before,
        "the failed import changed the store"
    );
    // A broken JSON line halfway through the insurance file, likewise.
    let (broken, _) = break_line(
        data.path(),
        "insurance.jsonl",
        400,
        "{\"claim_id\": \"YB1\", ",
        "broken.jsonl",
    );
    let err = import_unmapped(s, Department::MedicalInsurance, &broken, &options)
        .await
        .expect_err("broken JSON must fail the import");
    assert!(err.to_string().contains("line 401"), "{err}");
    assert_eq!(table_counts(s).await, before);
    // Importing the same people again violates the register's key: the import is undone.
    let err = import(
        s,
        Department::CivilAffairs,
        &data.path().join("civil.csv"),
        &civil,
        &options,
    )
    .await
    .expect_err("re-importing stored people must fail");
    assert!(matches!(err, ConnectorError::Db { .. }), "{err}");
    assert_eq!(table_counts(s).await, before);
    // The failed health and insurance imports ran into empty tables, whose keys an SQLite
    // bulk load drops until its end: the rollback put them back. A good import, then the
    // same file again, must conflict on the check-up key.
    let health = data.path().join("health.csv");
    import_unmapped(s, Department::Health, &health, &options)
        .await
        .expect("good health import");
    let after = table_counts(s).await;
    assert!(after[2] > 0 && after[3] > 0);
    let err = import_unmapped(s, Department::Health, &health, &options)
        .await
        .expect_err("re-importing stored check-ups must fail");
    assert!(matches!(err, ConnectorError::Db { .. }), "{err}");
    assert_eq!(table_counts(s).await, after);
}

both_stores!(
    sqlite_failed_import_is_rolled_back,
    postgres_failed_import_is_rolled_back,
    failing_import_changes_nothing
);

async fn bad_inputs_are_refused(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = synthetic_secrets(SEED);
    let opts = ImportOptions::default();
    // Unknown encoding: bytes that are neither UTF-8 nor GB18030.
    let p = dir.path().join("latin.csv");
    let mut bytes = b"id_number,name,exam_date\n".to_vec();
    bytes.extend_from_slice(b"11010519491231002X,\xff\xfe\xff\xfe,2024-01-05\n");
    std::fs::write(&p, bytes).expect("write");
    let err = import_unmapped(s, Department::Health, &p, &opts)
        .await
        .expect_err("encoding");
    assert!(err.to_string().contains("neither UTF-8 nor GBK"), "{err}");
    assert!(
        matches!(err, ConnectorError::UnknownEncoding { .. }),
        "{err}"
    );
    // GBK is detected and converted.
    let p = dir.path().join("gbk.csv");
    let text = "身份证号,姓名,体检日期,收缩压\n11010519491231002X,张三,2024年1月5日,130\n";
    std::fs::write(&p, encoding_rs::GBK.encode(text).0).expect("write");
    let r = import_unmapped(s, Department::Health, &p, &opts)
        .await
        .expect("GBK import");
    assert_eq!((r.encoding.as_str(), r.rows_stored), ("GB18030", 1));
    let rows = s
        .store
        .dump(Department::Health, &secrets.data_key)
        .await
        .expect("dump");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0][2].as_str(),
            rows[0][3].as_str(),
            rows[0][6].as_str()
        ),
        ("张三", "2024-01-05", "130")
    );
    // Wrong mappings.
    let csv = dir.path().join("h.csv");
    std::fs::write(&csv, "sfzh,xm,rq\n11010519491231002X,张三,2024-02-05\n").expect("write");
    let cases: [(&str, &str); 4] = [
        (
            "[columns]\nid_number = \"sfzh\"\nname = \"xm\"\nexam_date = \"riqi\"\n",
            "which the file does not have",
        ),
        (
            "[columns]\nid_number = \"sfzh\"\nname = \"xm\"\nexam_day = \"rq\"\n",
            "is not a field of department health",
        ),
        (
            "[columns]\nid_number = \"sfzh\"\nname = \"xm\"\n",
            "required field 'exam_date'",
        ),
        (
            "department = \"civil\"\n[columns]\nid_number = \"sfzh\"\n",
            "the mapping is for department civil",
        ),
    ];
    for (i, (toml, want)) in cases.iter().enumerate() {
        let m = dir.path().join(format!("m{i}.toml"));
        std::fs::write(&m, toml).expect("write");
        let mapping = Mapping::load(&m).expect("parse mapping");
        let err = import(s, Department::Health, &csv, &mapping, &opts)
            .await
            .expect_err("mapping");
        assert!(err.to_string().contains(want), "case {i}: {err}");
    }
    let m = dir.path().join("bad.toml");
    std::fs::write(&m, "[colums]\nid_number = 1\n").expect("write");
    assert!(matches!(Mapping::load(&m), Err(ConnectorError::Mapping(_))));
    let m = dir.path().join("good.json");
    std::fs::write(
        &m,
        r#"{"columns": {"id_number": "sfzh", "name": "xm", "exam_date": "rq"}}"#,
    )
    .expect("write");
    let r = import(
        s,
        Department::Health,
        &csv,
        &Mapping::load(&m).expect("json mapping"),
        &opts,
    )
    .await
    .expect("mapped import");
    assert_eq!(r.rows_stored, 1);
    // XLSX: a real workbook imports; a truncated one is refused with a clear error.
    let x = dir.path().join("claims.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let header = [
        "结算单号",
        "身份证号",
        "姓名",
        "就诊类型",
        "就诊/入院日期",
        "出院日期",
        "诊断编码",
        "用药种数",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, u16::try_from(c).expect("col"), *h)
            .expect("cell");
    }
    ws.write_string(1, 0, "YB000000000001").expect("cell");
    ws.write_string(1, 1, "11010519491231002X").expect("cell");
    ws.write_string(1, 2, "张三").expect("cell");
    ws.write_number(1, 3, 2.0).expect("cell");
    ws.write_string(1, 4, "2024/3/1").expect("cell");
    let date_fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 3, 9).expect("date");
    ws.write_datetime_with_format(1, 5, &dt, &date_fmt)
        .expect("cell");
    ws.write_string(1, 6, "i10;E119").expect("cell");
    ws.write_number(1, 7, 7.0).expect("cell");
    wb.save(&x).expect("save xlsx");
    let r = import_unmapped(s, Department::MedicalInsurance, &x, &opts)
        .await
        .expect("xlsx import");
    assert_eq!(r.rows_stored, 1);
    assert_eq!(r.count(weinong_connectors::Rule::Icd10Normalised), 2);
    assert_eq!(r.count(weinong_connectors::Rule::DateFormat), 1);
    let rows = s
        .store
        .dump(Department::MedicalInsurance, &secrets.data_key)
        .await
        .expect("dump");
    let row = rows
        .iter()
        .find(|r| r[1] == "YB000000000001")
        .expect("claim stored");
    assert_eq!(
        &row[4..10],
        ["2", "2024-03-01", "2024-03-09", "I10;E11.9", "7", "0"]
    );
    let full = std::fs::read(&x).expect("read");
    let cut = dir.path().join("cut.xlsx");
    std::fs::write(&cut, &full[..full.len() / 2]).expect("write");
    let err = import_unmapped(s, Department::MedicalInsurance, &cut, &opts)
        .await
        .expect_err("truncated");
    assert!(matches!(err, ConnectorError::Xlsx { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot read XLSX workbook"),
        "{err}"
    );
    let unknown = dir.path().join("data.parquet");
    std::fs::write(&unknown, b"PAR1").expect("write");
    let err = import_unmapped(s, Department::MedicalInsurance, &unknown, &opts)
        .await
        .expect_err("format");
    assert!(
        matches!(err, ConnectorError::UnsupportedFormat { .. }),
        "{err}"
    );
}

both_stores!(
    sqlite_bad_inputs,
    postgres_bad_inputs,
    bad_inputs_are_refused
);
