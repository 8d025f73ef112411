//! 免申即享 policies: malformed specs are refused with typed errors naming the field, the
//! canonical id ignores formatting and follows every value, the shipped policies parse, and
//! on a synthetic three-department store each department's term equals a computation done
//! here by hand from the generator's truth files (a comparison, a register attribute and a
//! diagnosis window), and each shipped policy's plaintext result is non-empty and equals
//! the set algebra of those hand-computed sets.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::TestStore;
use weinong_connectors::date::Date;
use weinong_connectors::policy::{
    Combine, Mode, PolicyError, PolicyId, PolicySpec, SHIPPED, evaluate_plain, evaluate_term,
    evaluate_term_in_pages, subjects_page,
};
use weinong_connectors::synth::{AS_OF, synthetic_secrets};
use weinong_connectors::{Department, Store};
use weinong_keys::SubjectPseudonym;

/// Enough people for a few centenarians (0.1 % of the generator's population); evaluation
/// crosses page boundaries with small pages (`evaluate_term_in_pages`).
const PEOPLE: u64 = 4_000;
const SEED: u64 = 20_261_207;
const DIRT: f64 = 0.03;

const BASE: &str = r#"
name = "aged-80-alone-dementia"
title_zh = "80岁以上独居且近两年有痴呆诊断"
title_en = "Aged 80+, living alone, dementia diagnosed in the last 2 years"
receiver = "civil"
legal_basis = "public_interest"
mode = "intersection"

[[terms]]
department = "civil"
all = [ { feature = "age_years", op = ">=", value = 80 }, { feature = "living_alone", op = "=", value = 1 } ]

[[terms]]
department = "insurance"
combine = "and"
all = [ { diagnosis = ["F00","F01","F02","F03","G30"], within_months = 24 } ]
"#;

fn parse(text: &str) -> Result<PolicySpec, PolicyError> {
    PolicySpec::from_toml(text)
}

