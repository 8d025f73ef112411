//! Source adapters: CSV, XLSX and JSON Lines files, mapped onto a department's canonical
//! fields by a column mapping file, with text-encoding detection.
//!
//! Must not know: cleaning rules or storage. It yields raw rows as text in canonical field
//! order (empty text for a missing value) and 1-based source line numbers.
//!
//! ## Mapping file (TOML or JSON, chosen by extension)
//!
//! ```toml
//! department = "health"          # optional; checked against --department
//! sheet = "体检"                  # XLSX only; default: the first sheet
//! delimiter = ","                # CSV only; one ASCII character
//! [columns]                      # canonical field = column name in the file
//! id_number = "身份证号"
//! exam_date = "体检日期"
//! ```
//!
//! A canonical field without an entry is looked up by its canonical name, then by its
//! Chinese label (`FieldSpec::label_zh`). Every mapped column must exist in the file, every
//! key must be a canonical field, and every required field must find a column.
//!
//! ## XLSX bounds
//!
//! A workbook is a zip archive whose entries can inflate far beyond the file, and a sheet's
//! used range can span 17 billion cells with two cells in it (A1 and XFD1048576); a
//! calamine range of it would be allocated whole and abort the process. So, before
//! anything is allocated for them: the zip directory's declared entry sizes are checked
//! (`limits::XLSX_ENTRY_BYTES_MAX`, `XLSX_UNCOMPRESSED_BYTES_MAX`; the zip reader holds
//! each entry to its declared size), then the sheet's declared dimension and the position
//! of every cell as it streams (`XLSX_CELLS_MAX`, `COLUMNS_MAX`). A refusal names the sheet,
//! its range and the limit.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{Data, DataRef, Reader, Xlsx};
use rayon::prelude::*;
use serde::Deserialize;

use crate::error::ConnectorError;
use crate::limits::{
    COLUMNS_MAX, IMPORT_FILE_BYTES_MAX, MAPPING_BYTES_MAX, XLSX_CELLS_MAX, XLSX_ENTRY_BYTES_MAX,
    XLSX_UNCOMPRESSED_BYTES_MAX, XLSX_ZIP_ENTRIES_MAX,
};
use crate::schema::{Department, MissingPolicy, TableSpec};

/// A column mapping file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The department the mapping is for (checked when present).
    pub department: Option<String>,
    /// XLSX sheet name.
    pub sheet: Option<String>,
    /// CSV delimiter.
    pub delimiter: Option<String>,
    /// Canonical field name → source column name.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

impl Mapping {
    /// Reads a mapping file (`.toml` or `.json`).
    pub fn load(path: &Path) -> Result<Mapping, ConnectorError> {
        let bytes = read_limited(path, MAPPING_BYTES_MAX)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ConnectorError::Mapping(format!("{}: not UTF-8 text", path.display())))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "toml" => toml::from_str(&text)
                .map_err(|e| ConnectorError::Mapping(format!("{}: {e}", path.display()))),
            "json" => serde_json::from_str(&text)
                .map_err(|e| ConnectorError::Mapping(format!("{}: {e}", path.display()))),
            _ => Err(ConnectorError::Mapping(format!(
                "{}: mapping files end in .toml or .json",
                path.display()
            ))),
        }
    }

    /// Resolves each canonical field to a column index of `header`.
    pub fn resolve(
        &self,
        spec: &TableSpec,
        header: &[String],
    ) -> Result<Vec<Option<usize>>, ConnectorError> {
        if let Some(d) = &self.department {
            let d: Department = d
                .parse()
                .map_err(|e| ConnectorError::Mapping(format!("{e}")))?;
            if d != spec.department {
                return Err(ConnectorError::Mapping(format!(
                    "the mapping is for department {}, but the import is for {}",
                    d.short_name(),
                    spec.department.short_name()
                )));
            }
        }
        for key in self.columns.keys() {
            if spec.index_of(key).is_none() {
                let names: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
                return Err(ConnectorError::Mapping(format!(
                    "'{key}' is not a field of department {}; its fields are: {}",
                    spec.department,
                    names.join(", ")
                )));
            }
        }
        let find = |name: &str| header.iter().position(|h| h.trim() == name);
        let mut out = Vec::with_capacity(spec.fields.len());
        for f in spec.fields {
            let col = match self.columns.get(f.name) {
                Some(col) => Some(find(col).ok_or_else(|| {
                    ConnectorError::Mapping(format!(
                        "field '{}' is mapped to column '{col}', which the file does not have; its columns are: {}",
                        f.name,
                        header.join(", ")
                    ))
                })?),
                None => find(f.name).or_else(|| find(f.label_zh)),
            };
            if col.is_none() && f.missing == MissingPolicy::Reject {
                return Err(ConnectorError::Mapping(format!(
                    "required field '{}' ({}) has no column in the file; map it in a mapping file (columns: {})",
                    f.name,
                    f.label_zh,
                    header.join(", ")
                )));
            }
            out.push(col);
        }
        Ok(out)
    }
}

