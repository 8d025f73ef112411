//! `weinong assess …`: the care home's side of an assessment.
//!
//! `assess request` signs an `AssessmentRequest` with the institution's key and submits it;
//! with `--wait` it then follows the request, fetches the three departments' output shares
//! (each sealed to this key and signed by the node that computed it), checks each
//! signature against that department's key on the ledger and each share's request id and
//! subject-list digest (`weinong_audit::requester`: a forged, replayed or misdirected share is refused
//! by name, exit 1, and nothing is recorded), opens them, reconstructs the outputs, checks them against the model's declared ranges, and records the result
//! commitment — SM3 of the result and a random nonce only this client keeps — on the
//! ledger. The result and the nonce go into a receipt file (mode 0600: it is health data)
//! with which the care home can later prove to an auditor what it was told
//! (`weinong audit verify BUNDLE --receipt FILE`). `assess fetch` does the second half for
//! a request made without `--wait`.
//!
//! The resident ID number never leaves this process in the clear: it becomes the subject
//! pseudonym by the department node's oblivious PRF (blinded here; the node never sees
//! the ID, this client never sees the key), or here with the consortium pepper
//! (`--pepper-file`, a department's own client), or the pseudonym is given directly.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use weinong_api::dto::SealedShareBody;
use weinong_api::{ErrorCode, SubmitOutcome};
use weinong_audit::requester::{
    Refusal, RequestFacts, ServedShare, SignerFacts, check_shares, signer_ids,
};
use weinong_contracts::{
    AssessmentRequest, Call, FailureReason, ModelId, Purpose, RequestId, ResultRecord,
};
use weinong_keys::{SubjectPseudonym, Zeroizing};
use weinong_mpc::model::{Model, OutputBatch, SHIPPED, compile};
use weinong_mpc::model::{OutputShare, ShareBinding, reconstruct, subjects_digest};

use crate::Outcome;
use crate::client::Client;
use crate::client::sign_call;
use crate::cmd_assess_batch::{BatchList, fetch_and_open_batch, report_batch, submit_batch};
use crate::cmd_consent::SubjectArgs;
use crate::cmd_data::read_pepper;
use crate::cmd_keys::open_keystore_file;
use crate::cmd_tx::by_label;
use crate::exit::{Failed, Refused, Unavailable};

/// How often a waiting client asks the node how its request stands.
const POLL_EVERY: Duration = Duration::from_millis(25);
/// How long a transaction the consortium cannot order yet is submitted again.
pub(crate) const SUBMIT_RETRY_FOR: Duration = Duration::from_secs(20);
/// Pause between those submissions.
pub(crate) const SUBMIT_RETRY_EVERY: Duration = Duration::from_millis(500);
/// The receipt file: its format tag and its type live in `weinong-audit` (the auditor
/// reads what this writes).
pub use weinong_audit::Receipt;

/// `weinong assess`: the node and the institution's key, then what to do.
#[derive(Args)]
pub struct AssessArgs {
    /// The node's API, e.g. http://127.0.0.1:7201.
    #[arg(long, env = "WEINONG_NODE", global = true)]
    node: Option<String>,
    /// The institution's keystore (password from WEINONG_KEY_PASSWORD or asked).
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    #[command(subcommand)]
    cmd: AssessCmd,
}

