//! Quality reports: counts per cleaning rule (per field), examples of each problem (with
//! identifying values masked), rejected rows by reason, completeness per field. Written as
//! JSON (stored with the import job) and as an HTML page (Chinese first, English second).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::clean::Rule;
use crate::identity::mask;
use crate::limits::EXAMPLES_PER_RULE;
use crate::schema::{FieldKind, TableSpec};

/// One example of a problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// 1-based line (CSV, JSON Lines) or row (XLSX) in the source.
    pub line: u64,
    /// The field (empty for row-level rules).
    pub field: String,
    /// The raw value, masked when identifying.
    pub value: String,
}

/// Counts for one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// Rule name (see `Rule::as_str`).
    pub rule: String,
    /// `rows` or `values`.
    pub counts: String,
    /// Total.
    pub count: u64,
    /// Per field.
    pub by_field: BTreeMap<String, u64>,
    /// First examples.
    pub examples: Vec<Example>,
}

/// Completeness of one field over the stored rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    /// Field.
    pub field: String,
    /// Stored rows with a value.
    pub present: u64,
    /// `present / rows_stored` (1.0 when nothing was stored).
    pub ratio: f64,
}

/// The quality report of one import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Report format version.
    pub version: u32,
    /// Department.
    pub department: String,
    /// Source file.
    pub source: String,
    /// Format.
    pub format: String,
    /// Detected text encoding.
    pub encoding: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows stored.
    pub rows_stored: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rows dropped as duplicates.
    pub rows_duplicate: u64,
    /// Counts per rule, in rule order.
    pub rules: Vec<RuleCount>,
    /// Rejected rows by reason (`rule:field`).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Completeness per field, in schema order.
    pub completeness: Vec<Completeness>,
    /// Wall time of the import, milliseconds.
    pub duration_ms: u64,
    /// Where the time went (absent in reports stored before it was recorded).
    #[serde(default)]
    pub stages: StageTimes,
}

/// Time per stage of an import, milliseconds summed over its chunks. Reading, cleaning and
/// sealing run on the import's worker while the database writes earlier batches, so the
/// stages overlap and may add up to more than `duration_ms`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTimes {
    /// Opening the source: reading the file, decoding its text, resolving columns.
    pub open_ms: u64,
    /// Parsing rows into fields.
    pub read_ms: u64,
    /// Cleaning rows (in parallel) and the order-dependent duplicate rules.
    pub clean_ms: u64,
    /// Sealing new subjects' identities (in parallel).
    pub seal_ms: u64,
    /// Turning rows into statement arguments or COPY text (in parallel).
    pub encode_ms: u64,
    /// Database statements, until the last batch is written.
    pub write_ms: u64,
    /// The writer waiting for the worker's next batch.
    pub wait_ms: u64,
    /// Building the indexes of tables that were empty (SQLite bulk load), after the rows.
    #[serde(default)]
    pub index_ms: u64,
    /// Writing the job record and committing.
    pub commit_ms: u64,
}

impl QualityReport {
    /// The count of one rule.
    pub fn count(&self, rule: Rule) -> u64 {
        self.rules
            .iter()
            .find(|r| r.rule == rule.as_str())
            .map_or(0, |r| r.count)
    }

    /// Counts of all rules by name.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.rules
            .iter()
            .map(|r| (r.rule.clone(), r.count))
            .collect()
    }
}

/// Running counts while an import proceeds.
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    pub rows_read: u64,
    pub rows_stored: u64,
    pub rows_rejected: u64,
    pub rows_duplicate: u64,
    counts: [u64; Rule::ALL.len()],
    by_field: Vec<[u64; Rule::ALL.len()]>,
    examples: Vec<Vec<Example>>,
    rejected: BTreeMap<String, u64>,
    present: Vec<u64>,
    pub stages: StageTimes,
}

impl Tally {
    pub(crate) fn new(spec: &TableSpec) -> Tally {
        Tally {
            rows_read: 0,
            rows_stored: 0,
            rows_rejected: 0,
            rows_duplicate: 0,
            counts: [0; Rule::ALL.len()],
            by_field: vec![[0; Rule::ALL.len()]; spec.fields.len()],
            examples: vec![Vec::new(); Rule::ALL.len()],
            rejected: BTreeMap::new(),
            present: vec![0; spec.fields.len()],
            stages: StageTimes::default(),
        }
    }

    /// Counts `rule` (on `field`, if any), keeping an example from `raw`.
    pub(crate) fn add(
        &mut self,
        spec: &TableSpec,
        rule: Rule,
        field: Option<u16>,
        line: u64,
        raw: &(impl crate::source::Fields + ?Sized),
    ) {
        let r = rule.index();
        self.counts[r] += 1;
        let fi = field.map(usize::from);
        if let Some(slot) = fi.and_then(|i| self.by_field.get_mut(i)) {
            slot[r] += 1;
        }
        if self.examples[r].len() < EXAMPLES_PER_RULE {
            let (name, value) = match fi.and_then(|i| spec.fields.get(i).map(|f| (i, f))) {
                Some((i, f)) => {
                    let v = raw.field(i).trim();
                    let shown = if f.kind.is_identifying() {
                        mask(v, f.kind == FieldKind::IdNumber)
                    } else {
                        v.to_string()
                    };
                    (f.name.to_string(), shown)
                }
                None => (String::new(), String::new()),
            };
            self.examples[r].push(Example {
                line,
                field: name,
                value,
            });
        }
    }