/// Input file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Excel workbook.
    Xlsx,
    /// JSON Lines: one object per line.
    JsonLines,
}

impl Format {
    /// The format named by a file's extension.
    pub fn of(path: &Path) -> Result<Format, ConnectorError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase()
            .as_str()
        {
            "csv" | "txt" => Ok(Format::Csv),
            "xlsx" | "xlsm" => Ok(Format::Xlsx),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            _ => Err(ConnectorError::UnsupportedFormat {
                path: path.display().to_string(),
            }),
        }
    }

    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::JsonLines => "jsonl",
        }
    }
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ConnectorError> {
    let file = File::open(path).map_err(|e| ConnectorError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| ConnectorError::io(path, e))?
        .len();
    if len > limit {
        return Err(ConnectorError::FileTooLarge {
            path: path.display().to_string(),
            bytes: len,
            limit,
        });
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| ConnectorError::io(path, e))?;
    Ok(buf)
}

/// Decodes text: UTF-8 (with or without BOM), else GBK/GB18030 as Chinese Windows exports
/// write it; anything else is refused. Returns the text and the encoding's name.
pub fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<(String, &'static str), ConnectorError> {
    // Copies only when a BOM has to be dropped; otherwise the buffer becomes the text.
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let body = if bytes.starts_with(BOM) {
        bytes[BOM.len()..].to_vec()
    } else {
        bytes
    };
    match String::from_utf8(body) {
        Ok(s) => Ok((s, "UTF-8")),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            let body = e.into_bytes();
            if let Some(text) = decode_gb18030_lines(&body) {
                return Ok((text, "GB18030"));
            }
            let offset = first_gb18030_error(&body).unwrap_or(valid_up_to);
            Err(ConnectorError::UnknownEncoding {
                path: path.display().to_string(),
                offset: u64::try_from(offset).unwrap_or(u64::MAX),
            })
        }
    }
}

/// Bytes per piece decoded by one parallel task.
const DECODE_PIECE_BYTES: usize = 4 << 20;

/// Decodes GB18030 text in line-aligned pieces on all cores (one thread took 1.5–2 s for a
/// million-person civil-affairs export); `None` when any byte sequence is malformed.
///
/// Why splitting after a line feed is safe: in GB18030 every byte after the first of a
/// multi-byte character is 0x30–0x39, 0x40–0x7E or 0x80–0xFE, never 0x0A, so a line feed
/// always ends a character and the pieces decode exactly as the whole file would.
fn decode_gb18030_lines(body: &[u8]) -> Option<String> {
    let mut pieces = Vec::with_capacity(body.len() / DECODE_PIECE_BYTES + 1);
    let mut rest = body;
    while !rest.is_empty() {
        let cut = if rest.len() <= DECODE_PIECE_BYTES {
            rest.len()
        } else {
            rest[DECODE_PIECE_BYTES..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| DECODE_PIECE_BYTES + p + 1)
        };
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    let decoded: Option<Vec<String>> = pieces
        .par_iter()
        .map(|piece| {
            encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(piece)
                .map(std::borrow::Cow::into_owned)
        })
        .collect();
    Some(decoded?.concat())
}

fn first_gb18030_error(body: &[u8]) -> Option<usize> {
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(body.len() * 3 + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, _) => {
            Some(read.saturating_sub(usize::from(bad)))
        }
        _ => None,
    }
}