fn invalid_field(text: &str) -> (String, String) {
    match parse(text) {
        Err(PolicyError::Invalid { field, message }) => (field, message),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn malformed_policies_are_refused_with_the_field() {
    parse(BASE).expect("the base policy is valid");

    // Unknown key: the TOML reader names it (deny_unknown_fields) with its line.
    let e = parse(&format!("colour = \"red\"\n{BASE}")).expect_err("unknown key");
    assert!(
        matches!(&e, PolicyError::Toml(m) if m.contains("colour") && m.contains("line")),
        "{e}"
    );
    let e = parse(&BASE.replace("combine = \"and\"", "combine = \"and\"\nweight = 2"))
        .expect_err("unknown key in a term");
    assert!(
        matches!(&e, PolicyError::Toml(m) if m.contains("weight")),
        "{e}"
    );
    let e = parse(&BASE.replace("within_months = 24", "within_months = 24, since = 3"))
        .expect_err("unknown key in a condition");
    assert!(
        matches!(&e, PolicyError::Toml(m) if m.contains("since")),
        "{e}"
    );

    // Wrong department.
    let (field, message) =
        invalid_field(&BASE.replace("department = \"insurance\"", "department = \"finance\""));
    assert_eq!(field, "terms[1].department");
    assert!(
        message.contains("finance") && message.contains("insurance"),
        "{message}"
    );
    let (field, _) = invalid_field(&BASE.replace("receiver = \"civil\"", "receiver = \"police\""));
    assert_eq!(field, "receiver");

    // Receiver not first.
    let (field, message) =
        invalid_field(&BASE.replace("receiver = \"civil\"", "receiver = \"insurance\""));
    assert_eq!(field, "terms[0].department");
    assert!(message.contains("first"), "{message}");

    // Department twice.
    let twice = format!(
        "{BASE}\n[[terms]]\ndepartment = \"insurance\"\ncombine = \"and_not\"\nall = [ {{ feature = \"ltc_insured\", op = \"=\", value = 1 }} ]\n"
    );
    let (field, message) = invalid_field(&twice);
    assert_eq!(field, "terms[2].department");
    assert!(message.contains("twice"), "{message}");

    // Empty `all`.
    let (field, _) = invalid_field(&BASE.replace(
        "all = [ { diagnosis = [\"F00\",\"F01\",\"F02\",\"F03\",\"G30\"], within_months = 24 } ]",
        "all = []",
    ));
    assert_eq!(field, "terms[1].all");

    // Bad operator.
    let (field, message) = invalid_field(&BASE.replace("op = \">=\"", "op = \"=>\""));
    assert_eq!(field, "terms[0].all[0].op");
    assert!(
        message.contains("=>") && message.contains(">="),
        "{message}"
    );

    // Unknown feature: named, with close names.
    match parse(&BASE.replace("feature = \"age_years\"", "feature = \"age\"")) {
        Err(PolicyError::UnknownFeature {
            field,
            department,
            name,
            close,
        }) => {
            assert_eq!(field, "terms[0].all[0].feature");
            assert_eq!(department, Department::CivilAffairs);
            assert_eq!(name, "age");
            assert!(close.contains(&"age_years"), "{close:?}");
        }
        other => panic!("expected UnknownFeature, got {other:?}"),
    }
    // A feature of another department.
    let e = parse(&BASE.replace("feature = \"living_alone\"", "feature = \"mmse_total\""))
        .expect_err("health's feature in civil's term");
    assert!(e.to_string().contains("mmse_total"), "{e}");

    // Cardinality with two other departments.
    let three = format!(
        "{BASE}\n[[terms]]\ndepartment = \"health\"\ncombine = \"and\"\nall = [ {{ feature = \"mmse_total\", op = \"<\", value = 24 }} ]\n"
    );
    parse(&three).expect("three departments in intersection mode");
    let (field, message) =
        invalid_field(&three.replace("mode = \"intersection\"", "mode = \"cardinality\""));
    assert_eq!(field, "mode");
    assert!(message.contains("exactly one"), "{message}");
    let card = parse(&BASE.replace("mode = \"intersection\"", "mode = \"cardinality\""))
        .expect("cardinality with one other department");
    assert_eq!(card.mode(), Mode::Cardinality);

    // Name too long, or with other characters.
    let long = "a".repeat(65);
    let (field, _) = invalid_field(&BASE.replace("aged-80-alone-dementia\"", &format!("{long}\"")));
    assert_eq!(field, "name");
    parse(&BASE.replace("aged-80-alone-dementia\"", &format!("{}\"", "a".repeat(64))))
        .expect("64 characters are allowed");
    let (field, _) = invalid_field(&BASE.replace("aged-80-alone-dementia\"", "Aged_80\""));
    assert_eq!(field, "name");

    // More: combine on the first term, missing combine, unknown combine, diagnoses where
    // the department holds none, a bad ICD-10 prefix, a window out of range, a bad legal
    // basis and mode, a single term, mixed condition keys, a missing value.
    let cases: [(String, &str); 12] = [
        (
            BASE.replace(
                "department = \"civil\"\n",
                "department = \"civil\"\ncombine = \"and\"\n",
            ),
            "terms[0].combine",
        ),
        (BASE.replace("combine = \"and\"\n", ""), "terms[1].combine"),
        (
            BASE.replace("combine = \"and\"", "combine = \"or\""),
            "terms[1].combine",
        ),
        (
            BASE.replace(
                "{ feature = \"living_alone\", op = \"=\", value = 1 }",
                "{ diagnosis = [\"F03\"], within_months = 12 }",
            ),
            "terms[0].all[1].diagnosis",
        ),
        (
            BASE.replace("\"G30\"", "\"痴呆\""),
            "terms[1].all[0].diagnosis[4]",
        ),
        (
            BASE.replace("within_months = 24", "within_months = 0"),
            "terms[1].all[0].within_months",
        ),
        (
            BASE.replace("within_months = 24 ", ""),
            "terms[1].all[0].within_months",
        ),
        (
            BASE.replace("\"public_interest\"", "\"because\""),
            "legal_basis",
        ),
        (BASE.replace("\"intersection\"", "\"union\""), "mode"),
        (
            BASE[..BASE
                .find("\n[[terms]]\ndepartment = \"insurance\"")
                .expect("second term")]
                .to_string(),
            "terms",
        ),
        (
            BASE.replace(
                "{ feature = \"living_alone\", op = \"=\", value = 1 }",
                "{ feature = \"living_alone\", known = true, value = 1 }",
            ),
            "terms[0].all[1]",
        ),
        (
            BASE.replace(
                "{ feature = \"living_alone\", op = \"=\", value = 1 }",
                "{ feature = \"living_alone\", op = \"=\" }",
            ),
            "terms[0].all[1].value",
        ),
    ];
    for (text, want) in &cases {
        let (field, message) = invalid_field(text);
        assert_eq!(&field, want, "{message}");
        assert!(!message.is_empty());
    }

    // Not TOML, wrong types, too big, and arbitrary bytes: errors, never panics.
    for text in [
        "",
        "name = ",
        "[[terms]\n",
        "name = 3",
        &BASE.replace("value = 80", "value = \"80\""),
        &BASE.replace("value = 80", "value = 80.5"),
        &BASE.replace("value = 80", "value = 99999999999999999999999"),
    ] {
        assert!(matches!(parse(text), Err(PolicyError::Toml(_))), "{text}");
    }
    let huge = format!("{BASE}#{}", "x".repeat(70_000));
    assert!(matches!(parse(&huge), Err(PolicyError::Invalid { .. })));
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..2_000 {
        let mut bytes = BASE.as_bytes().to_vec();
        for _ in 0..1 + round % 4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = usize::try_from(state % bytes.len() as u64).expect("index");
            bytes[at] = u8::try_from((state >> 32) % 128).expect("byte");
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse(text);
        }
    }
}

#[test]
fn the_id_ignores_formatting_and_follows_every_value() {
    let base = parse(BASE).expect("valid");
    // Reordered keys and terms' tables, condition order, comments, whitespace, a
    // differently spelled but equal ICD-10 prefix and a repeated condition.
    let reformatted = r#"
# the same policy, written differently
mode="intersection"
legal_basis   =   "public_interest"
receiver="civil"
title_en="Aged 80+, living alone, dementia diagnosed in the last 2 years"
title_zh="80岁以上独居且近两年有痴呆诊断"
name="aged-80-alone-dementia"

[[terms]]
all = [
  { value = 1, op = "=", feature = "living_alone" },
  { feature = "age_years", value = 80, op = ">=" },
  { feature = "living_alone", op = "=", value = 1 },
]
department="civil"

[[terms]]
all=[{within_months=24,diagnosis=["g30","F03","F02","F01","F00"]}]
combine="and"
department="insurance"
"#;
    let same = parse(reformatted).expect("valid");
    assert_eq!(same, base);
    assert_eq!(same.canonical_bytes(), base.canonical_bytes());
    assert_eq!(same.id(), base.id());

    let id = base.id();
    assert_eq!(id.to_hex().len(), 64);
    assert_eq!(id.to_string().parse::<PolicyId>().expect("hex"), id);
    assert!(matches!(
        "xyz".parse::<PolicyId>(),
        Err(PolicyError::BadId(_))
    ));

    let changes = [
        ("value = 80", "value = 81"),
        ("op = \">=\"", "op = \">\""),
        ("within_months = 24", "within_months = 25"),
        ("\"G30\"", "\"G31\""),
        ("\"G30\"", "\"G30.1\""),
        ("value = 1 }", "value = 0 }"),
        ("combine = \"and\"", "combine = \"and_not\""),
        ("\"public_interest\"", "\"consent\""),
        ("\"intersection\"", "\"cardinality\""),
        (
            "name = \"aged-80-alone-dementia\"",
            "name = \"aged-80-alone-dementia-2\"",
        ),
        ("dementia diagnosed", "dementia diagnosed (F00-F03, G30)"),
        ("近两年", "近2年"),
    ];
    let mut ids = BTreeSet::from([id]);
    for (from, to) in changes {
        let text = BASE.replacen(from, to, 1);
        assert_ne!(text, BASE, "{from}");
        let changed = parse(&text).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
        assert!(ids.insert(changed.id()), "{from} -> {to} kept the id");
    }
}

#[test]
fn shipped_policies_parse() {
    let mut names = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for text in SHIPPED {
        let spec = parse(text).unwrap_or_else(|e| panic!("shipped policy: {e}"));
        assert!(names.insert(spec.name().to_string()));
        assert!(ids.insert(spec.id()));
        assert_eq!(spec.receiver_term().department(), spec.receiver());
        assert!(spec.other_terms().count() >= 1);
    }
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "aged-80-alone-dementia",
            "aged-80-alone-fell-count",
            "care-grade-without-ltc",
            "centenarians",
            "deceased-ltc-insured"
        ]
    );
    let file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/aged-80-alone-dementia.toml"),
    )
    .expect("policy file");
    assert_eq!(
        parse(&file).expect("file").id(),
        parse(BASE).expect("base").id(),
        "the shipped file is the policy of the brief"
    );
}