/// `weinong assess` subcommands.
#[derive(Subcommand)]
pub enum AssessCmd {
    /// Request an assessment of one person who consented, or with `--batch` of many
    /// under one request (one MPC session).
    Request {
        #[command(flatten)]
        subject: SubjectArgs,
        /// A file of subjects, one per line: an ID number (its pseudonym from the node by
        /// oblivious PRF, or here with --pepper-file) or a
        /// 64-hex pseudonym in the first comma-separated field; blank lines, `#` comments
        /// and a header line `id_number`, `subject` or `pseudonym` are skipped.
        #[arg(long, conflicts_with_all = ["subject", "subject_pseudonym"])]
        batch: Option<PathBuf>,
        /// With --batch: write one CSV row per input line (line, pseudonym, computed,
        /// outputs) here (mode 0600).
        #[arg(long, requires = "batch")]
        out: Option<PathBuf>,
        /// Model: `admission-v1`, `periodic-v1`, `periodic-v2`, or a spec file.
        #[arg(long)]
        model: String,
        /// Purpose label (default: the model's: admission or periodic assessment).
        #[arg(long)]
        purpose: Option<String>,
        /// Wait for the result, open it and record its commitment.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        fetch: FetchOptions,
    },
    /// Fetch, open and commit the result of a request made without `--wait`.
    Fetch {
        /// The request id (64 hex characters).
        request: String,
        /// Model: `admission-v1`, `periodic-v1`, `periodic-v2`, or a spec file.
        #[arg(long)]
        model: String,
        /// For a batch request: the subject file it was made from (rows are matched to
        /// its lines); its ID numbers' pseudonyms come from the node by oblivious PRF, or
        /// here with --pepper-file.
        #[arg(long)]
        batch: Option<PathBuf>,
        /// File holding the consortium pepper (64 hex characters), for --batch, on a
        /// department's own client; care homes leave it out.
        #[arg(long)]
        pepper_file: Option<PathBuf>,
        /// With --batch: the per-line CSV (see `assess request --out`).
        #[arg(long, requires = "batch")]
        out: Option<PathBuf>,
        #[command(flatten)]
        fetch: FetchOptions,
    },
}

/// Where the result goes and how long to wait for it.
#[derive(Args)]
pub struct FetchOptions {
    /// The receipt file (result, nonce, commitment; default receipt-REQUEST.json).
    #[arg(long)]
    pub receipt: Option<PathBuf>,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_s: u64,
}

/// Dispatches `weinong assess`.
pub fn assess(args: AssessArgs) -> Result<Outcome> {
    crate::client::block_on(run(args))
}

async fn run(args: AssessArgs) -> Result<Outcome> {
    let node = args
        .node
        .ok_or_else(|| anyhow!("--node URL (or WEINONG_NODE) is needed"))?;
    let key_path = args
        .key
        .ok_or_else(|| anyhow!("--key KEYSTORE (the institution's key) is needed"))?;
    let client = Client::new(&node, open_keystore_file(&key_path)?)?;
    match args.cmd {
        AssessCmd::Request {
            subject,
            batch,
            out,
            model,
            purpose,
            wait,
            fetch,
        } => {
            let model = load_model(&model)?;
            let purpose = match purpose {
                Some(p) => by_label("purpose", Purpose::ALL, Purpose::label, &p)?,
                None if model.name().starts_with("periodic") => Purpose::PeriodicAssessment,
                None => Purpose::AdmissionAssessment,
            };
            let started = Instant::now();
            if let Some(path) = batch {
                let list =
                    BatchList::read(&path, subject.pepper()?.as_ref(), Some(&client)).await?;
                let request = submit_batch(&client, &model, purpose, list.sorted()).await?;
                println!(
                    "batch request {request} committed: {} subjects in {} parts",
                    list.sorted().len(),
                    list.parts()
                );
                if !wait {
                    println!(
                        "fetch the result with: weinong assess fetch {request} --model {} --batch {} --node {node} --key {}",
                        model.name(),
                        path.display(),
                        key_path.display()
                    );
                    return Ok(Outcome::Ok);
                }
                let opened = fetch_and_open_batch(&client, request, &model, &list, &fetch).await?;
                return report_batch(opened, &model, &list, out.as_deref(), started);
            }
            // An ID without --pepper-file: the pseudonym comes from the node by OPRF.
            let subject = subject
                .pseudonym_via(&crate::cmd_tx::Ctx {
                    node: Some(node.clone()),
                    key: Some(key_path.clone()),
                })
                .await?;
            let request = submit_request(&client, &model, subject, purpose).await?;
            println!("request {request} committed");
            if !wait {
                println!(
                    "fetch the result with: weinong assess fetch {request} --model {} --node {node} --key {}",
                    model.name(),
                    key_path.display()
                );
                return Ok(Outcome::Ok);
            }
            let subjects = subjects_digest(std::iter::once(subject.as_bytes()));
            report(
                fetch_and_open(&client, request, &model, Some(subjects), &fetch).await?,
                &model,
                started,
            )
        }
        AssessCmd::Fetch {
            request,
            model,
            batch,
            pepper_file,
            out,
            fetch,
        } => {
            let model = load_model(&model)?;
            let request: RequestId = request
                .parse()
                .map_err(|e| anyhow!("request id {request:?}: {e}"))?;
            // From here: waiting, checking, opening and recording the result.
            let started = Instant::now();
            if let Some(path) = batch {
                let pepper = pepper_file.as_deref().map(read_pepper).transpose()?;
                let list = BatchList::read(&path, pepper.as_ref(), Some(&client)).await?;
                let opened = fetch_and_open_batch(&client, request, &model, &list, &fetch).await?;
                return report_batch(opened, &model, &list, out.as_deref(), started);
            }
            report(
                fetch_and_open(&client, request, &model, None, &fetch).await?,
                &model,
                started,
            )
        }
    }
}