/// What was read, for the report.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    /// The file.
    pub path: String,
    /// Its format.
    pub format: Format,
    /// Its text encoding (`binary` for XLSX).
    pub encoding: &'static str,
}

/// A raw row's fields by canonical index (empty text for a missing value or field).
pub trait Fields {
    /// Field `i`, untrimmed.
    fn field(&self, i: usize) -> &str;
    /// Number of fields.
    fn field_count(&self) -> usize;
}

impl Fields for [String] {
    fn field(&self, i: usize) -> &str {
        self.get(i).map_or("", String::as_str)
    }
    fn field_count(&self) -> usize {
        self.len()
    }
}

impl Fields for Vec<String> {
    fn field(&self, i: usize) -> &str {
        self.as_slice().field(i)
    }
    fn field_count(&self) -> usize {
        self.len()
    }
}

/// The rows of one chunk in canonical field order, all text in one buffer: reading a row
/// allocates nothing (a String per field was a large share of an import's time).
#[derive(Clone, Debug, Default)]
pub struct RawChunk {
    fields: usize,
    text: String,
    /// End offset in `text` of every field, `fields` per row.
    ends: Vec<usize>,
    lines: Vec<u64>,
}

impl RawChunk {
    /// An empty chunk with room for `rows` rows of `fields` fields.
    pub fn new(fields: usize, rows: usize) -> RawChunk {
        RawChunk {
            fields,
            text: String::with_capacity(rows * fields * 4),
            ends: Vec::with_capacity(rows * fields),
            lines: Vec::with_capacity(rows),
        }
    }

    /// Empties the chunk for rows of `fields` fields, keeping its buffers.
    fn clear(&mut self, fields: usize) {
        self.fields = fields;
        self.text.clear();
        self.ends.clear();
        self.lines.clear();
    }

    /// Appends a row of exactly `fields` values.
    fn push<'a>(&mut self, line: u64, values: impl Iterator<Item = &'a str>) {
        for v in values.take(self.fields) {
            self.text.push_str(v);
            self.ends.push(self.text.len());
        }
        // A short row is padded with missing values.
        while self.ends.len() < (self.lines.len() + 1) * self.fields {
            self.ends.push(self.text.len());
        }
        self.lines.push(line);
    }

    /// Rows in the chunk.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when the source is exhausted.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Row `r` (`r < len()`).
    pub fn row(&self, r: usize) -> RawRow<'_> {
        let first = r * self.fields;
        let ends = self.ends.get(first..first + self.fields).unwrap_or(&[]);
        let start = if first == 0 {
            0
        } else {
            self.ends.get(first - 1).copied().unwrap_or(0)
        };
        RawRow {
            text: &self.text,
            start,
            ends,
            line: self.lines.get(r).copied().unwrap_or(0),
        }
    }

    /// All rows.
    pub fn rows(&self) -> impl Iterator<Item = RawRow<'_>> + '_ {
        (0..self.len()).map(|r| self.row(r))
    }
}

/// One row of a [`RawChunk`].
#[derive(Clone, Copy, Debug)]
pub struct RawRow<'a> {
    text: &'a str,
    start: usize,
    ends: &'a [usize],
    /// 1-based line (CSV, JSON Lines) or row (XLSX) in the source.
    pub line: u64,
}

impl RawRow<'_> {
    /// A 128-bit hash of the row as read (every field and where each ends), for the
    /// exact-duplicate rule.
    pub fn hash128(&self) -> u128 {
        let end = self.ends.last().copied().unwrap_or(self.start);
        let text = self.text.get(self.start..end).unwrap_or("");
        let mut lengths = [0u8; 4 * COLUMNS_MAX];
        let mut n = 0;
        let mut prev = self.start;
        for (slot, &e) in lengths.chunks_exact_mut(4).zip(self.ends) {
            let len = u32::try_from(e - prev).unwrap_or(u32::MAX);
            slot.copy_from_slice(&len.to_le_bytes());
            prev = e;
            n += 4;
        }
        crate::clean::hash128([text.as_bytes(), &lengths[..n]].into_iter())
    }
}

