//! `weinong consent …`: the registrar's commands. Grant a consent for a resident, withdraw
//! it, list the resident's consents (also a care home's: only those granted to it) and
//! every access to the resident's data, against a node's API.
//!
//! `--subject ID` takes the 18-character GB 11643 resident ID number, checks its check
//! digit, and turns it into the subject pseudonym: by default from the node by oblivious
//! PRF (RFC 9497; the ID is blinded here and never leaves this process in the clear, the
//! key stays on the department node), or locally with `--pepper-file` (a department's own
//! client), as `weinong pseudonym` does.
//! `--subject-pseudonym HEX` takes the pseudonym itself. Signing and submitting are
//! `weinong tx`'s (`cmd_tx::deliver`): these commands only build the calls.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use weinong_contracts::policy_matches::{MatchProof, MatchesSalt};
use weinong_contracts::{
    Call, ConsentGrant, ConsentId, ConsentRevoke, DataCategory, EvidenceHash, MatchesRoot, Purpose,
    RunId,
};
use weinong_keys::{
    EvaluatedId, KeyId, Pepper, PseudonymBlinding, ResidentId, SubjectPseudonym, Zeroizing,
    sm3_digest,
};

use crate::Outcome;
use crate::client::now_ms;
use crate::cmd_tx::{Ctx, Delivery, as_typed, by_label, categories, deliver, hex32, read_file};

/// Milliseconds in a day.
const DAY_MS: u64 = 86_400_000;

/// `weinong consent`: the node and the key, then what to do.
#[derive(Args)]
pub struct ConsentArgs {
    /// The node's API, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "WEINONG_NODE", global = true)]
    node: Option<String>,
    /// The registrar's keystore (password from WEINONG_KEY_PASSWORD or asked).
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    #[command(subcommand)]
    cmd: ConsentCmd,
}

/// Who the consent is about.
#[derive(Args)]
pub struct SubjectArgs {
    /// The resident ID number (GB 11643, 18 characters). Its pseudonym comes from the node
    /// by oblivious PRF (the ID is blinded here, the node never sees it), or is computed
    /// here with --pepper-file where this client holds the consortium's secrets.
    #[arg(long, conflicts_with = "subject_pseudonym")]
    subject: Option<String>,
    /// File holding the consortium pepper (64 hex characters), for a department's own
    /// client; care homes leave it out.
    #[arg(long)]
    pepper_file: Option<PathBuf>,
    /// The subject pseudonym (64 hex characters) instead of the ID number.
    #[arg(long)]
    subject_pseudonym: Option<String>,
}

