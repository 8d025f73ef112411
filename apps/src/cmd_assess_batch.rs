//! `weinong assess request --batch FILE`: a periodic re-assessment of many residents under
//! one request.
//!
//! The file's subjects (ID numbers, turned into pseudonyms by the node's oblivious PRF, or
//! here with the consortium pepper of a department's own client; or pseudonyms) are sorted and de-duplicated, then recorded as the request's
//! list in parts of at most [`BATCH_PART_SUBJECTS_MAX`] (each part a signed, committed
//! transaction; part 0 opens the request). The departments compute the subjects every
//! one of them may (consent) and can (records) use; each sealed share names the list
//! rows it covers. Here the three are checked like a single request's (`weinong_audit::requester`:
//! signatures against the departments' ledger keys; request id and the digest of the
//! whole list, which this client computes from the file), opened, checked to cover the
//! same rows,
//! reconstructed, committed to (the receipt's first column is the list row, so the
//! commitment binds who each result is about) and, with `--out`, matched back to the
//! file's lines.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use weinong_contracts::limits::BATCH_PART_SUBJECTS_MAX;
use weinong_contracts::{BatchRequest, Call, ModelId, Purpose, RequestId};
use weinong_keys::{Pepper, PseudonymKey, ResidentId, SubjectPseudonym, Zeroizing};
use weinong_mpc::model::{BatchShare, Model, reconstruct, subjects_digest};

use crate::Outcome;
use crate::client::Client;
use crate::cmd_assess::{
    FetchOptions, Opened, Sealed, checked_shares, commit_result, random32, report_failed,
    report_refused, submit_one, wait_sealed, write_private,
};
use crate::exit::Failed;

/// Header words the first line may hold instead of a subject.
const HEADERS: [&str; 3] = ["id_number", "subject", "pseudonym"];
/// Rows printed before the summary.
const PRINTED_ROWS: usize = 10;

/// A batch file read: each line's subject, and the request's sorted list.
pub struct BatchList {
    /// `(line number, subject)` per subject line, in file order.
    lines: Vec<(usize, SubjectPseudonym)>,
    /// The distinct subjects, ascending: the request's list.
    sorted: Vec<SubjectPseudonym>,
}