impl Fields for RawRow<'_> {
    fn field(&self, i: usize) -> &str {
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 {
            self.start
        } else {
            self.ends.get(i - 1).copied().unwrap_or(end)
        };
        self.text.get(start..end).unwrap_or("")
    }
    fn field_count(&self) -> usize {
        self.ends.len()
    }
}

enum Rows {
    Csv(csv::Reader<Cursor<Vec<u8>>>, csv::StringRecord),
    Table(std::vec::IntoIter<(u64, Vec<String>)>),
    Jsonl {
        text: String,
        pos: usize,
        line: u64,
        header: Vec<String>,
    },
}

/// An opened input: yields raw rows in canonical field order.
pub struct Source {
    /// Where it came from.
    pub info: SourceInfo,
    columns: Vec<Option<usize>>,
    rows: Rows,
}

impl Source {
    /// Opens `path` for `spec`, applying `mapping`.
    pub fn open(
        path: &Path,
        spec: &TableSpec,
        mapping: &Mapping,
    ) -> Result<Source, ConnectorError> {
        let format = Format::of(path)?;
        let p = path.display().to_string();
        let (columns, encoding, rows) = match format {
            Format::Csv => {
                let (text, encoding) =
                    decode_text(path, read_limited(path, IMPORT_FILE_BYTES_MAX)?)?;
                let delimiter = match mapping.delimiter.as_deref() {
                    None => b',',
                    Some(d) if d.len() == 1 => d.as_bytes()[0],
                    Some(d) => {
                        return Err(ConnectorError::Mapping(format!(
                            "delimiter '{d}' must be one ASCII character"
                        )));
                    }
                };
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(true)
                    .flexible(false)
                    .from_reader(Cursor::new(text.into_bytes()));
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|e| ConnectorError::Csv {
                        path: p.clone(),
                        message: e.to_string(),
                    })?
                    .iter()
                    .map(str::to_string)
                    .collect();
                let columns = resolve_header(spec, mapping, &header)?;
                (
                    columns,
                    encoding,
                    Rows::Csv(reader, csv::StringRecord::new()),
                )
            }
            Format::Xlsx => {
                let bytes = read_limited(path, IMPORT_FILE_BYTES_MAX)?;
                let (header, rows) = read_xlsx(&p, bytes, mapping.sheet.as_deref())?;
                let columns = resolve_header(spec, mapping, &header)?;
                (columns, "binary", Rows::Table(rows.into_iter()))
            }
            Format::JsonLines => {
                let (text, encoding) =
                    decode_text(path, read_limited(path, IMPORT_FILE_BYTES_MAX)?)?;
                let header = jsonl_keys(&p, &text)?;
                let columns = resolve_header(spec, mapping, &header)?;
                let rows = Rows::Jsonl {
                    text,
                    pos: 0,
                    line: 0,
                    header,
                };
                (columns, encoding, rows)
            }
        };
        let info = SourceInfo {
            path: p,
            format,
            encoding,
        };
        Ok(Source {
            info,
            columns,
            rows,
        })
    }

    /// Up to `n` further rows; an empty chunk at the end.
    pub fn next_chunk(&mut self, n: usize) -> Result<RawChunk, ConnectorError> {
        let mut out = RawChunk::new(self.columns.len(), n.min(1 << 16));
        self.next_chunk_into(&mut out, n)?;
        Ok(out)
    }

    /// As [`Source::next_chunk`], reusing `out`'s buffers.
    pub fn next_chunk_into(&mut self, out: &mut RawChunk, n: usize) -> Result<(), ConnectorError> {
        out.clear(self.columns.len());
        match &mut self.rows {
            Rows::Csv(reader, record) => {
                while out.len() < n {
                    let more = reader
                        .read_record(record)
                        .map_err(|e| ConnectorError::Csv {
                            path: self.info.path.clone(),
                            message: e.to_string(),
                        })?;
                    if !more {
                        break;
                    }
                    let line = record.position().map_or(0, csv::Position::line);
                    let record = &*record;
                    out.push(
                        line,
                        self.columns
                            .iter()
                            .map(|c| c.and_then(|i| record.get(i)).unwrap_or("")),
                    );
                }
            }
            Rows::Table(rows) => {
                for (line, cells) in rows.by_ref().take(n) {
                    out.push(
                        line,
                        self.columns
                            .iter()
                            .map(|c| c.and_then(|i| cells.get(i)).map_or("", String::as_str)),
                    );
                }
            }
            Rows::Jsonl {
                text,
                pos,
                line,
                header,
            } => {
                // Lines are cut here and parsed in parallel: JSON parsing is most of the
                // cost of reading this format.
                let mut lines: Vec<(u64, &str)> = Vec::with_capacity(n.min(1 << 16));
                while lines.len() < n && *pos < text.len() {
                    let rest = &text[*pos..];
                    let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
                    let l = rest[..end].trim();
                    *pos += end;
                    *line += 1;
                    if !l.is_empty() {
                        lines.push((*line, l));
                    }
                }
                let path = &self.info.path;
                let columns = &self.columns;
                let header = &*header;
                let parsed: Vec<Result<JsonRow, ConnectorError>> = lines
                    .par_iter()
                    .map(|&(at, l)| parse_json_row(path, at, l, header))
                    .collect();
                // The first error in file order is the one reported.
                for ((at, _), row) in lines.iter().zip(parsed) {
                    let row = row?;
                    out.push(*at, columns.iter().map(|c| c.map_or("", |i| row.get(i))));
                }
            }
        }
        Ok(())
    }
}