    pub(crate) fn reject(
        &mut self,
        spec: &TableSpec,
        rule: Rule,
        field: u16,
        line: u64,
        raw: &(impl crate::source::Fields + ?Sized),
    ) {
        self.rows_rejected += 1;
        let name = spec.fields.get(usize::from(field)).map_or("", |f| f.name);
        *self
            .rejected
            .entry(format!("{}:{name}", rule.as_str()))
            .or_insert(0) += 1;
        self.add(spec, rule, Some(field), line, raw);
    }

    pub(crate) fn present(&mut self, field: usize) {
        if let Some(p) = self.present.get_mut(field) {
            *p += 1;
        }
    }

    pub(crate) fn into_report(
        self,
        spec: &TableSpec,
        info: &crate::source::SourceInfo,
        duration_ms: u64,
    ) -> QualityReport {
        let rules = Rule::ALL
            .iter()
            .map(|&rule| {
                let r = rule.index();
                let by_field = spec
                    .fields
                    .iter()
                    .zip(&self.by_field)
                    .filter(|(_, c)| c[r] > 0)
                    .map(|(f, c)| (f.name.to_string(), c[r]))
                    .collect();
                RuleCount {
                    rule: rule.as_str().to_string(),
                    counts: rule.counts().to_string(),
                    count: self.counts[r],
                    by_field,
                    examples: self.examples[r].clone(),
                }
            })
            .collect();
        let completeness = spec
            .fields
            .iter()
            .zip(&self.present)
            .map(|(f, &present)| Completeness {
                field: f.name.to_string(),
                present,
                ratio: if self.rows_stored == 0 {
                    1.0
                } else {
                    present as f64 / self.rows_stored as f64
                },
            })
            .collect();
        QualityReport {
            version: 1,
            department: spec.department.short_name().to_string(),
            source: info.path.clone(),
            format: info.format.as_str().to_string(),
            encoding: info.encoding.to_string(),
            rows_read: self.rows_read,
            rows_stored: self.rows_stored,
            rows_rejected: self.rows_rejected,
            rows_duplicate: self.rows_duplicate,
            rules,
            rejected_by_reason: self.rejected,
            completeness,
            duration_ms,
            stages: self.stages,
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report as a self-contained HTML page (Chinese first, English second).
pub fn to_html(r: &QualityReport) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>数据质量报告 Data quality report — {dept}</title>\
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:1em 0}}\
td,th{{border:1px solid #bbb;padding:.25em .6em;text-align:left}}th{{background:#eee}}.n{{text-align:right}}\
.en{{color:#555;font-size:.9em}}</style></head><body>\
<h1>数据质量报告 <span class=\"en\">Data quality report</span></h1>\
<p>部门 <span class=\"en\">Department</span>: <b>{dept}</b> · 来源 <span class=\"en\">Source</span>: {src} ({fmt}, {enc}) · \
用时 <span class=\"en\">Duration</span>: {ms} ms</p>",
        dept = esc(&r.department),
        src = esc(&r.source),
        fmt = esc(&r.format),
        enc = esc(&r.encoding),
        ms = r.duration_ms
    );
    let _ = write!(
        h,
        "<table><tr><th>读取行数 <span class=\"en\">rows read</span></th><th>入库 <span class=\"en\">stored</span></th>\
<th>拒收 <span class=\"en\">rejected</span></th><th>重复 <span class=\"en\">duplicates</span></th></tr>\
<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        r.rows_read, r.rows_stored, r.rows_rejected, r.rows_duplicate
    );
    h.push_str(
        "<h2>清洗规则 <span class=\"en\">Cleaning rules</span></h2><table><tr><th>规则 <span class=\"en\">rule</span></th>\
<th>说明 <span class=\"en\">description</span></th><th>计数 <span class=\"en\">count</span></th>\
<th>按字段 <span class=\"en\">by field</span></th><th>示例 <span class=\"en\">examples (line: field = value)</span></th></tr>",
    );
    for rc in &r.rules {
        let rule = Rule::ALL.iter().find(|x| x.as_str() == rc.rule);
        let (zh, en) = rule.map_or(("", ""), |x| (x.describe_zh(), x.describe_en()));
        let by_field: Vec<String> = rc
            .by_field
            .iter()
            .map(|(k, v)| format!("{} {v}", esc(k)))
            .collect();
        let examples: Vec<String> = rc
            .examples
            .iter()
            .map(|e| format!("{}: {} = {}", e.line, esc(&e.field), esc(&e.value)))
            .collect();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}<br><span class=\"en\">{}</span></td><td class=\"n\">{} {}</td><td>{}</td><td>{}</td></tr>",
            esc(&rc.rule),
            esc(zh),
            esc(en),
            rc.count,
            esc(&rc.counts),
            by_field.join("<br>"),
            examples.join("<br>")
        );
    }
    h.push_str(
        "</table><h2>拒收原因 <span class=\"en\">Rejected rows by reason</span></h2><table>",
    );
    for (k, v) in &r.rejected_by_reason {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{v}</td></tr>",
            esc(k)
        );
    }
    h.push_str(
        "</table><h2>字段完整性 <span class=\"en\">Completeness per field</span></h2><table><tr><th>字段 <span class=\"en\">field</span></th>\
<th>有值 <span class=\"en\">present</span></th><th>比例 <span class=\"en\">ratio</span></th></tr>",
    );
    for c in &r.completeness {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td></tr>",
            esc(&c.field),
            c.present,
            c.ratio * 100.0
        );
    }
    h.push_str("</table></body></html>\n");
    h
}