/// `weinong consent` subcommands.
#[derive(Subcommand)]
pub enum ConsentCmd {
    /// Record a consent; prints its id (keep it to withdraw the consent later).
    Grant {
        #[command(flatten)]
        subject: SubjectArgs,
        /// Key id of the institution that may receive results.
        #[arg(long)]
        grantee: String,
        /// Purpose, e.g. admission_assessment.
        #[arg(long)]
        purpose: String,
        /// Data categories, comma-separated, e.g. ability_assessment,vital_signs.
        #[arg(long)]
        categories: String,
        /// Days of validity from now.
        #[arg(long)]
        days: u64,
        /// The signed consent form (kept off the ledger); its SM3 is recorded. Without it
        /// the evidence hash is all zeros: no form recorded.
        #[arg(long)]
        evidence: Option<PathBuf>,
        #[command(flatten)]
        delivery: Delivery,
    },
    /// Record a consent's withdrawal, effective from its block.
    Revoke {
        /// Consent id (printed by `consent grant`).
        #[arg(long)]
        consent: String,
        /// The withdrawal request (kept off the ledger); its SM3 is recorded. Without it
        /// the evidence hash is all zeros.
        #[arg(long)]
        evidence: Option<PathBuf>,
        #[command(flatten)]
        delivery: Delivery,
    },
    /// List every recorded access to the subject's data.
    History {
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// List the subject's consents with their status now (a care home's key: only those
    /// granted to it, to check before requesting).
    List {
        #[command(flatten)]
        subject: SubjectArgs,
    },
}

/// Dispatches `weinong consent`.
pub fn consent(args: ConsentArgs) -> Result<Outcome> {
    let ctx = Ctx {
        node: args.node,
        key: args.key,
    };
    crate::client::block_on(run(&ctx, args.cmd))
}

async fn run(ctx: &Ctx, cmd: ConsentCmd) -> Result<Outcome> {
    match cmd {
        ConsentCmd::Grant {
            subject,
            grantee,
            purpose,
            categories: cats,
            days,
            evidence,
            delivery,
        } => {
            let subject = subject.pseudonym_via(ctx).await?;
            let valid_from = now_ms();
            let valid_until = days
                .checked_mul(DAY_MS)
                .and_then(|span| valid_from.checked_add(span))
                .filter(|until| *until > valid_from)
                .ok_or_else(|| anyhow!("--days {days} must be at least 1 and not overflow"))?;
            let mut id = [0u8; 32];
            getrandom::fill(&mut id).map_err(|e| anyhow!("no randomness: {e}"))?;
            let consent = ConsentId::from_bytes(id);
            let call = Call::ConsentGrant(ConsentGrant {
                consent,
                subject,
                grantee: KeyId::from_bytes(hex32("--grantee", &grantee)?),
                purpose: by_label("purpose", Purpose::ALL, Purpose::label, &purpose)?,
                categories: categories(&cats)?,
                valid_from,
                valid_until,
                evidence: evidence_hash(evidence.as_ref())?,
            });
            println!("consent id: {consent}");
            println!("subject pseudonym: {subject}");
            let outcome = deliver(ctx, &call, delivery).await?;
            if outcome == Outcome::Ok {
                println!(
                    "withdraw it with: weinong consent revoke --node {} --key {} --consent {consent}",
                    ctx.node.as_deref().unwrap_or("URL"),
                    ctx.key
                        .as_deref()
                        .map_or_else(|| "KEYSTORE".to_owned(), |k| k.display().to_string()),
                );
            }
            Ok(outcome)
        }
        ConsentCmd::Revoke {
            consent,
            evidence,
            delivery,
        } => {
            let call = Call::ConsentRevoke(ConsentRevoke {
                consent: ConsentId::from_bytes(hex32("--consent", &consent)?),
                evidence: evidence_hash(evidence.as_ref())?,
            });
            deliver(ctx, &call, delivery).await
        }
        ConsentCmd::History { subject } => history(ctx, &subject.pseudonym_via(ctx).await?).await,
        ConsentCmd::List { subject } => list(ctx, &subject.pseudonym_via(ctx).await?).await,
    }
}

impl SubjectArgs {
    /// The pepper of `--pepper-file`, if given.
    pub fn pepper(&self) -> Result<Option<Pepper>> {
        self.pepper_file
            .as_deref()
            .map(crate::cmd_data::read_pepper)
            .transpose()
    }

    /// The pseudonym: derived from the ID number and pepper, given, or (an ID without
    /// --pepper-file) obtained from the node of `ctx` by oblivious PRF.
    pub async fn pseudonym_via(&self, ctx: &Ctx) -> Result<SubjectPseudonym> {
        match (&self.subject, &self.subject_pseudonym, &self.pepper_file) {
            (Some(id), None, None) => {
                let id = ResidentId::parse(id).context("invalid resident ID number (--subject)")?;
                let mut out = pseudonyms_from_node(&ctx.client()?, &[id]).await?;
                out.pop()
                    .ok_or_else(|| anyhow::anyhow!("the node answered no pseudonym"))
            }
            _ => self.pseudonym(),
        }
    }