/// What became of a request this client followed.
pub enum Opened {
    /// The result, opened and committed; the receipt is written.
    Result {
        /// The receipt (result, nonce, commitment).
        receipt: Receipt,
        /// Where it was written.
        path: PathBuf,
    },
    /// The consortium failed the request; the reason label.
    Failed(String),
    /// The served shares were refused (nothing was opened or recorded); why.
    Refused(Refusal),
}

/// Prints why the shares were refused; a check failed.
pub(crate) fn report_refused(refusal: &Refusal) -> Outcome {
    println!("refused: {refusal}");
    println!(
        "nothing was recorded; tell the consortium, and fetch from another department's node (--node)"
    );
    Outcome::CheckFailed
}

/// Prints why the request failed: a refusal (exit 3) when a consent was missing or
/// withdrawn, else a failed computation (exit 1).
pub(crate) fn report_failed(what: &str, reason: &str) -> Outcome {
    println!("the {what} failed: {reason}");
    let refused = Some(reason) == Some(FailureReason::ConsentMissing.label());
    if refused {
        println!(
            "the subject's consent for this purpose and these data is missing or withdrawn; ask the registrar (weinong consent grant)"
        );
        Outcome::Refused
    } else {
        Outcome::CheckFailed
    }
}

fn report(opened: Opened, model: &Model, started: Instant) -> Result<Outcome> {
    match opened {
        Opened::Failed(reason) => Ok(report_failed("request", &reason)),
        Opened::Refused(refusal) => Ok(report_refused(&refusal)),
        Opened::Result { receipt, path } => {
            print_result(model, &receipt);
            println!(
                "result commitment {} recorded; receipt written to {} ({} ms in all)",
                receipt.commitment,
                path.display(),
                started.elapsed().as_millis()
            );
            Ok(Outcome::Ok)
        }
    }
}

/// Signs and submits an assessment request for `subject`; returns its id once committed.
pub async fn submit_request(
    client: &Client,
    model: &Model,
    subject: SubjectPseudonym,
    purpose: Purpose,
) -> Result<RequestId> {
    let request = RequestId::from_bytes(random32()?);
    let call = Call::AssessmentRequest(AssessmentRequest {
        request,
        subject,
        purpose,
        model: ModelId::from_bytes(model.id().0),
    });
    submit_one(client, &call, "the assessment request").await?;
    Ok(request)
}