impl BatchList {
    /// Reads `path`. ID numbers become pseudonyms here with `pepper` (a department's own
    /// client), else from the node of `client` by oblivious PRF (blinded here; the node
    /// never sees them). Errors name the line and what is wrong, never the line's content
    /// (it is an ID number).
    pub async fn read(
        path: &Path,
        pepper: Option<&Pepper>,
        client: Option<&Client>,
    ) -> Result<BatchList> {
        let text = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = Zeroizing::new(
            String::from_utf8(text).map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))?,
        );
        // Each subject line: its pseudonym, or the index of its ID number in `ids`.
        let mut entries: Vec<(usize, Result<SubjectPseudonym, usize>)> = Vec::new();
        let mut ids: Vec<ResidentId> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let field = line.split(',').next().unwrap_or("").trim();
            if field.is_empty() || field.starts_with('#') {
                continue;
            }
            if entries.is_empty() && HEADERS.contains(&field.to_ascii_lowercase().as_str()) {
                continue;
            }
            if field.len() == 64 && field.bytes().all(|b| b.is_ascii_hexdigit()) {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(field, &mut bytes)
                    .map_err(|e| anyhow!("{} line {number}: {e}", path.display()))?;
                entries.push((number, Ok(SubjectPseudonym::from_bytes(bytes))));
            } else {
                let id = ResidentId::parse(field)
                    .map_err(|e| anyhow!("{} line {number}: {e}", path.display()))?;
                entries.push((number, Err(ids.len())));
                ids.push(id);
            }
        }
        let from_ids = match (pepper, client) {
            _ if ids.is_empty() => Vec::new(),
            (Some(pepper), _) => {
                let key = PseudonymKey::new(pepper);
                ids.iter().map(|id| key.derive(id)).collect()
            }
            (None, Some(client)) => crate::cmd_consent::pseudonyms_from_node(client, &ids)
                .await
                .with_context(|| {
                    format!(
                        "{}: the pseudonyms of its ID numbers from the node",
                        path.display()
                    )
                })?,
            (None, None) => bail!(
                "{} holds ID numbers: give --pepper-file, or a node to get their pseudonyms from",
                path.display()
            ),
        };
        let mut lines = Vec::with_capacity(entries.len());
        for (number, entry) in entries {
            let subject = match entry {
                Ok(s) => s,
                Err(i) => *from_ids
                    .get(i)
                    .ok_or_else(|| anyhow!("the node answered too few pseudonyms"))?,
            };
            lines.push((number, subject));
        }
        if lines.is_empty() {
            bail!("{}: no subject in the file", path.display());
        }
        let mut sorted: Vec<SubjectPseudonym> = lines.iter().map(|(_, s)| *s).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let max = weinong_contracts::limits::BATCH_SUBJECTS_MAX as usize;
        if sorted.len() > max {
            bail!(
                "{}: {} subjects; one batch request holds at most {max}: split the file",
                path.display(),
                sorted.len()
            );
        }
        Ok(BatchList { lines, sorted })
    }

    /// A list of subjects given directly (line numbers count from 1 in the order given).
    pub fn from_subjects(subjects: Vec<SubjectPseudonym>) -> BatchList {
        let lines: Vec<(usize, SubjectPseudonym)> = subjects
            .iter()
            .enumerate()
            .map(|(i, s)| (i + 1, *s))
            .collect();
        let mut sorted = subjects;
        sorted.sort_unstable();
        sorted.dedup();
        BatchList { lines, sorted }
    }

    /// The request's list: distinct subjects, ascending.
    pub fn sorted(&self) -> &[SubjectPseudonym] {
        &self.sorted
    }

    /// How many parts the list takes.
    pub fn parts(&self) -> usize {
        self.sorted.len().div_ceil(BATCH_PART_SUBJECTS_MAX as usize)
    }
}

/// Records `subjects` (ascending, distinct) as a new batch request's list, part by part;
/// returns the request id once the last part is committed.
pub async fn submit_batch(
    client: &Client,
    model: &Model,
    purpose: Purpose,
    subjects: &[SubjectPseudonym],
) -> Result<RequestId> {
    let request = RequestId::from_bytes(random32()?);
    let chunks: Vec<&[SubjectPseudonym]> =
        subjects.chunks(BATCH_PART_SUBJECTS_MAX as usize).collect();
    let parts = u32::try_from(chunks.len()).context("too many parts")?;
    let bar = indicatif::ProgressBar::new(u64::from(parts));
    bar.set_style(
        indicatif::ProgressStyle::with_template("recording the list {bar:30} {pos}/{len} parts")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (part, chunk) in chunks.into_iter().enumerate() {
        let part = u32::try_from(part).context("too many parts")?;
        let call = Call::BatchRequest(BatchRequest {
            request,
            purpose,
            model: ModelId::from_bytes(model.id().0),
            part,
            parts,
            subjects: chunk.to_vec(),
        });
        submit_one(client, &call, &format!("part {part} of the batch request")).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(request)
}

/// A batch result: the list rows computed and their outputs.
pub struct BatchResult {
    /// What became of the request (the receipt's rows start with the list row).
    pub opened: Opened,
}

/// Waits for the three sealed batch shares, opens them, checks they cover the same rows,
/// reconstructs, commits (list row first in each receipt row) and writes the receipt.
pub async fn fetch_and_open_batch(
    client: &Client,
    request: RequestId,
    model: &Model,
    list: &BatchList,
    options: &FetchOptions,
) -> Result<BatchResult> {
    let sealed = match wait_sealed(client, request, options).await? {
        Sealed::Failed(reason) => {
            return Ok(BatchResult {
                opened: Opened::Failed(reason),
            });
        }
        Sealed::Shares(sealed) => sealed,
    };
    let subjects = subjects_digest(list.sorted().iter().map(SubjectPseudonym::as_bytes));
    let batches = match checked_shares(
        client,
        request,
        &sealed,
        Some(subjects),
        |b| BatchShare::from_bytes(b).map_err(|e| e.to_string()),
        |b| b.share.binding(),
    )
    .await?
    {
        Ok(batches) => batches,
        Err(refusal) => {
            return Ok(BatchResult {
                opened: Opened::Refused(refusal),
            });
        }
    };
    let mut rows: Option<Vec<u32>> = None;
    let mut shares = Vec::with_capacity(3);
    for batch in batches {
        match &rows {
            None => rows = Some(batch.rows.clone()),
            Some(first) if *first != batch.rows => {
                return Err(Failed(
                    "the parties' shares cover different rows of the list: the result cannot be trusted"
                        .to_owned(),
                )
                .into());
            }
            Some(_) => {}
        }
        shares.push(batch.share);
    }
    let rows = rows.unwrap_or_default();
    if let Some(&last) = rows.last()
        && usize::try_from(last).map_or(true, |l| l >= list.sorted().len())
    {
        bail!(
            "the shares name list row {last}, but the list has {} subjects: is this the file the request was made from?",
            list.sorted().len()
        );
    }
    let outputs = reconstruct(model, &shares)
        .map_err(|e| Failed(format!("the output shares do not fit together: {e}")))?;
    let table: Vec<Vec<i64>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut values = vec![i64::from(*row)];
            values.extend(outputs.row(i));
            values
        })
        .collect();
    let mut names = vec!["list_row".to_owned()];
    names.extend(model.outputs().iter().map(|o| o.name.clone()));
    let opened = commit_result(client, request, model, names, table, options).await?;
    Ok(BatchResult { opened })
}

