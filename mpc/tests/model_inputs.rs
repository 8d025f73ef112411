//! Department CSV tables and their join: bad input gives a clear error or the documented,
//! reported skip policy, never a silent zero.

use weinong_mpc::model::inputs::{DepartmentTable, JoinPolicy, SubjectKey, join};
use weinong_mpc::model::{Holder, InputError, Model, compile, evaluate_plain};

const SPEC: &str = r#"format_version = 1
[model]
name = "join-test"
version = "1"
title = "two departments"
[inputs]
item = { holder = "civil_affairs", category = "ability_assessment", type = "int", range = [0, 4], doc = "an item" }
weight = { holder = "health", category = "vital_signs", type = "int", decimals = 1, range = [200, 2500], column = "weight_kg", optional = { fill = 200, flag = "weight_known" }, doc = "weight, 0.1 kg" }
[outputs.score]
value = "item + if(weight_known, weight, 0)"
to = ["requester"]
doc = "item plus weight in 0.1 kg where known"
"#;

fn model() -> Model {
    compile(SPEC).expect("valid spec")
}

fn subject(n: u8) -> String {
    hex::encode([n; 32])
}

fn civil(rows: &str) -> Result<DepartmentTable, InputError> {
    DepartmentTable::read_csv(
        &model(),
        Holder::CivilAffairs,
        "civil_affairs.csv",
        rows.as_bytes(),
    )
}

fn health(rows: &str) -> Result<DepartmentTable, InputError> {
    DepartmentTable::read_csv(&model(), Holder::Health, "health.csv", rows.as_bytes())
}

#[test]
fn tables_join_by_pseudonym_with_exact_decimals_and_known_flags() {
    let m = model();
    let c = civil(&format!(
        "subject,item,extra\n{},3,x\n{},1,y\n",
        subject(2),
        subject(1)
    ))
    .expect("valid");
    let h = health(&format!(
        "subject,weight_kg\n{},61.5\n{},\n",
        subject(1),
        subject(2).to_uppercase()
    ))
    .expect("valid");
    assert_eq!(c.ignored_columns(), ["extra"]);
    let joined = join(&m, &[c, h], JoinPolicy::Strict).expect("complete");
    assert_eq!(
        joined.subjects,
        vec![SubjectKey([1; 32]), SubjectKey([2; 32])],
        "sorted by pseudonym"
    );
    let out = evaluate_plain(&m, &joined.batch);
    // Subject 1: item 1 + 61.5 kg (615); subject 2: item 3, weight unknown (flag 0).
    assert_eq!(out.column(0), [1 + 615, 3]);
    assert_eq!(
        joined.report.ignored_columns,
        vec![(Holder::CivilAffairs, "extra".to_owned())]
    );
}

#[test]
fn a_subject_missing_at_one_department_is_an_error_or_reported() {
    let m = model();
    let rows_c = format!("subject,item\n{},3\n{},1\n", subject(1), subject(2));
    let rows_h = format!("subject,weight_kg\n{},61.5\n", subject(1));
    let tables = [
        civil(&rows_c).expect("valid"),
        health(&rows_h).expect("valid"),
    ];
    let err = join(&m, &tables, JoinPolicy::Strict).expect_err("subject 2 lacks health data");
    assert_eq!(
        err,
        InputError::SubjectMissing {
            subject: subject(2),
            present: Holder::CivilAffairs,
            missing: Holder::Health,
            count: 1
        }
    );
    assert!(err.to_string().contains("skip-and-report"), "{err}");
    let joined = join(&m, &tables, JoinPolicy::SkipIncomplete).expect("skips");
    assert_eq!(joined.subjects, vec![SubjectKey([1; 32])]);
    assert_eq!(joined.report.skipped.len(), 1);
    assert_eq!(joined.report.skipped[0].subject, SubjectKey([2; 32]));
    assert_eq!(joined.report.skipped[0].missing_at, vec![Holder::Health]);
}