/// Waits for the three sealed shares, checks and opens them (`subjects`: the digest of the
/// subject the request was made for, when this client knows it), records the commitment,
/// writes the receipt and prints the result.
pub async fn fetch_and_open(
    client: &Client,
    request: RequestId,
    model: &Model,
    subjects: Option<[u8; 32]>,
    options: &FetchOptions,
) -> Result<Opened> {
    let sealed = match wait_sealed(client, request, options).await? {
        Sealed::Failed(reason) => return Ok(Opened::Failed(reason)),
        Sealed::Shares(sealed) => sealed,
    };
    let shares = match checked_shares(
        client,
        request,
        &sealed,
        subjects,
        |b| OutputShare::from_bytes(b).map_err(|e| e.to_string()),
        OutputShare::binding,
    )
    .await?
    {
        Ok(shares) => shares,
        Err(refusal) => return Ok(Opened::Refused(refusal)),
    };
    let outputs = reconstruct(model, &shares)
        .map_err(|e| Failed(format!("the output shares do not fit together: {e}")))?;
    let rows: Vec<Vec<i64>> = (0..outputs_len(&outputs)).map(|i| outputs.row(i)).collect();
    let names = model.outputs().iter().map(|o| o.name.clone()).collect();
    commit_result(client, request, model, names, rows, options).await
}

/// What the node holds for a request this client waits on.
pub(crate) enum Sealed {
    /// The three sealed shares.
    Shares(Vec<SealedShareBody>),
    /// The request failed; the reason label.
    Failed(String),
}