fn resolve_header(
    spec: &TableSpec,
    mapping: &Mapping,
    header: &[String],
) -> Result<Vec<Option<usize>>, ConnectorError> {
    if header.len() > COLUMNS_MAX {
        return Err(ConnectorError::Mapping(format!(
            "{} columns is over the limit of {COLUMNS_MAX}",
            header.len()
        )));
    }
    mapping.resolve(spec, header)
}

fn jsonl_keys(path: &str, text: &str) -> Result<Vec<String>, ConnectorError> {
    let first = text.lines().enumerate().find(|(_, l)| !l.trim().is_empty());
    match first {
        None => Ok(Vec::new()),
        Some((i, l)) => {
            let line = u64::try_from(i + 1).unwrap_or(u64::MAX);
            let v: serde_json::Value =
                serde_json::from_str(l.trim()).map_err(|e| ConnectorError::JsonLine {
                    path: path.to_string(),
                    line,
                    message: e.to_string(),
                })?;
            match v {
                serde_json::Value::Object(m) => Ok(m.keys().cloned().collect()),
                _ => Err(ConnectorError::JsonLine {
                    path: path.to_string(),
                    line,
                    message: "not a JSON object".into(),
                }),
            }
        }
    }
}

/// One JSON Lines object's values as text, by header key: the texts share one buffer.
struct JsonRow {
    text: String,
    /// Per header key, the value's range in `text` (`None`: the key is absent).
    spans: Vec<Option<(usize, usize)>>,
}

impl JsonRow {
    /// The text of header key `i` (empty when absent or null).
    fn get(&self, i: usize) -> &str {
        self.spans
            .get(i)
            .copied()
            .flatten()
            .and_then(|(a, b)| self.text.get(a..b))
            .unwrap_or("")
    }
}

/// Parses one line's object; columns were resolved on the first line's keys and are looked
/// up by key, so key order and absent keys (missing values) do not matter; keys the first
/// line lacks are skipped; a repeated key keeps its last value. Values become text as
/// [`json_text`] says. Parsed straight into one buffer, not through a `serde_json::Value`
/// (a map and two strings per value were most of the cost of reading this format).
fn parse_json_row(
    path: &str,
    line: u64,
    l: &str,
    header: &[String],
) -> Result<JsonRow, ConnectorError> {
    use serde::de::DeserializeSeed;
    let mut row = JsonRow {
        text: String::with_capacity(l.len()),
        spans: vec![None; header.len()],
    };
    let mut de = serde_json::Deserializer::from_str(l);
    JsonRowSeed {
        header,
        row: &mut row,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| ConnectorError::JsonLine {
        path: path.to_string(),
        line,
        message: e.to_string(),
    })?;
    Ok(row)
}