    /// The pseudonym computed here: from the ID number and pepper, or given.
    pub fn pseudonym(&self) -> Result<SubjectPseudonym> {
        match (&self.subject, &self.subject_pseudonym, &self.pepper_file) {
            (Some(id), None, Some(pepper_file)) => {
                let text = Zeroizing::new(
                    String::from_utf8(read_file(pepper_file, "pepper file")?)
                        .context("the pepper file is not text")?,
                );
                let pepper = Pepper::from_hex(text.trim())
                    .with_context(|| format!("{}", pepper_file.display()))?;
                let id = ResidentId::parse(id).context("invalid resident ID number (--subject)")?;
                Ok(SubjectPseudonym::derive(&pepper, &id))
            }
            (None, Some(hex), _) => Ok(SubjectPseudonym::from_bytes(hex32(
                "--subject-pseudonym",
                hex,
            )?)),
            _ => bail!(
                "name the subject: --subject ID --pepper-file FILE, or --subject-pseudonym HEX"
            ),
        }
    }
}

/// The pseudonyms of `ids` from a department node by the consortium's oblivious PRF
/// (RFC 9497, `POST /v1/pseudonyms/evaluate`): each ID is blinded here with a fresh random
/// blind, the node evaluates the blinded elements under the key only departments hold, and
/// the answers are unblinded here. The node learns nothing of the IDs; this client learns
/// nothing of the key.
pub(crate) async fn pseudonyms_from_node(
    client: &crate::client::Client,
    ids: &[ResidentId],
) -> Result<Vec<SubjectPseudonym>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(PSEUDONYM_BATCH_MAX) {
        let mut states = Vec::with_capacity(chunk.len());
        let mut blinded = Vec::with_capacity(chunk.len());
        for id in chunk {
            let (state, b) = PseudonymBlinding::blind(id)?;
            states.push(state);
            blinded.push(hex::encode(b.to_bytes()));
        }
        let answer = client
            .evaluate_pseudonyms(blinded)
            .await
            .context("pseudonym request to the node")?;
        let evaluated = Some(answer.evaluated)
            .filter(|a| a.len() == states.len())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the node's pseudonym answer does not hold one evaluated element per ID"
                )
            })?;
        for (state, e) in states.into_iter().zip(evaluated) {
            let bytes = hex::decode(e).context("the node's evaluated element is not hex")?;
            out.push(state.finish(&EvaluatedId::from_bytes(&bytes)?)?);
        }
    }
    Ok(out)
}

/// Blinded IDs per request (the node's `PSEUDONYM_BATCH_MAX`).
const PSEUDONYM_BATCH_MAX: usize = 1_000;

fn evidence_hash(path: Option<&PathBuf>) -> Result<EvidenceHash> {
    Ok(EvidenceHash::from_bytes(match path {
        Some(p) => sm3_digest(&read_file(p, "evidence")?),
        None => [0; 32],
    }))
}

/// Prints every access to `subject` as a table: when (UTC), which department read (the
/// holder of the categories it read, as the contracts require) through which member
/// node, for which request under which consent.
async fn history(ctx: &Ctx, subject: &SubjectPseudonym) -> Result<Outcome> {
    let answer = ctx.client()?.subject_accesses(&subject.to_hex()).await?;
    let accesses = &answer.accesses;
    println!("subject {subject}: {} recorded accesses", accesses.len());
    print_accesses(accesses, answer.truncated);
    print_policy_runs(subject, &answer.policy_runs)
}

/// Prints the subject's consents the caller may see, one line each.
async fn list(ctx: &Ctx, subject: &SubjectPseudonym) -> Result<Outcome> {
    let answer: weinong_api::dto::SubjectConsentsBody = ctx
        .client()?
        .get(&format!("/v1/subjects/{subject}/consents"))
        .await?;
    let valid = answer
        .consents
        .iter()
        .filter(|c| c.status == "valid")
        .count();
    println!(
        "subject {subject}: {} consent(s), {valid} valid now",
        answer.consents.len()
    );
    for c in &answer.consents {
        println!(
            "  {}  {:<13}  {}  for {}  [{}]  until {}",
            c.consent,
            c.status,
            c.grantee,
            c.purpose,
            c.categories.join(", "),
            utc(c.valid_until)
        );
    }
    Ok(Outcome::Ok)
}

