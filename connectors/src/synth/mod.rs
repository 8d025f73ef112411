//! The seeded generator of synthetic Shanghai data for all three departments, with
//! controllable dirt and the clean truth.
//!
//! Output directory:
//!
//! | file | content |
//! |---|---|
//! | `civil.csv` | civil affairs export: **GBK**, Chinese headers (two need the mapping) |
//! | `civil.mapping.toml` | its column mapping |
//! | `health.csv` | health check-ups: UTF-8, canonical headers |
//! | `insurance.jsonl` | insurance claims: JSON Lines |
//! | `truth/<department>.csv` | what cleaning must store: `subject` (pseudonym hex) + canonical fields |
//! | `dirt.json` | injected problems per department and rule, rejected rows per reason |
//! | `secrets.json` | the synthetic node secrets (derived from the seed; test data only) |
//!
//! Deterministic per (people, seed, dirt): every person's rows depend only on the seed and
//! the person's index. People are generated in parallel chunks and written in order, so
//! memory stays flat at millions of people.

mod dirt;
mod people;
mod records;
mod rng;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use weinong_keys::{DataKey, Pepper, PseudonymKey, ResidentId, sm3_digest};

pub use dirt::Tallies;
pub use people::AS_OF;

use crate::clean::{Rule, Value};
use crate::error::ConnectorError;
use crate::import::Secrets;
use crate::limits::{SYNTH_CHUNK_PEOPLE, SYNTH_PEOPLE_MAX};
use crate::schema::{Department, TableSpec};
use rng::R;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Number of people.
    pub people: u64,
    /// Seed.
    pub seed: u64,
    /// Probability of each dirt decision (0 = clean files).
    pub dirt: f64,
    /// Output directory (created).
    pub out: PathBuf,
}

/// Injected problems of one department, as written to `dirt.json`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct DepartmentDirt {
    /// Rows in the dirty file.
    pub rows_dirty: u64,
    /// Rows in the truth file.
    pub rows_truth: u64,
    /// Injected problems per rule name (every rule listed, zeros included).
    pub rules: BTreeMap<String, u64>,
    /// Rejected rows per `rule:field`.
    pub rejected_by_reason: BTreeMap<String, u64>,
}

/// What the generator wrote.
#[derive(Clone, Debug, Serialize)]
pub struct SynthSummary {
    /// People generated.
    pub people: u64,
    /// Seed.
    pub seed: u64,
    /// Dirt rate.
    pub dirt: f64,
    /// Per department.
    pub departments: BTreeMap<String, DepartmentDirt>,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
}

impl SynthSummary {
    /// Rows written to the dirty files, all departments.
    pub fn rows_dirty(&self) -> u64 {
        self.departments.values().map(|d| d.rows_dirty).sum()
    }
}

/// The synthetic node secrets for a seed (test data only: derived, not random).
pub fn synthetic_secrets(seed: u64) -> Secrets {
    let mut p = b"weinong/synth/pepper\0".to_vec();
    p.extend_from_slice(&seed.to_le_bytes());
    let mut k = b"weinong/synth/data-key\0".to_vec();
    k.extend_from_slice(&seed.to_le_bytes());
    let key = sm3_digest(&k);
    let mut key16 = [0u8; 16];
    key16.copy_from_slice(&key[..16]);
    Secrets {
        data_key: DataKey::from_bytes(key16),
        pepper: Pepper::from_bytes(sm3_digest(&p)),
    }
}

/// Input file name of a department in a synth directory.
pub fn input_file(department: Department) -> &'static str {
    match department {
        Department::CivilAffairs => "civil.csv",
        Department::Health => "health.csv",
        Department::MedicalInsurance => "insurance.jsonl",
    }
}

/// Mapping file of a department in a synth directory, if it needs one.
pub fn mapping_file(department: Department) -> Option<&'static str> {
    (department == Department::CivilAffairs).then_some("civil.mapping.toml")
}