/// Polls the node until the three sealed shares are there, the request fails, or the
/// time-out passes.
pub(crate) async fn wait_sealed(
    client: &Client,
    request: RequestId,
    options: &FetchOptions,
) -> Result<Sealed> {
    let deadline = Instant::now() + Duration::from_secs(options.timeout_s);
    loop {
        let answer = client.assessment(&request.to_hex()).await?;
        match answer.status.as_str() {
            "failed" => {
                return Ok(Sealed::Failed(
                    answer
                        .failure
                        .unwrap_or_else(|| "no reason given".to_owned()),
                ));
            }
            "computed" => bail!(
                "request {request} already has a result commitment on the ledger; its receipt is with whoever recorded it"
            ),
            _ => {}
        }
        let shares = answer.shares;
        if shares.len() == 3 {
            return Ok(Sealed::Shares(shares));
        }
        if Instant::now() >= deadline {
            return Err(Unavailable(format!(
                "no result for request {request} after {} s ({} of 3 output shares arrived); try `weinong assess fetch` later",
                options.timeout_s,
                shares.len()
            ))
            .into());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Checks the served shares against what the ledger says (the consortium id, the
/// request's model and history, each signer's key record, all through the node's state
/// API) and opens them with the institution's key: the decoded shares in party order, or
/// why they are refused (`share_check`).
pub(crate) async fn checked_shares<T>(
    client: &Client,
    request: RequestId,
    sealed: &[SealedShareBody],
    subjects: Option<[u8; 32]>,
    decode: impl Fn(&[u8]) -> Result<T, String>,
    binding: impl Fn(&T) -> ShareBinding,
) -> Result<Result<Vec<T>, Refusal>> {
    let served: Vec<ServedShare> = match sealed.iter().map(ServedShare::from_body).collect() {
        Ok(served) => served,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let governance = client.governance().await?;
    let consortium = crate::cmd_tx::hex32("consortium id", &governance.consortium)
        .map_err(|_| anyhow!("the node's governance answer has no consortium id"))?;
    let history = client.history(&request.to_hex()).await?;
    let facts = RequestFacts::from_history(consortium, *request.as_bytes(), &history)
        .map_err(|e| anyhow!("request {request}: {e}"))?;
    let mut signers = std::collections::BTreeMap::new();
    for signer in signer_ids(&served) {
        match client.key_info(&signer).await {
            Ok(answer) => {
                let facts =
                    SignerFacts::from_key(&answer).map_err(|e| anyhow!("key {signer}: {e}"))?;
                signers.insert(signer, facts);
            }
            // Not on the ledger: check_shares names it (decided on the code, not the text).
            Err(e) if e.code() == Some(ErrorCode::NoSuchKey) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(check_shares(
        &served,
        &facts,
        &signers,
        client.key(),
        subjects,
        decode,
        binding,
    ))
}

/// Commits to `rows` (one per subject, values named `names`) with a fresh nonce, writes
/// the receipt (0600) and records the commitment on the ledger.
pub(crate) async fn commit_result(
    client: &Client,
    request: RequestId,
    model: &Model,
    names: Vec<String>,
    rows: Vec<Vec<i64>>,
    options: &FetchOptions,
) -> Result<Opened> {
    let nonce = Zeroizing::new(random32()?);
    let model_id = ModelId::from_bytes(model.id().0);
    let (receipt, commitment) =
        Receipt::commit(&request, &model_id, names, rows, &nonce).context("too many subjects")?;
    let path = options
        .receipt
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("receipt-{request}.json")));
    write_private(&path, &serde_json::to_vec_pretty(&receipt)?)?;
    let call = Call::ResultRecord(ResultRecord {
        request,
        model: model_id,
        commitment,
    });
    submit_one(client, &call, "the result commitment").await?;
    Ok(Opened::Result { receipt, path })
}

fn outputs_len(outputs: &OutputBatch) -> usize {
    outputs.columns().first().map_or(0, Vec::len)
}

fn print_result(model: &Model, receipt: &Receipt) {
    for (subject, row) in receipt.outputs.iter().enumerate() {
        if receipt.outputs.len() > 1 {
            println!("subject #{subject}");
        }
        let width = model
            .outputs()
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(0);
        for (output, value) in model.outputs().iter().zip(row) {
            let meaning = output.doc.lines().next().unwrap_or("");
            println!("  {:width$}  {value:>5}  {meaning}", output.name);
        }
        if model.name() == crate::trend_report::MODEL {
            match crate::trend_report::lines(&receipt.output_names, row) {
                Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
                Err(e) => eprintln!("no trend report: {e}"),
            }
        }
    }
}

/// Signs `call`, submits it and requires it committed. While the consortium cannot order
/// it (no leader for a moment, e.g. after a node failed), the same signed transaction is
/// submitted again; before each retry, and after a refusal that may be a replay of an
/// earlier attempt, the transaction is looked up, so one that did commit counts once.
pub(crate) async fn submit_one(client: &Client, call: &Call, what: &str) -> Result<()> {
    let nonce = client.next_nonce(None).await?;
    let tx = sign_call(client.key(), call, nonce)?;
    match client
        .submit_until_fate(&tx, SUBMIT_RETRY_FOR, SUBMIT_RETRY_EVERY)
        .await?
    {
        SubmitOutcome::Committed { .. } => Ok(()),
        // A void block refused nothing for good.
        other if other.is_retryable() => Err(Unavailable(format!(
            "{what} could not be ordered now: {}; retry",
            other.reason()
        ))
        .into()),
        other => Err(Refused(format!("{what} was rejected: {}", other.reason())).into()),
    }
}

/// A shipped model by its name (`admission-v1`, `periodic-v1`, `periodic-v2`), else the
/// spec file at that path.
pub fn load_model(name: &str) -> Result<Model> {
    let mut names = Vec::new();
    for source in SHIPPED {
        let model = compile(source).map_err(|e| anyhow!("shipped model: {e}"))?;
        if model.name() == name {
            return Ok(model);
        }
        names.push(model.name().to_owned());
    }
    let source = fs::read_to_string(name).with_context(|| {
        format!(
            "--model {name:?} is neither a shipped model ({}) nor a readable spec file",
            names.join(", ")
        )
    })?;
    compile(&source).map_err(|e| anyhow!("--model {name}: {e}"))
}

pub(crate) fn random32() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("the OS random source failed: {e}"))?;
    Ok(bytes)
}

/// Writes a new file only its owner can read.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create receipt {} (does it exist already?)",
            path.display()
        )
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write receipt {}", path.display()))
}