struct JsonRowSeed<'a> {
    header: &'a [String],
    row: &'a mut JsonRow,
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonRowSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonRowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<JsonKey<'de>>()? {
            match self.header.iter().position(|h| *h == *key.0) {
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                Some(i) => {
                    let start = self.row.text.len();
                    map.next_value_seed(JsonText(&mut self.row.text))?;
                    if let Some(span) = self.row.spans.get_mut(i) {
                        *span = Some((start, self.row.text.len()));
                    }
                }
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the line unless it has escapes.
struct JsonKey<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<JsonKey<'de>, E> {
                Ok(JsonKey(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<JsonKey<'de>, E> {
                Ok(JsonKey(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Appends one JSON value's text (see [`json_text`]) to a buffer.
struct JsonText<'a>(&'a mut String);

impl<'de> serde::de::Visitor<'de> for JsonText<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.push(if v { '1' } else { '0' });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push_str(&serde_json::Number::from(v).to_string());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push_str(&serde_json::Number::from(v).to_string());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // JSON numbers are finite; the text is serde_json's own rendering of the number.
        if let Some(n) = serde_json::Number::from_f64(v) {
            self.0.push_str(&n.to_string());
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        use serde::Deserialize;
        let v = serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        self.0.push_str(&json_text(v));
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        use serde::Deserialize;
        let v = serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.0.push_str(&json_text(v));
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonText<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// The text of a JSON value: strings as they are, null empty, booleans `1`/`0`, numbers
/// as serde_json writes them, arrays and objects as compact JSON.
fn json_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

type Table = (Vec<String>, Vec<(u64, Vec<String>)>);

fn read_xlsx(path: &str, bytes: Vec<u8>, sheet: Option<&str>) -> Result<Table, ConnectorError> {
    let err = |message: String| ConnectorError::Xlsx {
        path: path.to_string(),
        message,
    };
    // Before calamine opens the workbook (it reads the shared strings whole): the zip
    // entries' declared sizes, which the zip reader then holds each entry to.
    check_xlsx_zip(&bytes).map_err(err)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| err(e.to_string()))?;
    let name = match sheet {
        Some(s) => s.to_string(),
        None => book
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| err("the workbook has no sheets".into()))?,
    };
    let mut reader = match book.worksheet_cells_reader(&name) {
        Ok(reader) => reader,
        // A chart sheet: no cells (as calamine's own ranges treat it).
        Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(err(format!("sheet '{name}': {e}"))),
    };
    // The declared dimension first, then every cell read: the cells are streamed, never
    // put in a range of the whole used area (which calamine would allocate at once).
    let declared = reader.dimensions();
    check_sheet_area(&name, declared.start, declared.end).map_err(err)?;
    let mut cells: Vec<((u32, u32), String)> = Vec::new();
    let mut bounds: Option<((u32, u32), (u32, u32))> = None;
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| err(format!("sheet '{name}': {e}")))?
    {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        let (start, end) = bounds.map_or(((r, c), (r, c)), |(s, e)| {
            ((s.0.min(r), s.1.min(c)), (e.0.max(r), e.1.max(c)))
        });
        if bounds != Some((start, end)) {
            check_sheet_area(&name, start, end).map_err(err)?;
            bounds = Some((start, end));
        }
        cells.push(((r, c), cell_text(&Data::from(cell.get_value().clone()))));
    }
    drop(reader);
    let Some((start, end)) = bounds else {
        return Ok((Vec::new(), Vec::new()));
    };
    // Within the limits checked above: at most XLSX_CELLS_MAX strings.
    let width = usize::try_from(end.1 - start.1 + 1).map_err(|_| err("too wide".into()))?;
    let height = usize::try_from(end.0 - start.0 + 1).map_err(|_| err("too long".into()))?;
    let mut grid: Vec<Vec<String>> = (0..height).map(|_| vec![String::new(); width]).collect();
    for ((r, c), text) in cells {
        if let Some(slot) = grid
            .get_mut((r - start.0) as usize)
            .and_then(|row| row.get_mut((c - start.1) as usize))
        {
            *slot = text;
        }
    }
    let mut rows = grid.into_iter();
    let header = rows.next().unwrap_or_default();
    let body = rows
        .enumerate()
        .map(|(i, r)| (u64::from(start.0) + u64::try_from(i).unwrap_or(0) + 2, r))
        .collect();
    Ok((header, body))
}

/// Refuses a workbook whose zip directory declares too many entries, an entry larger than
/// [`XLSX_ENTRY_BYTES_MAX`] or more than [`XLSX_UNCOMPRESSED_BYTES_MAX`] in all, before
/// anything is decompressed.
fn check_xlsx_zip(bytes: &[u8]) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not an XLSX workbook (zip: {e})"))?;
    if zip.len() > XLSX_ZIP_ENTRIES_MAX {
        return Err(format!(
            "{} zip entries, over the limit of {XLSX_ZIP_ENTRIES_MAX} (XLSX_ZIP_ENTRIES_MAX)",
            zip.len()
        ));
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("zip entry {i}: {e}"))?;
        let size = entry.size();
        if size > XLSX_ENTRY_BYTES_MAX {
            return Err(format!(
                "zip entry '{}' declares {size} bytes uncompressed, over the limit of \
                 {XLSX_ENTRY_BYTES_MAX} (XLSX_ENTRY_BYTES_MAX): refused before decompressing \
                 (a zip bomb, or a sheet too large: split it or export CSV)",
                entry.name().unwrap_or_default()
            ));
        }
        total = total.saturating_add(size);
    }
    if total > XLSX_UNCOMPRESSED_BYTES_MAX {
        return Err(format!(
            "the zip entries declare {total} bytes uncompressed in all, over the limit of \
             {XLSX_UNCOMPRESSED_BYTES_MAX} (XLSX_UNCOMPRESSED_BYTES_MAX): refused before \
             decompressing (split the workbook or export CSV)"
        ));
    }
    Ok(())
}