/// The policy runs that included the subject, each proof checked against the commitment
/// the run's end recorded; a proof that does not check is an error.
fn print_policy_runs(
    subject: &SubjectPseudonym,
    runs: &[weinong_api::dto::PolicyInclusionBody],
) -> Result<Outcome> {
    for r in runs {
        let proof = MatchProof {
            salt: MatchesSalt(hex32("salt", &r.salt)?),
            index: r.index,
            size: r.size,
            path: r
                .path
                .iter()
                .map(|h| hex32("audit path", h))
                .collect::<Result<_>>()?,
        };
        let root = MatchesRoot::from_bytes(hex32("matches root", &r.matches_root)?);
        let run = RunId::from_bytes(hex32("run", &r.run)?);
        if !proof.verify(&root, &run, subject) {
            bail!(
                "the node lists policy run {} for this subject but its proof does not check against the run's recorded commitment; report this node to the auditors",
                r.run
            );
        }
        println!(
            "included in policy run {} ({} {}), legal basis {}, ended at block {} ({}); proof checked against the run's ledger commitment",
            r.run,
            r.policy_name.as_deref().unwrap_or(&r.policy),
            r.title_zh.as_deref().unwrap_or(""),
            r.legal_basis,
            r.ended_at_height,
            utc(r.ended_at_ms)
        );
    }
    Ok(Outcome::Ok)
}

/// The access table.
fn print_accesses(accesses: &[weinong_api::dto::AccessBody], truncated: bool) {
    if accesses.is_empty() {
        return;
    }
    let short = |s: &str| s.chars().take(16).collect::<String>();
    let rows: Vec<[String; 7]> = accesses
        .iter()
        .map(|a| {
            [
                a.height.to_string(),
                utc(a.time_ms),
                reader(&a.categories, a.node),
                short(&a.request),
                short(&a.consent),
                a.tx.clone(),
                a.categories
                    .iter()
                    .map(|c| as_typed(c))
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        })
        .collect();
    let header = [
        "BLOCK",
        "TIME (UTC)",
        "READ BY",
        "REQUEST",
        "CONSENT",
        "TX",
        "CATEGORIES",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if i == 0 {
                out.push_str(&format!("{cell:>w$}"));
            } else if i == cells.len() - 1 {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}"));
            }
        }
        out
    };
    println!("{}", line(header));
    for row in &rows {
        println!("{}", line(row.each_ref().map(String::as_str)));
    }
    if truncated {
        println!("(more accesses are recorded than one answer lists)");
    }
}

/// The department that read `categories` (each category has one holder, and only the
/// holder's node may record reading it) and the member node number, e.g.
/// `health (member 1)`.
fn reader(categories: &[String], node: u16) -> String {
    let holder = categories.iter().find_map(|label| {
        DataCategory::ALL
            .iter()
            .find(|c| c.label() == label)
            .map(|c| c.holder())
    });
    match holder {
        Some(d) => format!("{} (member {node})", d.en()),
        None => format!("member {node}"),
    }
}

/// `ms` since the Unix epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let day = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let date = weinong_connectors::date::Date::from_days(day)
        .map_or_else(|| format!("day {day}"), |d| d.to_string());
    let rest = secs % 86_400;
    format!(
        "{date} {:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        // 2026-12-07 03:45:17.999 UTC.
        assert_eq!(utc(1_796_615_117_999), "2026-12-07 03:45:17");
    }

    #[test]
    fn the_reader_is_the_holder_of_what_it_read() {
        assert_eq!(
            reader(&["vital signs".to_owned()], 1),
            format!("{} (member 1)", DataCategory::VitalSigns.holder().en())
        );
        assert_eq!(reader(&[], 4), "member 4");
    }
}