/// Header names of the civil export that differ from the Chinese labels.
const CIVIL_RENAMED: [(&str, &str); 2] = [("id_number", "公民身份号码"), ("name", "老人姓名")];

struct Writers {
    dirty: [BufWriter<File>; 3],
    truth: [csv::Writer<BufWriter<File>>; 3],
}

fn create(path: &Path) -> Result<BufWriter<File>, ConnectorError> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).map_err(|e| ConnectorError::io(path, e))?,
    ))
}

/// Generates the data set described in the module docs.
pub fn synthesize(cfg: &SynthConfig) -> Result<SynthSummary, ConnectorError> {
    if cfg.people == 0 || cfg.people > SYNTH_PEOPLE_MAX {
        return Err(ConnectorError::Invalid(format!(
            "--people must be 1..={SYNTH_PEOPLE_MAX}"
        )));
    }
    if !(0.0..=0.5).contains(&cfg.dirt) {
        return Err(ConnectorError::Invalid(
            "--dirt must be between 0 and 0.5".into(),
        ));
    }
    let started = Instant::now();
    let secrets = synthetic_secrets(cfg.seed);
    let truth_dir = cfg.out.join("truth");
    fs::create_dir_all(&truth_dir).map_err(|e| ConnectorError::io(&truth_dir, e))?;
    let n = usize::try_from(cfg.people)
        .map_err(|_| ConnectorError::Invalid("--people too large".into()))?;

    // Pass 1 (parallel): demographics. Pass 2 (in order): unique ID sequence numbers.
    let mut drafts: Vec<people::Draft> = (0..cfg.people)
        .into_par_iter()
        .map(|i| people::draft(&mut R::new(cfg.seed, 1, i)))
        .collect();
    let seqs = people::allocate(&mut drafts)?;

    let mut w = open_writers(cfg)?;
    let mut tallies: [Tallies; 3] = Default::default();
    for start in (0..n).step_by(SYNTH_CHUNK_PEOPLE) {
        let end = (start + SYNTH_CHUNK_PEOPLE).min(n);
        let chunk: Vec<[dirt::Emitted; 3]> = (start..end)
            .into_par_iter()
            .map(|i| person(cfg, u64::try_from(i).unwrap_or(0), &drafts[i], seqs[i]))
            .collect();
        write_chunk(&mut w, &secrets, chunk, &mut tallies)?;
    }
    for (d, t) in w.dirty.iter_mut().zip(w.truth.iter_mut()) {
        d.flush().map_err(|e| ConnectorError::io(&cfg.out, e))?;
        t.flush().map_err(|e| ConnectorError::io(&cfg.out, e))?;
    }
    let departments = Department::ALL
        .iter()
        .zip(&tallies)
        .map(|(d, t)| {
            let rules = Rule::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), t.counts[r.index()]))
                .collect();
            let dd = DepartmentDirt {
                rows_dirty: t.rows_dirty,
                rows_truth: t.rows_truth,
                rules,
                rejected_by_reason: t.rejected.clone(),
            };
            (d.short_name().to_string(), dd)
        })
        .collect();
    let summary = SynthSummary {
        people: cfg.people,
        seed: cfg.seed,
        dirt: cfg.dirt,
        departments,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    write_json(&cfg.out.join("dirt.json"), &summary)?;
    let secrets_json = serde_json::json!({
        "note": "synthetic test secrets derived from the seed; never use for real data",
        "data_key": hex::encode(secrets.data_key.expose_bytes()),
        "pepper": secrets.pepper.to_hex().as_str(),
    });
    write_json(&cfg.out.join("secrets.json"), &secrets_json)?;
    Ok(summary)
}

fn write_json(path: &Path, v: &impl Serialize) -> Result<(), ConnectorError> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| ConnectorError::Invalid(e.to_string()))?;
    fs::write(path, text).map_err(|e| ConnectorError::io(path, e))
}