/// Prints a batch result (the first rows and a summary) and writes the per-line CSV.
pub fn report_batch(
    result: BatchResult,
    model: &Model,
    list: &BatchList,
    out: Option<&Path>,
    started: Instant,
) -> Result<Outcome> {
    let (receipt, path) = match result.opened {
        Opened::Failed(reason) => return Ok(report_failed("batch request", &reason)),
        Opened::Refused(refusal) => return Ok(report_refused(&refusal)),
        Opened::Result { receipt, path } => (receipt, path),
    };
    let by_row: HashMap<u32, &[i64]> = receipt
        .outputs
        .iter()
        .filter_map(|r| {
            let (row, values) = r.split_first()?;
            Some((u32::try_from(*row).ok()?, values))
        })
        .collect();
    let names: Vec<&str> = model.outputs().iter().map(|o| o.name.as_str()).collect();
    println!("line  {}", names.join("  "));
    let mut printed = 0;
    let mut csv = format!("line,pseudonym,computed,{}\n", names.join(","));
    for (line, subject) in &list.lines {
        let row = list
            .sorted
            .binary_search(subject)
            .ok()
            .and_then(|i| u32::try_from(i).ok());
        let values = row.and_then(|r| by_row.get(&r));
        let cells: Vec<String> = match values {
            Some(v) => v.iter().map(i64::to_string).collect(),
            None => vec![String::new(); names.len()],
        };
        if printed < PRINTED_ROWS {
            let shown = if values.is_some() {
                cells.join("  ")
            } else {
                "not computed (no consent at every department, or no records)".to_owned()
            };
            println!("{line:>4}  {shown}");
            printed += 1;
        }
        csv.push_str(&format!(
            "{line},{},{},{}\n",
            subject.to_hex().as_str(),
            values.is_some(),
            cells.join(",")
        ));
    }
    println!(
        "{} of {} subjects computed; result commitment {} recorded; receipt written to {} ({} ms in all)",
        by_row.len(),
        list.sorted.len(),
        receipt.commitment,
        path.display(),
        started.elapsed().as_millis()
    );
    if let Some(out) = out {
        write_private(out, csv.as_bytes())?;
        println!("per-line results written to {}", out.display());
    }
    Ok(Outcome::Ok)
}
