//! Bad specs: each error names the line and the field, and says what to do.

use weinong_mpc::model::{ADMISSION_V1, SpecError, compile};

const SMALL: &str = r#"format_version = 1

[model]
name = "tiny"
version = "1"
title = "a tiny model"

[params.cut]
value = 3
allowed = [1, 5]
doc = "where the sources disagree"

[inputs]
a = { holder = "health", category = "screens", type = "int", range = [0, 4], doc = "item a" }
b = { holder = "civil_affairs", category = "ability_assessment", type = "bool", doc = "flag b" }

[tables.level]
bands = [[0, 0], ["cut", 1]]
doc = "0 low, 1 high"

[derived]
score = "a + 2 * b"

[outputs.level]
value = "band(score, level)"
to = ["requester"]
doc = "level"
"#;

fn error_of(source: &str) -> String {
    match compile(source) {
        Ok(_) => panic!("spec should be refused:\n{source}"),
        Err(e) => e.to_string(),
    }
}

fn replaced(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "{from}");
    SMALL.replacen(from, to, 1)
}

#[test]
fn the_small_spec_compiles() {
    let m = compile(SMALL).expect("valid");
    assert_eq!(m.name(), "tiny");
    assert_eq!(m.outputs()[0].range.max, 1);
}

/// `from` replaced by `to` in the small spec is refused with an error that starts with
/// `starts` (a line, or line and column and field; "" checks no start) and contains each of
/// `contains`.
fn refused(from: &str, to: &str, starts: &str, contains: &[&str]) {
    let e = error_of(&replaced(from, to));
    assert!(e.starts_with(starts), "{e}");
    for want in contains {
        assert!(e.contains(want), "{want:?} in {e}");
    }
}

#[test]
fn unknown_field_names_its_line_and_field() {
    refused(
        "title = \"a tiny model\"",
        "title = \"a tiny model\"\ncolour = \"red\"",
        "line 7",
        &["colour"],
    );
    refused(
        "doc = \"item a\"",
        "doc = \"item a\", scale = 2",
        "line 14",
        &["scale"],
    );
}

#[test]
fn parameter_outside_its_allowed_range() {
    refused(
        "value = 3",
        "value = 9",
        "line 9, column 9, field `params.cut.value`",
        &["outside the allowed range [1, 5]"],
    );
}

#[test]
fn bad_holder_type_and_range() {
    refused(
        "holder = \"health\"",
        "holder = \"police\"",
        "",
        &["line 14, column 16", "inputs.a.holder", "police"],
    );
    refused("range = [0, 4]", "range = [4, 0]", "", &["inputs.a.range"]);
    refused(
        "type = \"bool\"",
        "type = \"bool\", range = [0, 1]",
        "",
        &["inputs.b.range", "drop the range"],
    );
}

#[test]
fn every_input_declares_a_known_category_its_holder_holds() {
    // Missing: the parser names the input's line and the field to add.
    refused("category = \"screens\", ", "", "line 14", &["category"]);
    // Unknown name: the error lists what the holder holds.
    refused(
        "\"screens\"",
        "\"blood_type\"",
        "",
        &[
            "line 14, column 37",
            "inputs.a.category",
            "unknown data category `blood_type`",
            "vital_signs, diagnoses, falls, screens",
        ],
    );
    // A category of another department: refused, naming both departments.
    refused(
        "\"screens\"",
        "\"insurance_claims\"",
        "",
        &[
            "inputs.a.category",
            "held by medical_insurance, not by the input's holder health",
        ],
    );
    // The declared categories are part of the model and of its id.
    let m = compile(SMALL).expect("valid");
    let names: Vec<&str> = m.categories().iter().map(|c| c.as_str()).collect();
    assert_eq!(names, ["ability_assessment", "screens"]);
    let other = compile(&replaced("\"screens\"", "\"falls\"")).expect("valid");
    assert_ne!(m.id(), other.id(), "the category is part of the model id");
}

#[test]
fn expression_errors_point_into_the_expression() {
    let score = "\"a + 2 * b\"";
    refused(
        score,
        "\"a + 2 * c\"",
        "line 22, column 18, field `derived.score`",
        &["unknown name `c`"],
    );
    refused(
        score,
        "\"a / 2\"",
        "",
        &["line 22, column 12", "no division"],
    );
    refused(score, "\"a and b\"", "", &["needs a condition"]);
    refused(score, "\"a + score\"", "", &["depends on itself"]);
}

#[test]
fn tables_must_cover_the_range_and_increase() {
    let bands = "[[0, 0], [\"cut\", 1]]";
    refused(
        bands,
        "[[1, 0], [\"cut\", 1]]",
        "",
        &["outputs.level.value", "starts at 1"],
    );
    refused(
        bands,
        "[[0, 0], [\"cut\", 1], [2, 2]]",
        "",
        &["line 18", "tables.level.bands", "must increase"],
    );
    refused(
        bands,
        "[[0, 0], [\"kut\", 1]]",
        "",
        &["`kut` is not a parameter"],
    );
}