/// Refuses a used range (0-based `(row, column)` corners) of more than [`XLSX_CELLS_MAX`]
/// cells or [`COLUMNS_MAX`] columns, naming the sheet and the range.
fn check_sheet_area(sheet: &str, start: (u32, u32), end: (u32, u32)) -> Result<(), String> {
    let rows = u64::from(end.0.saturating_sub(start.0)) + 1;
    let columns = u64::from(end.1.saturating_sub(start.1)) + 1;
    let cells = rows.saturating_mul(columns);
    let range = format!(
        "{}{}:{}{}",
        column_name(start.1),
        u64::from(start.0) + 1,
        column_name(end.1),
        u64::from(end.0) + 1
    );
    if cells > XLSX_CELLS_MAX {
        return Err(format!(
            "sheet '{sheet}' spans {range} ({rows} rows × {columns} columns = {cells} cells), \
             over the limit of {XLSX_CELLS_MAX} cells (XLSX_CELLS_MAX): clear the stray cells \
             far from the data, split the sheet, or export CSV"
        ));
    }
    if columns > COLUMNS_MAX as u64 {
        return Err(format!(
            "sheet '{sheet}' spans {range} ({columns} columns), over the limit of \
             {COLUMNS_MAX} columns (COLUMNS_MAX): clear the stray cells far from the data"
        ));
    }
    Ok(())
}

/// A 0-based column index as Excel names it (0 → A, 25 → Z, 26 → AA, 16383 → XFD).
fn column_name(index: u32) -> String {
    let mut n = u64::from(index) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "whole floats below 10^15, and day numbers below 200000: exact"
)]
fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::DateTime(dt) => excel_date(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
        Data::Error(e) => format!("#ERROR:{e:?}"),
    }
}