fn open_writers(cfg: &SynthConfig) -> Result<Writers, ConnectorError> {
    let mut dirty = Vec::with_capacity(3);
    let mut truth = Vec::with_capacity(3);
    for d in Department::ALL {
        let spec = TableSpec::of(d);
        let mut f = create(&cfg.out.join(input_file(d)))?;
        match d {
            Department::CivilAffairs => {
                let header: Vec<&str> = spec
                    .fields
                    .iter()
                    .map(|f| {
                        CIVIL_RENAMED
                            .iter()
                            .find(|(n, _)| *n == f.name)
                            .map_or(f.label_zh, |(_, h)| *h)
                    })
                    .collect();
                let line = csv_line(&header);
                f.write_all(&gbk(&line))
                    .map_err(|e| ConnectorError::io(&cfg.out, e))?;
                let mut mapping = String::from(
                    "# Column mapping for the synthetic civil-affairs export (GBK CSV).\n",
                );
                mapping.push_str("department = \"civil\"\n\n[columns]\n");
                for (n, h) in CIVIL_RENAMED {
                    mapping.push_str(&format!("{n} = \"{h}\"\n"));
                }
                let p = cfg.out.join("civil.mapping.toml");
                fs::write(&p, mapping).map_err(|e| ConnectorError::io(&p, e))?;
            }
            Department::Health => {
                let header: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
                f.write_all(csv_line(&header).as_bytes())
                    .map_err(|e| ConnectorError::io(&cfg.out, e))?;
            }
            Department::MedicalInsurance => {}
        }
        dirty.push(f);
        let tp = cfg
            .out
            .join("truth")
            .join(format!("{}.csv", d.short_name()));
        let mut t = csv::WriterBuilder::new().from_writer(create(&tp)?);
        let header: Vec<&str> = std::iter::once("subject")
            .chain(spec.fields.iter().map(|f| f.name))
            .collect();
        t.write_record(&header)
            .map_err(|e| ConnectorError::Invalid(e.to_string()))?;
        truth.push(t);
    }
    let dirty: [BufWriter<File>; 3] = dirty
        .try_into()
        .map_err(|_| ConnectorError::Invalid("writers".into()))?;
    let truth = truth
        .try_into()
        .map_err(|_| ConnectorError::Invalid("writers".into()))?;
    Ok(Writers { dirty, truth })
}

fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _infallible = w.write_record(fields.iter().map(AsRef::as_ref));
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

fn person(cfg: &SynthConfig, i: u64, d: &people::Draft, seq: u16) -> [dirt::Emitted; 3] {
    let mut r = R::new(cfg.seed, 2, i);
    let group_offset = (u64::from(d.district) * 7919
        + u64::try_from(d.birth.to_days() + 100_000).unwrap_or(0))
        % 576;
    let who = people::identity(&mut r, d, seq, group_offset);
    let p = records::profile(&mut r, who);
    let mut civil = records::civil(&mut r, &p);
    records::record_death(&mut R::new(cfg.seed, 4, i), &p, &mut civil);
    let health = records::health(&mut r, &p);
    let insurance = records::insurance(&mut r, &p, i);
    let mut dr = R::new(cfg.seed, 3, i);
    let mut out: [dirt::Emitted; 3] = Default::default();
    let specs = records::specs();
    dirt::emit(specs[0], civil, &mut dr, cfg.dirt, &mut out[0]);
    dirt::emit(specs[1], health, &mut dr, cfg.dirt, &mut out[1]);
    dirt::emit(specs[2], insurance, &mut dr, cfg.dirt, &mut out[2]);
    for (spec, emitted) in specs.iter().zip(&mut out) {
        dirt::identity_as_sealed(spec, emitted);
    }
    out
}