#[test]
fn unused_inputs_floats_recipients_and_versions_are_refused() {
    refused(
        "score = \"a + 2 * b\"",
        "score = \"a\"",
        "",
        &["line 15", "inputs.b", "no output depends on it"],
    );
    refused("range = [0, 4]", "range = [0, 4.5]", "line 14", &[]);
    refused(
        "to = [\"requester\"]",
        "to = [\"press\"]",
        "",
        &["outputs.level.to", "press"],
    );
    refused(
        "format_version = 1",
        "format_version = 2",
        "line 1, column 18, field `format_version`",
        &[],
    );
}

#[test]
fn optional_inputs_must_use_their_flag() {
    let spec = replaced(
        "doc = \"item a\" }",
        "doc = \"item a\", optional = { fill = 0, flag = \"a_known\" } }",
    );
    let e = error_of(&spec);
    assert!(e.contains("a_known") && e.contains("silently"), "{e}");
    let used = spec.replacen(
        "score = \"a + 2 * b\"",
        "score = \"if(a_known, a, 0) + 2 * b\"",
        1,
    );
    compile(&used).expect("flag used");
}

#[test]
fn model_id_ignores_layout_and_follows_content() {
    let a = compile(ADMISSION_V1).expect("ships").id();
    let commented = format!(
        "# a new comment\n{}",
        ADMISSION_V1.replace("\n\n", "\n\n\n")
    );
    assert_eq!(compile(&commented).expect("same model").id(), a);
    let changed = ADMISSION_V1.replacen("value = 46", "value = 51", 1);
    assert_ne!(compile(&changed).expect("variant").id(), a);
    assert_eq!(a.to_string().len(), 64);
}

#[test]
fn oversized_and_non_toml_specs() {
    assert!(matches!(
        compile(&" ".repeat(2 << 20)),
        Err(SpecError::TooLarge { .. })
    ));
    let e = error_of("format_version = 1\n[model\n");
    assert!(e.starts_with("line 2"), "{e}");
}

#[test]
fn model_id_is_openssl_sm3_of_the_canonical_form() {
    use std::process::Command;
    let dir = tempfile::tempdir().expect("tempdir");
    for source in [ADMISSION_V1, weinong_mpc::model::PERIODIC_V1] {
        let canonical = weinong_mpc::model::canonical_form(source).expect("ships");
        assert!(canonical.starts_with(b"weinong-model-spec/1\n{"));
        // OpenSSL reads the canonical form from a file: `openssl dgst -sm3 -r FILE`.
        let path = dir.path().join("canonical");
        std::fs::write(&path, &canonical).expect("write the canonical form");
        let out = Command::new("openssl")
            .args(["dgst", "-sm3", "-r"])
            .arg(&path)
            .output()
            .expect("OpenSSL 3 is part of the development environment (DESIGN.md)");
        assert!(out.status.success());
        let hex = String::from_utf8(out.stdout).expect("ASCII");
        let id = compile(source).expect("ships").id().to_string();
        assert_eq!(hex.split_whitespace().next(), Some(id.as_str()));
    }
}

#[test]
fn canonical_bytes_compile_back_to_the_same_model_and_nothing_else_does() {
    use weinong_mpc::model::{PERIODIC_V1, canonical_form, compile_canonical};
    for source in [ADMISSION_V1, PERIODIC_V1, SMALL] {
        let canonical = canonical_form(source).expect("canonical");
        let back = compile_canonical(&canonical).expect("canonical bytes compile");
        let model = compile(source).expect("valid");
        assert_eq!(back.id(), model.id());
        assert_eq!(back.inputs(), model.inputs());
        assert_eq!(back.categories(), model.categories());
    }
    let canonical = canonical_form(SMALL).expect("canonical");
    // The TOML itself, a reordered or respaced body, a changed prefix: all refused.
    let refused = |bytes: &[u8]| match compile_canonical(bytes) {
        Err(e @ SpecError::NotCanonical { .. }) => e.to_string(),
        other => panic!("should be refused as not canonical: {other:?}"),
    };
    assert!(refused(SMALL.as_bytes()).contains("weinong-model-spec/1"));
    let spaced = String::from_utf8(canonical.clone())
        .expect("UTF-8")
        .replacen(":", ": ", 1);
    assert!(refused(spaced.as_bytes()).contains("differs from the canonical form"));
    let mut float = canonical.clone();
    let text = String::from_utf8(float.clone()).expect("UTF-8");
    float = text
        .replacen("\"value\":3", "\"value\":3.5", 1)
        .into_bytes();
    assert!(refused(&float).contains("not an i64"));
    // Canonical bytes of an invalid model are refused by the compiler's own check.
    let bad = canonical_form(&SMALL.replacen("\"screens\"", "\"falls_x\"", 1)).expect("TOML");
    assert!(matches!(
        compile_canonical(&bad),
        Err(SpecError::Invalid { .. })
    ));
}