/// An Excel serial date (days since 1899-12-30, the 1900 system) as `YYYY-MM-DD`.
#[allow(
    clippy::cast_possible_truncation,
    reason = "day numbers below 200000: exact"
)]
fn excel_date(serial: f64) -> String {
    let days = serial.floor();
    if !days.is_finite() || !(1.0..=200_000.0).contains(&days) {
        return format!("{serial}");
    }
    // 1899-12-30 is day -25_569 relative to 1970-01-01; `days` is bounded above.
    let n = days as i64 - 25_569;
    crate::date::Date::from_days(n).map_or_else(|| format!("{serial}"), |d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_pieces_decode_as_the_whole_file() {
        // Over two pieces of mixed ASCII, two-byte and four-byte characters (€ is four
        // bytes in GB18030; 𠮷 too), lines of varying length.
        let mut text = String::new();
        let mut i = 0u32;
        while text.len() < 2 * DECODE_PIECE_BYTES + 12_345 {
            text.push_str(&format!(
                "{i},张三丰{},€𠮷,上海市黄浦区\n",
                "李".repeat((i % 7) as usize)
            ));
            i += 1;
        }
        let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
        assert!(!unmappable);
        let (whole, errors) = encoding_rs::GB18030.decode_without_bom_handling(&bytes);
        assert!(!errors);
        assert_eq!(decode_gb18030_lines(&bytes).as_deref(), Some(&*whole));
        assert_eq!(decode_gb18030_lines(&bytes).as_deref(), Some(text.as_str()));
        // A lone lead byte before a line feed in the last piece is malformed, as it is for
        // the whole file.
        let mut bad = bytes.into_owned();
        let at = bad.len() - 10;
        bad.splice(at..at, [0x81u8, b'\n']);
        assert_eq!(decode_gb18030_lines(&bad), None);
        assert!(encoding_rs::GB18030.decode_without_bom_handling(&bad).1);
    }

    /// The reading before the direct parser: through `serde_json::Value`.
    fn via_value(l: &str, header: &[String]) -> Option<Vec<String>> {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        let serde_json::Value::Object(mut m) = v else {
            return None;
        };
        Some(
            header
                .iter()
                .map(|k| m.remove(k).map(json_text).unwrap_or_default())
                .collect(),
        )
    }

    #[test]
    fn json_rows_read_as_through_a_json_value() {
        let header: Vec<String> = ["a", "b", "c", "名"].map(String::from).to_vec();
        let lines = [
            r#"{"a":"x","b":1,"c":null,"名":"张三"}"#,
            r#"{"b":-12,"a":1.5,"c":true}"#,
            r#"{"a":1e3,"b":false,"c":18446744073709551615}"#,
            r#"{"a":[1,"two",null],"b":{"k":[2]},"c":"tab\there"}"#,
            r#"{"\u0061":"escaped key","b":"\u5f20"}"#,
            r#"{"a":"first","a":"last","extra":{"deep":[1,2]},"c":0.1}"#,
            r#"{}"#,
            r#"{"a":"","b":"  padded  ","c":-0.0}"#,
            r#"{"a":123456789012345678901234567890}"#,
            r#"[1,2]"#,
            r#"5"#,
            r#"{"a":1} trailing"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":1,}"#,
        ];
        for l in lines {
            let direct = parse_json_row("f.jsonl", 1, l, &header)
                .ok()
                .map(|row| (0..header.len()).map(|i| row.get(i).to_string()).collect());
            assert_eq!(direct, via_value(l, &header), "{l}");
        }
        let err = parse_json_row("f.jsonl", 7, "[1]", &header)
            .err()
            .expect("error");
        assert!(err.to_string().contains("line 7"), "{err}");
    }

    #[test]
    fn raw_chunk_rows_and_fields() {
        let mut c = RawChunk::new(3, 2);
        c.push(2, ["a", "", "ccc"].into_iter());
        c.push(3, ["", "bb"].into_iter());
        c.push(4, ["x", "y", "z"].into_iter());
        assert_eq!(c.len(), 3);
        let fields = |r: RawRow<'_>| -> Vec<String> {
            (0..r.field_count())
                .map(|i| r.field(i).to_string())
                .collect()
        };
        assert_eq!(fields(c.row(0)), ["a", "", "ccc"]);
        assert_eq!(fields(c.row(1)), ["", "bb", ""], "a short row is padded");
        assert_eq!(fields(c.row(2)), ["x", "y", "z"]);
        assert_eq!(c.row(2).line, 4);
        assert_eq!(c.row(1).field(7), "");
    }

    #[test]
    fn raw_row_hash_sees_field_boundaries() {
        let mut c = RawChunk::new(2, 3);
        c.push(1, ["ab", "c"].into_iter());
        c.push(2, ["a", "bc"].into_iter());
        c.push(3, ["ab", "c"].into_iter());
        assert_ne!(c.row(0).hash128(), c.row(1).hash128());
        assert_eq!(c.row(0).hash128(), c.row(2).hash128());
    }
}