fn write_chunk(
    w: &mut Writers,
    secrets: &Secrets,
    chunk: Vec<[dirt::Emitted; 3]>,
    tallies: &mut [Tallies; 3],
) -> Result<(), ConnectorError> {
    let specs = records::specs();
    // Pseudonyms for the truth files are computed in parallel per chunk, once per person
    // (an OPRF evaluation costs more than writing the person's rows).
    let key = PseudonymKey::new(&secrets.pepper);
    let truth_lines: Vec<[Vec<Vec<String>>; 3]> = chunk
        .par_iter()
        .map(|emitted| {
            let mut memo = TruthPseudonym::default();
            let mut out: [Vec<Vec<String>>; 3] = Default::default();
            for k in 0..3 {
                out[k] = emitted[k]
                    .truth
                    .iter()
                    .map(|row| truth_record(specs[k], &key, &mut memo, row))
                    .collect();
            }
            out
        })
        .collect();
    // One CSV writer per file and chunk (a writer per row costs more than the row).
    let mut civil_w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(1 << 20));
    let mut health_w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(1 << 20));
    let csv_err = |e: csv::Error| ConnectorError::Invalid(format!("synth CSV: {e}"));
    let mut jsonl = String::new();
    for (emitted, truths) in chunk.iter().zip(truth_lines) {
        for k in 0..3 {
            tallies[k].merge(&emitted[k].tallies);
            for rec in &truths[k] {
                w.truth[k]
                    .write_record(rec)
                    .map_err(|e| ConnectorError::Invalid(e.to_string()))?;
            }
        }
        for row in &emitted[0].dirty {
            civil_w.write_record(row).map_err(csv_err)?;
        }
        for row in &emitted[1].dirty {
            health_w.write_record(row).map_err(csv_err)?;
        }
        for row in &emitted[2].dirty {
            jsonl.push_str(&json_line(specs[2], row));
            jsonl.push('\n');
        }
    }
    let io = |e| ConnectorError::Io {
        path: "synth output".into(),
        source: e,
    };
    let civil_bytes = civil_w
        .into_inner()
        .map_err(|e| ConnectorError::Invalid(format!("synth CSV: {e}")))?;
    let health_bytes = health_w
        .into_inner()
        .map_err(|e| ConnectorError::Invalid(format!("synth CSV: {e}")))?;
    // Rendered from UTF-8 strings, so the bytes are UTF-8.
    let civil_text =
        String::from_utf8(civil_bytes).map_err(|e| ConnectorError::Invalid(e.to_string()))?;
    w.dirty[0].write_all(&gbk(&civil_text)).map_err(io)?;
    w.dirty[1].write_all(&health_bytes).map_err(io)?;
    w.dirty[2].write_all(jsonl.as_bytes()).map_err(io)?;
    Ok(())
}

/// The last ID number of a person's truth rows and its pseudonym (hex).
#[derive(Default)]
struct TruthPseudonym(Option<(String, String)>);

fn truth_record(
    spec: &TableSpec,
    key: &PseudonymKey,
    memo: &mut TruthPseudonym,
    row: &[Value],
) -> Vec<String> {
    let id_idx = spec.index_of("id_number").unwrap_or(0);
    let subject = match row.get(id_idx) {
        Some(Value::Text(id)) => match &memo.0 {
            Some((last, subject)) if last == id => subject.clone(),
            _ => {
                let subject = ResidentId::parse(id)
                    .map(|id| key.derive(&id).to_hex())
                    .unwrap_or_default();
                memo.0 = Some((id.clone(), subject.clone()));
                subject
            }
        },
        _ => String::new(),
    };
    std::iter::once(subject)
        .chain(row.iter().map(Value::render))
        .collect()
}

/// One JSON Lines record: numbers as JSON numbers where the canonical field is numeric and
/// the text is a plain integer; everything else as strings; empty values as null.
fn json_line(spec: &TableSpec, row: &[String]) -> String {
    let mut m = serde_json::Map::with_capacity(row.len());
    for (f, v) in spec.fields.iter().zip(row) {
        let value = if v.is_empty() {
            serde_json::Value::Null
        } else if matches!(f.kind, crate::schema::FieldKind::Int { .. })
            && let Ok(n) = v.parse::<i64>()
        {
            serde_json::Value::from(n)
        } else {
            serde_json::Value::String(v.clone())
        };
        m.insert(f.name.to_string(), value);
    }
    serde_json::Value::Object(m).to_string()
}