#[test]
fn missing_table_column_and_value() {
    let m = model();
    let c = civil(&format!("subject,item\n{},3\n", subject(1))).expect("valid");
    assert_eq!(
        join(&m, &[c], JoinPolicy::Strict).expect_err("no health table"),
        InputError::MissingTable {
            holder: Holder::Health,
            columns: 1
        }
    );
    let err =
        health(&format!("subject,weight\n{},61.5\n", subject(1))).expect_err("column is weight_kg");
    assert!(
        matches!(&err, InputError::MissingColumn { column, input, .. } if column == "weight_kg" && input == "weight"),
        "{err}"
    );
    let err = civil(&format!("subject,item\n{},\n", subject(1))).expect_err("item is required");
    assert_eq!(
        err,
        InputError::MissingValue {
            file: "civil_affairs.csv".into(),
            line: 2,
            column: "item".into()
        }
    );
}

#[test]
fn out_of_range_and_malformed_cells() {
    let err = civil(&format!(
        "subject,item\n{},3\n{},5\n",
        subject(1),
        subject(2)
    ))
    .expect_err("item ≤ 4");
    assert!(
        matches!(
            err,
            InputError::OutOfRange {
                line: 3,
                value: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("outside the valid range [0, 4]"),
        "{err}"
    );
    let err =
        health(&format!("subject,weight_kg\n{},61.55\n", subject(1))).expect_err("one decimal");
    assert!(
        matches!(
            err,
            InputError::NotANumber {
                line: 2,
                decimals: 1,
                ..
            }
        ),
        "{err}"
    );
    let err =
        health(&format!("subject,weight_kg\n{},12.0\n", subject(1))).expect_err("20.0 kg minimum");
    assert!(
        matches!(err, InputError::OutOfRange { value: 120, .. }),
        "{err}"
    );
    let err = civil(&format!("subject,item\n{},abc\n", subject(1))).expect_err("not a number");
    assert!(matches!(err, InputError::NotANumber { .. }), "{err}");
}

#[test]
fn bad_subjects_and_headers() {
    let err = civil("subject,item\n110105194912310021,3\n")
        .expect_err("a raw ID number is not a pseudonym");
    assert!(
        matches!(err, InputError::BadPseudonym { line: 2, .. }),
        "{err}"
    );
    let err = civil(&format!("subject,item\n{0},3\n{0},2\n", subject(1))).expect_err("duplicate");
    assert!(
        matches!(err, InputError::DuplicateSubject { line: 3, .. }),
        "{err}"
    );
    let err = civil(&format!("id,item\n{},3\n", subject(1))).expect_err("first column");
    assert!(matches!(err, InputError::NoSubjectColumn { .. }), "{err}");
    let err = civil(&format!("subject,item,item\n{},3,3\n", subject(1))).expect_err("twice");
    assert!(matches!(err, InputError::DuplicateColumn { .. }), "{err}");
    let err = civil(&format!("subject,item\n{},3,9\n", subject(1))).expect_err("ragged row");
    assert!(matches!(err, InputError::Csv { .. }), "{err}");
}

#[test]
fn in_memory_batches_are_checked_too() {
    use weinong_mpc::model::InputBatch;
    let m = model();
    // Columns: item, weight, weight_known.
    let ok = InputBatch::new(&m, vec![vec![1, 2], vec![615, 200], vec![1, 0]]);
    assert!(ok.is_ok());
    let err =
        InputBatch::new(&m, vec![vec![1, 9], vec![615, 200], vec![1, 0]]).expect_err("item 9");
    assert!(
        matches!(
            err,
            InputError::OutOfRange {
                line: 1,
                value: 9,
                ..
            }
        ),
        "{err}"
    );
    let err = InputBatch::new(&m, vec![vec![1, 2], vec![615, 700], vec![1, 0]])
        .expect_err("absent but not fill");
    assert!(err.to_string().contains("not its fill value 200"), "{err}");
    let err =
        InputBatch::new(&m, vec![vec![1, 2], vec![615]]).expect_err("two columns for three inputs");
    assert!(matches!(err, InputError::Shape { .. }), "{err}");
    let err = InputBatch::new(&m, vec![vec![1, 2], vec![615], vec![1, 0]]).expect_err("ragged");
    assert!(matches!(err, InputError::Shape { .. }), "{err}");
}