// --- on a synthetic store ---------------------------------------------------------------

/// The rows of a truth file by column name.
fn truth(dir: &Path, department: Department) -> Vec<BTreeMap<String, String>> {
    let path = dir
        .join("truth")
        .join(format!("{}.csv", department.short_name()));
    let mut r = csv::Reader::from_path(path).expect("truth file");
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn subject(row: &BTreeMap<String, String>) -> SubjectPseudonym {
    row["subject"].parse().expect("pseudonym")
}

fn day(text: &str) -> (i64, i64, i64) {
    let mut parts = text
        .split('-')
        .map(|p| p.parse::<i64>().expect("date part"));
    let mut next = || parts.next().expect("date part");
    (next(), next(), next())
}

/// Whole years from `birth` to `on`, by hand (a 29 February birthday on 1 March).
fn age(birth: (i64, i64, i64), on: (i64, i64, i64)) -> i64 {
    let mut years = on.0 - birth.0;
    if (on.1, on.2) < (birth.1, birth.2) {
        years -= 1;
    }
    years
}

/// Whole months from `from` to `on`, counted like an age.
fn months(from: (i64, i64, i64), on: (i64, i64, i64)) -> i64 {
    (on.0 - from.0) * 12 + on.1 - from.1 - i64::from(on.2 < from.2)
}

fn as_of() -> (i64, i64, i64) {
    (
        i64::from(AS_OF.year),
        i64::from(AS_OF.month),
        i64::from(AS_OF.day),
    )
}

/// The latest row (by `date_column`, on or before AS_OF) of each subject.
fn latest(
    rows: &[BTreeMap<String, String>],
    date_column: &str,
) -> BTreeMap<SubjectPseudonym, BTreeMap<String, String>> {
    let mut out: BTreeMap<SubjectPseudonym, BTreeMap<String, String>> = BTreeMap::new();
    for row in rows {
        let d = day(&row[date_column]);
        if d > as_of() {
            continue;
        }
        let s = subject(row);
        let replace = out.get(&s).is_none_or(|kept| day(&kept[date_column]) < d);
        if replace {
            out.insert(s, row.clone());
        }
    }
    out
}

struct Expected {
    civil_80_alone: BTreeSet<SubjectPseudonym>,
    civil_100: BTreeSet<SubjectPseudonym>,
    civil_grade_2: BTreeSet<SubjectPseudonym>,
    insurance_dementia_24m: BTreeSet<SubjectPseudonym>,
    insurance_ltc: BTreeSet<SubjectPseudonym>,
    health_checkup_12m: BTreeSet<SubjectPseudonym>,
    health_fell_12m: BTreeSet<SubjectPseudonym>,
    civil_deceased: BTreeSet<SubjectPseudonym>,
}

fn expected(dir: &Path) -> Expected {
    let civil = latest(&truth(dir, Department::CivilAffairs), "assessed_on");
    let int = |row: &BTreeMap<String, String>, c: &str| row[c].parse::<i64>().ok();
    let civil_where = |keep: &dyn Fn(&BTreeMap<String, String>) -> bool| {
        civil
            .iter()
            .filter(|(_, r)| keep(r))
            .map(|(s, _)| *s)
            .collect::<BTreeSet<_>>()
    };
    let civil_80_alone = civil_where(&|r| {
        age(day(&r["birth_date"]), as_of()) >= 80 && int(r, "living_alone") == Some(1)
    });
    let civil_100 = civil_where(&|r| age(day(&r["birth_date"]), as_of()) >= 100);
    let civil_grade_2 = civil_where(&|r| int(r, "care_grade").is_some_and(|g| g >= 2));
    // The death register: a date of death on or before AS_OF on the latest assessment.
    let civil_deceased =
        civil_where(&|r| !r["death_date"].is_empty() && day(&r["death_date"]) <= as_of());

    let claims = truth(dir, Department::MedicalInsurance);
    let dementia = ["F00", "F01", "F02", "F03", "G30"];
    let insurance_dementia_24m = claims
        .iter()
        .filter(|r| {
            let d = day(&r["admit_date"]);
            d <= as_of()
                && months(d, as_of()) < 24
                && r["diagnoses"].split(';').any(|code| {
                    dementia
                        .iter()
                        .any(|p| code == *p || code.starts_with(&format!("{p}.")))
                })
        })
        .map(subject)
        .collect();
    let insurance_ltc = latest(&claims, "admit_date")
        .into_iter()
        .filter(|(s, r)| {
            // Several claims on the latest day: the largest value.
            let d = &r["admit_date"];
            claims
                .iter()
                .filter(|c| subject(c) == *s && &c["admit_date"] == d)
                .any(|c| int(c, "ltc_insured") == Some(1))
        })
        .map(|(s, _)| s)
        .collect();
    let health = latest(&truth(dir, Department::Health), "exam_date");
    // The latest check-up's falls in the 12 months before it.
    let health_fell_12m = health
        .iter()
        .filter(|(_, r)| int(r, "falls_12m").is_some_and(|n| n >= 1))
        .map(|(s, _)| *s)
        .collect();
    let health_checkup_12m = health
        .into_iter()
        .filter(|(_, r)| months(day(&r["exam_date"]), as_of()) <= 11)
        .map(|(s, _)| s)
        .collect();
    Expected {
        civil_80_alone,
        civil_100,
        civil_grade_2,
        insurance_dementia_24m,
        insurance_ltc,
        health_checkup_12m,
        health_fell_12m,
        civil_deceased,
    }
}

async fn term_set(store: &Store, spec: &PolicySpec, index: usize) -> BTreeSet<SubjectPseudonym> {
    let term = &spec.terms()[index];
    let got = evaluate_term(store, term.department(), term, AS_OF)
        .await
        .expect("evaluate term");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
    // Pages of 1,000 (and a page size that does not divide the count) give the same set.
    for page in [1_000, 999] {
        let paged = evaluate_term_in_pages(store, term.department(), term, AS_OF, page)
            .await
            .expect("evaluate term in pages");
        assert_eq!(paged, got, "page size {page}");
    }
    got.into_iter().collect()
}

fn shipped(name: &str) -> PolicySpec {
    SHIPPED
        .iter()
        .map(|t| parse(t).expect("shipped"))
        .find(|s| s.name() == name)
        .expect("shipped policy")
}

async fn on_synthetic_data(s: &TestStore) {
    let started = std::time::Instant::now();
    let store = &s.store;
    let dir = tempfile::tempdir().expect("tempdir");
    common::synth(dir.path(), PEOPLE, SEED, DIRT);
    common::import_all(store, dir.path(), &synthetic_secrets(SEED)).await;
    let want = expected(dir.path());
    eprintln!("synthesised and imported in {:?}", started.elapsed());

    // Paging lists every subject once, in order, across page boundaries.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = subjects_page(store, Department::CivilAffairs, after.as_ref(), 1_000)
            .await
            .expect("page");
        all.extend_from_slice(&page);
        match page.last() {
            Some(last) if page.len() == 1_000 => after = Some(*last),
            _ => break,
        }
    }
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    let count = store
        .count_subjects(Department::CivilAffairs)
        .await
        .expect("count");
    assert_eq!(i64::try_from(all.len()).expect("len"), count);
    assert!(all.len() > 3_000, "several pages of 1,000");

    let stores = [
        (Department::CivilAffairs, store),
        (Department::Health, store),
        (Department::MedicalInsurance, store),
    ];
    let mut counts = Vec::new();
    let evaluating = std::time::Instant::now();

    // aged-80-alone-dementia: a feature comparison and an attribute (civil), a diagnosis
    // window (insurance).
    let spec = shipped("aged-80-alone-dementia");
    assert_eq!(term_set(store, &spec, 0).await, want.civil_80_alone);
    assert_eq!(term_set(store, &spec, 1).await, want.insurance_dementia_24m);
    let plain = evaluate_plain(&spec, &stores, AS_OF).await.expect("plain");
    let by_hand: BTreeSet<_> = want
        .civil_80_alone
        .intersection(&want.insurance_dementia_24m)
        .copied()
        .collect();
    assert_eq!(plain, by_hand);
    counts.push((spec.name().to_string(), plain.len()));

    // centenarians: a feature comparison on each side.
    let spec = shipped("centenarians");
    assert_eq!(term_set(store, &spec, 0).await, want.civil_100);
    assert_eq!(term_set(store, &spec, 1).await, want.health_checkup_12m);
    let plain = evaluate_plain(&spec, &stores, AS_OF).await.expect("plain");
    let by_hand: BTreeSet<_> = want
        .civil_100
        .intersection(&want.health_checkup_12m)
        .copied()
        .collect();
    assert_eq!(plain, by_hand);
    counts.push((spec.name().to_string(), plain.len()));

    // care-grade-without-ltc: attributes on each side, combined by and_not.
    let spec = shipped("care-grade-without-ltc");
    assert_eq!(
        spec.other_terms().next().map(|(c, _)| c),
        Some(Combine::AndNot)
    );
    assert_eq!(term_set(store, &spec, 0).await, want.civil_grade_2);
    assert_eq!(term_set(store, &spec, 1).await, want.insurance_ltc);
    let plain = evaluate_plain(&spec, &stores, AS_OF).await.expect("plain");
    let by_hand: BTreeSet<_> = want
        .civil_grade_2
        .difference(&want.insurance_ltc)
        .copied()
        .collect();
    assert_eq!(plain, by_hand);
    counts.push((spec.name().to_string(), plain.len()));

    // aged-80-alone-fell-count: cardinality mode (the receiver learns only this set's
    // size); the health term reads the latest check-up's falls.
    let spec = shipped("aged-80-alone-fell-count");
    assert_eq!(spec.mode(), Mode::Cardinality);
    assert_eq!(term_set(store, &spec, 0).await, want.civil_80_alone);
    assert_eq!(term_set(store, &spec, 1).await, want.health_fell_12m);
    let plain = evaluate_plain(&spec, &stores, AS_OF).await.expect("plain");
    let by_hand: BTreeSet<_> = want
        .civil_80_alone
        .intersection(&want.health_fell_12m)
        .copied()
        .collect();
    assert_eq!(plain, by_hand);
    counts.push((spec.name().to_string(), plain.len()));

    // deceased-ltc-insured: received by medical insurance; civil affairs' term reads a
    // date (the death register) as months since it, selected by `known = true`.
    let spec = shipped("deceased-ltc-insured");
    assert_eq!(spec.receiver(), Department::MedicalInsurance);
    assert_eq!(term_set(store, &spec, 0).await, want.insurance_ltc);
    assert_eq!(term_set(store, &spec, 1).await, want.civil_deceased);
    let share = want.civil_deceased.len() as f64 / PEOPLE as f64;
    assert!(
        (0.005..0.03).contains(&share),
        "{share}: about 1.5 % of the generated people are recorded as deceased"
    );
    let plain = evaluate_plain(&spec, &stores, AS_OF).await.expect("plain");
    let by_hand: BTreeSet<_> = want
        .insurance_ltc
        .intersection(&want.civil_deceased)
        .copied()
        .collect();
    assert_eq!(plain, by_hand);
    counts.push((spec.name().to_string(), plain.len()));
    // Before every death in the data, the register holds no one.
    let term = &spec.terms()[1];
    let before = Date::new(2025, 6, 1).expect("date");
    assert!(
        evaluate_term(store, Department::CivilAffairs, term, before)
            .await
            .expect("before the deaths")
            .is_empty()
    );

    eprintln!(
        "shipped policies on {PEOPLE} synthetic people (seed {SEED}): {counts:?}; \
         each term evaluated 4 times in {:?}",
        evaluating.elapsed()
    );
    for (name, n) in &counts {
        assert!(*n > 0, "{name}: empty on the synthetic data");
    }

    // A date before everything: nobody has a claim in the window.
    let spec = shipped("aged-80-alone-dementia");
    let early = Date::new(2000, 1, 1).expect("date");
    let term = &spec.terms()[1];
    assert!(
        evaluate_term(store, Department::MedicalInsurance, term, early)
            .await
            .expect("early")
            .is_empty()
    );

    // Misuse: a term evaluated as another department's, a missing store.
    let e = evaluate_term(store, Department::Health, term, AS_OF)
        .await
        .expect_err("wrong department");
    assert!(matches!(e, PolicyError::Evaluation(_)), "{e}");
    let e = evaluate_plain(&spec, &stores[..1], AS_OF)
        .await
        .expect_err("no insurance store");
    assert!(
        e.to_string().contains("medical insurance") || e.to_string().contains("insurance"),
        "{e}"
    );
}

both_stores!(
    policies_on_synthetic_data_sqlite,
    policies_on_synthetic_data_postgres,
    on_synthetic_data
);

/// Timing at scale (not run by default): `WEINONG_POLICY_BENCH_PEOPLE=100000 cargo test
/// --release -p weinong-connectors --test policy -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing only: synthesises and imports many people"]
async fn evaluation_timing_at_scale() {
    let people: u64 = std::env::var("WEINONG_POLICY_BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let s = common::sqlite_store().await;
    let store = &s.store;
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    common::synth(dir.path(), people, SEED, 0.0);
    common::import_all(store, dir.path(), &synthetic_secrets(SEED)).await;
    eprintln!(
        "{people} people synthesised and imported in {:?}",
        started.elapsed()
    );
    let stores = [
        (Department::CivilAffairs, store),
        (Department::Health, store),
        (Department::MedicalInsurance, store),
    ];
    for text in SHIPPED {
        let spec = parse(text).expect("shipped");
        for term in spec.terms() {
            let t = std::time::Instant::now();
            let n = evaluate_term(store, term.department(), term, AS_OF)
                .await
                .expect("term")
                .len();
            eprintln!(
                "{}: {} term: {n} subjects in {:?}",
                spec.name(),
                term.department(),
                t.elapsed()
            );
        }
        let n = evaluate_plain(&spec, &stores, AS_OF)
            .await
            .expect("plain")
            .len();
        eprintln!("{}: {n}", spec.name());
    }
    s.finish().await;
}
