//! `weinong tx …`: build, sign and submit contract transactions against a node's API, and
//! fetch transactions, heads and proof bundles.
//!
//! Governance is collected from files, since k admins rarely sit at one terminal:
//! `tx governance propose … --out change.json` writes the change bound to the consortium
//! and its sequence number; each admin runs `tx governance approve change.json --key
//! admin.keystore`, which appends an SM2 approval; any admin then runs `tx governance
//! submit change.json` to sign and submit the transaction.
//!
//! Reads: `tx get`, `tx head`, `tx bundle`, `tx consistency` (files `weinong audit` checks
//! offline), `tx consent status`, `tx history`.
//!
//! Nonces are the signing time in ms, raised above the key's last nonce on the ledger
//! (`GET /v1/keys/{id}`), so successive transactions from one key always increase.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use weinong_contracts::payload::{model_id, rotation_bytes};
use weinong_contracts::{
    Call, CategorySet, Change, ConsentGrant, ConsentId, ConsentRevoke, DataCategory, EvidenceHash,
    MemberId, ModelId, Purpose, Role,
};
use weinong_keys::{KeyId, KeyPair, SubjectPseudonym, sm3_digest};
use weinong_ledger::bundle::{CertifiedHead, ConsistencyFile, ProofBundle};
use weinong_ledger::{Hash32, Transaction};

use crate::Outcome;
use crate::client::{Client, now_ms, sign_call};
use crate::cmd_keys::{open_keystore_file, read_public};
use weinong_api::SubmitOutcome;
use weinong_api::proposal::Proposal;

/// Largest file `tx` reads (a transaction list, a proposal, a model spec).
const FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// `weinong tx`: the node and the key, then what to do.
#[derive(Args)]
pub struct TxArgs {
    /// The node's API, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "WEINONG_NODE", global = true)]
    node: Option<String>,
    /// Keystore that signs requests and transactions (password from WEINONG_KEY_PASSWORD
    /// or asked).
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    #[command(subcommand)]
    cmd: TxCmd,
}

/// `weinong tx` subcommands.
#[derive(Subcommand)]
pub enum TxCmd {
    /// Submit signed transactions: each FILE holds hex transactions, one per line.
    Submit {
        /// Hex transaction files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Record or withdraw a consent (registrar key).
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// k-of-n admin governance, collected from a file.
    #[command(subcommand)]
    Governance(GovernanceCmd),
    /// Show a committed transaction.
    Get {
        /// Transaction hash (64 hex characters).
        hash: String,
    },
    /// Show an assessment request's history (institutions: their own requests only).
    History {
        /// Request id (64 hex characters).
        id: String,
    },
    /// Save the consistency proof between two blocks' logs, for `weinong audit consistency`.
    Consistency {
        /// The older block.
        #[arg(long)]
        from_height: u64,
        /// The newer block (default: the tip).
        #[arg(long)]
        to_height: Option<u64>,
        /// Where to write the proof JSON.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show (or save) the latest certified head (`weinong-head/1`).
    Head {
        /// Write the head JSON here (for `weinong audit consistency`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fetch a transaction's proof bundle, check it, and save it for `weinong audit verify`.
    Bundle {
        /// Transaction hash.
        hash: String,
        /// Where to write the bundle JSON.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Where a signed transaction goes: to the node, or to a file for `tx submit` later.
#[derive(Args)]
pub struct Delivery {
    /// Write the signed transaction (hex) here instead of submitting it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Nonce to sign with (default: now in ms, above the key's last nonce on the ledger).
    #[arg(long)]
    nonce: Option<u64>,
}

/// `weinong tx consent`.
#[derive(Subcommand)]
pub enum ConsentCmd {
    /// Show a consent's status at the tip's block time.
    Status {
        /// Consent id (64 hex characters).
        consent: String,
    },
    /// Record a consent.
    Grant {
        /// Consent id (64 hex characters), unique on the ledger.
        #[arg(long)]
        consent: String,
        /// Subject pseudonym (`weinong pseudonym`), 64 hex characters.
        #[arg(long)]
        subject: String,
        /// Key id of who may receive results.
        #[arg(long)]
        grantee: String,
        /// Purpose, e.g. "admission assessment".
        #[arg(long)]
        purpose: String,
        /// Data categories, comma-separated, e.g. "ability assessment,vital signs".
        #[arg(long)]
        categories: String,
        /// Start of validity, ms since the Unix epoch (default: now).
        #[arg(long)]
        valid_from: Option<u64>,
        /// End of validity (exclusive), ms since the Unix epoch.
        #[arg(long)]
        valid_until: u64,
        /// The signed consent form (kept off the ledger); its SM3 is recorded.
        #[arg(long)]
        evidence: PathBuf,
        #[command(flatten)]
        delivery: Delivery,
    },
    /// Record a consent's withdrawal.
    Revoke {
        /// Consent id.
        #[arg(long)]
        consent: String,
        /// The withdrawal request (kept off the ledger); its SM3 is recorded.
        #[arg(long)]
        evidence: PathBuf,
        #[command(flatten)]
        delivery: Delivery,
    },
}

/// `weinong tx governance`.
#[derive(Subcommand)]
pub enum GovernanceCmd {
    /// Write a proposed change, bound to the consortium and the next sequence number (asked
    /// of the node unless both --consortium and --seq are given).
    Propose {
        /// The proposal file to create.
        #[arg(long)]
        out: PathBuf,
        /// Consortium id (hex), instead of asking the node.
        #[arg(long, requires = "seq")]
        consortium: Option<String>,
        /// Governance sequence number, instead of asking the node.
        #[arg(long, requires = "consortium")]
        seq: Option<u64>,
        #[command(subcommand)]
        change: ChangeCmd,
    },
    /// Append this admin's approval (--key) to a proposal file.
    Approve {
        /// The proposal file.
        file: PathBuf,
    },
    /// Sign the proposal with its approvals as a transaction (--key, an admin) and submit.
    Submit {
        /// The proposal file.
        file: PathBuf,
        #[command(flatten)]
        delivery: Delivery,
    },
}

/// A governance change.
#[derive(Subcommand)]
pub enum ChangeCmd {
    /// Admit a department node.
    AddMember {
        /// New member number.
        #[arg(long)]
        member: u16,
        /// The node's public key (PEM, DER or keystore).
        #[arg(long)]
        public: PathBuf,
    },
    /// Remove a member.
    RemoveMember {
        /// Member number.
        #[arg(long)]
        member: u16,
    },
    /// Bind a role to a key.
    BindRole {
        /// The key (PEM, DER or keystore).
        #[arg(long)]
        public: PathBuf,
        /// admin, department, institution, auditor, steward or registrar.
        #[arg(long)]
        role: String,
        /// Start, ms since the Unix epoch (default: now).
        #[arg(long)]
        valid_from: Option<u64>,
        /// End (exclusive), ms; none: until unbound.
        #[arg(long)]
        valid_until: Option<u64>,
    },
    /// End a key's binding of a role.
    UnbindRole {
        /// Key id.
        #[arg(long)]
        key_id: String,
        /// The role.
        #[arg(long)]
        role: String,
    },
    /// Replace a key; the old key's keystore signs its consent to the rotation.
    RotateKey {
        /// The old key's keystore.
        #[arg(long)]
        old: PathBuf,
        /// The new public key.
        #[arg(long)]
        new: PathBuf,
    },
    /// Revoke a key.
    RevokeKey {
        /// Key id.
        #[arg(long)]
        key_id: String,
    },
    /// Change the number of admin approvals needed.
    SetThreshold {
        /// New k.
        #[arg(long)]
        k: u16,
    },
    /// Register an assessment model (its id is the SM3 of the spec file).
    RegisterModel {
        /// Canonical model spec file (as `weinong model check SPEC --canonical FILE` writes it).
        #[arg(long)]
        spec: PathBuf,
        /// Data categories the model reads, comma-separated; must be exactly those its
        /// inputs declare (the nodes refuse anything else). Default: those.
        #[arg(long)]
        categories: Option<String>,
    },
    /// Retire a model.
    RetireModel {
        /// Model id.
        #[arg(long)]
        model: String,
    },
}

/// Dispatches `weinong tx`.
pub fn tx(args: TxArgs) -> Result<Outcome> {
    crate::client::block_on(run(args))
}

/// The node and the key a command talks with (shared with `weinong consent`).
pub(crate) struct Ctx {
    pub(crate) node: Option<String>,
    pub(crate) key: Option<PathBuf>,
}

impl Ctx {
    fn key(&self) -> Result<KeyPair> {
        let path = self
            .key
            .as_ref()
            .ok_or_else(|| anyhow!("--key KEYSTORE is needed to sign"))?;
        open_keystore_file(path)
    }

    pub(crate) fn client(&self) -> Result<Client> {
        let node = self
            .node
            .as_deref()
            .ok_or_else(|| anyhow!("--node URL (or WEINONG_NODE) is needed"))?;
        Ok(Client::new(node, self.key()?)?)
    }
}

async fn run(args: TxArgs) -> Result<Outcome> {
    let ctx = Ctx {
        node: args.node,
        key: args.key,
    };
    match args.cmd {
        TxCmd::Submit { files } => {
            let mut txs = Vec::new();
            for file in &files {
                txs.extend(read_tx_file(file)?);
            }
            submit(&ctx.client()?, &txs).await
        }
        TxCmd::Consent(cmd) => consent(&ctx, cmd).await,
        TxCmd::Governance(cmd) => governance(&ctx, cmd).await,
        TxCmd::Get { hash } => {
            let hash = hex::encode(hex32("transaction hash", &hash)?);
            print_json(&ctx.client()?.transaction(&hash).await?)
        }
        TxCmd::History { id } => {
            let id = hex::encode(hex32("request id", &id)?);
            print_json(&ctx.client()?.history(&id).await?)
        }
        TxCmd::Consistency {
            from_height,
            to_height,
            out,
        } => {
            let proof: ConsistencyFile = ctx
                .client()?
                .consistency(from_height, to_height)
                .await?
                .into();
            write_new(&out, serde_json::to_string_pretty(&proof)?.as_bytes())?;
            println!(
                "consistency proof from {} to {} leaves written to {} (check it with `weinong audit consistency OLD_HEAD NEW_HEAD {}`)",
                proof.old_size,
                proof.new_size,
                out.display(),
                out.display()
            );
            Ok(Outcome::Ok)
        }
        TxCmd::Head { out } => {
            let head: CertifiedHead = ctx.client()?.tree_head().await?.into();
            let (header, members) = head
                .verify(None)
                .map_err(|e| anyhow!("the node's head does not verify: {e}"))?;
            let text = serde_json::to_string_pretty(&head)?;
            match out {
                Some(path) => {
                    write_new(&path, text.as_bytes())?;
                    println!(
                        "block {} ({} leaves, root {}), certified by a quorum of {}: written to {}",
                        header.height,
                        header.log_size,
                        header.log_root,
                        members.quorum(),
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(Outcome::Ok)
        }
        TxCmd::Bundle { hash, out } => {
            let hash = hex32("transaction hash", &hash)?;
            let bundle: ProofBundle = ctx.client()?.proof_bundle(&hex::encode(hash)).await?.into();
            let report = bundle
                .verify(None)
                .map_err(|e| anyhow!("the node's bundle does not verify: {e}"))?;
            if report.tx_hash.0 != hash {
                bail!("the node sent a bundle for {} instead", report.tx_hash);
            }
            write_new(&out, serde_json::to_string_pretty(&bundle)?.as_bytes())?;
            println!(
                "transaction {} proven in block {}: written to {} (check it with `weinong audit verify`)",
                report.tx_hash,
                report.header.height,
                out.display()
            );
            Ok(Outcome::Ok)
        }
    }
}

/// The `what` file at `path`, at most `FILE_BYTES_MAX` bytes (the verifier's bounded read).
pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    weinong_audit_cli::read_bounded(path, FILE_BYTES_MAX, what)
}

/// Hex transactions, one per non-empty line, each checked to decode.
fn read_tx_file(path: &Path) -> Result<Vec<String>> {
    let text = String::from_utf8(read_file(path, "transaction file")?).map_err(|_| {
        anyhow!(
            "{} is not text (hex transactions, one per line)",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bytes = hex::decode(line)
            .with_context(|| format!("{} line {}: not hex", path.display(), n + 1))?;
        Transaction::decode(&bytes).with_context(|| {
            format!(
                "{} line {}: not a signed transaction",
                path.display(),
                n + 1
            )
        })?;
        out.push(line.to_ascii_lowercase());
    }
    if out.is_empty() {
        bail!("{} holds no transaction", path.display());
    }
    Ok(out)
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Replaces `path`'s contents atomically (write a sibling, then rename).
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

pub(crate) fn hex32(what: &str, s: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out)
        .map_err(|e| anyhow!("{what} must be 64 hex characters: {e}"))?;
    Ok(out)
}

fn normal(s: &str) -> String {
    s.trim().to_lowercase().replace(['-', '_'], " ")
}

/// A label as it is typed on the command line (`vital signs` -> `vital_signs`): what the
/// CLI prints wherever a user may copy a label back into a command.
pub(crate) fn as_typed(label: &str) -> String {
    label.replace(' ', "_")
}

/// A closed-enum value by its label ("admission assessment", "admission_assessment",
/// "admission-assessment").
pub(crate) fn by_label<T: Copy>(
    what: &str,
    all: &[T],
    label: fn(T) -> &'static str,
    s: &str,
) -> Result<T> {
    all.iter()
        .copied()
        .find(|v| normal(label(*v)) == normal(s))
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(|v| as_typed(label(*v))).collect();
            anyhow!("unknown {what} {s:?}; one of: {}", names.join(", "))
        })
}

fn role(s: &str) -> Result<Role> {
    by_label("role", Role::ALL, Role::label, s)
}

pub(crate) fn categories(s: &str) -> Result<CategorySet> {
    let list = s
        .split(',')
        .filter(|c| !c.trim().is_empty())
        .map(|c| by_label("data category", DataCategory::ALL, DataCategory::label, c))
        .collect::<Result<Vec<_>>>()?;
    if list.is_empty() {
        bail!("name at least one data category");
    }
    Ok(CategorySet::of(&list))
}

/// The ledger categories of a compiled model's inputs (what its registration declares).
pub(crate) fn model_categories(model: &weinong_mpc::model::Model) -> Result<CategorySet> {
    let list = model
        .categories()
        .into_iter()
        .map(|c| {
            DataCategory::from_code(c.code()).ok_or_else(|| {
                anyhow!(
                    "model {} reads data category {c}, which the ledger does not know",
                    model.name()
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CategorySet::of(&list))
}

/// Signs `call` and submits it, or writes it to `--out`.
pub(crate) async fn deliver(ctx: &Ctx, call: &Call, delivery: Delivery) -> Result<Outcome> {
    if let Some(out) = delivery.out {
        let nonce = delivery.nonce.unwrap_or_else(now_ms);
        let tx = sign_call(&ctx.key()?, call, nonce)?;
        write_new(&out, format!("{}\n", hex::encode(tx.as_bytes())).as_bytes())?;
        println!(
            "transaction {} (nonce {nonce}) written to {}",
            tx.hash(),
            out.display()
        );
        return Ok(Outcome::Ok);
    }
    let client = ctx.client()?;
    let nonce = client.next_nonce(delivery.nonce).await?;
    let tx = sign_call(client.key(), call, nonce)?;
    // One transaction of our own: a leader change (or a leader cut off by the very
    // governance change it just committed) is waited out, and a transaction that did
    // commit is found by its hash rather than reported as unavailable.
    let outcome = client
        .submit_until_fate(
            &tx,
            crate::cmd_assess::SUBMIT_RETRY_FOR,
            crate::cmd_assess::SUBMIT_RETRY_EVERY,
        )
        .await?;
    Ok(report(&[outcome]))
}

/// Submits hex transactions and prints each outcome: exit 0 when all committed, 3 when
/// any was rejected, else 4 (some could not be ordered now).
async fn submit(client: &Client, txs: &[String]) -> Result<Outcome> {
    let outcomes = client.submit(txs.to_vec()).await?;
    Ok(report(&outcomes))
}

/// Prints each outcome; the command's outcome (see [`submit`]).
fn report(outcomes: &[SubmitOutcome]) -> Outcome {
    let mut outcome = Outcome::Ok;
    for o in outcomes {
        match o {
            SubmitOutcome::Committed { tx, height, index } => {
                println!("committed {tx} in block {height} at log index {index}")
            }
            // A void block refused nothing for good: submitting again may commit it.
            _ if o.is_retryable() => {
                if outcome == Outcome::Ok {
                    outcome = Outcome::Unavailable;
                }
                println!("{} {}: {}", o.status(), o.tx(), o.reason());
            }
            _ => {
                outcome = Outcome::Refused;
                println!("{} {}: {}", o.status(), o.tx(), o.reason());
            }
        }
    }
    outcome
}

/// Prints a node's answer as pretty JSON.
fn print_json(answer: &impl serde::Serialize) -> Result<Outcome> {
    println!("{}", serde_json::to_string_pretty(answer)?);
    Ok(Outcome::Ok)
}

async fn consent(ctx: &Ctx, cmd: ConsentCmd) -> Result<Outcome> {
    match cmd {
        ConsentCmd::Status { consent } => {
            let id = hex::encode(hex32("consent id", &consent)?);
            print_json(&ctx.client()?.consent(&id).await?)
        }
        ConsentCmd::Grant {
            consent,
            subject,
            grantee,
            purpose,
            categories: cats,
            valid_from,
            valid_until,
            evidence,
            delivery,
        } => {
            let valid_from = valid_from.unwrap_or_else(now_ms);
            if valid_until <= valid_from {
                bail!("--valid-until {valid_until} must be after --valid-from {valid_from}");
            }
            let call = Call::ConsentGrant(ConsentGrant {
                consent: ConsentId::from_bytes(hex32("--consent", &consent)?),
                subject: SubjectPseudonym::from_bytes(hex32("--subject", &subject)?),
                grantee: KeyId::from_bytes(hex32("--grantee", &grantee)?),
                purpose: by_label("purpose", Purpose::ALL, Purpose::label, &purpose)?,
                categories: categories(&cats)?,
                valid_from,
                valid_until,
                evidence: EvidenceHash::from_bytes(sm3_digest(&read_file(&evidence, "evidence")?)),
            });
            deliver(ctx, &call, delivery).await
        }
        ConsentCmd::Revoke {
            consent,
            evidence,
            delivery,
        } => {
            let call = Call::ConsentRevoke(ConsentRevoke {
                consent: ConsentId::from_bytes(hex32("--consent", &consent)?),
                evidence: EvidenceHash::from_bytes(sm3_digest(&read_file(&evidence, "evidence")?)),
            });
            deliver(ctx, &call, delivery).await
        }
    }
}

fn change(cmd: ChangeCmd, consortium: &Hash32) -> Result<Change> {
    Ok(match cmd {
        ChangeCmd::AddMember { member, public } => Change::AddMember {
            member: MemberId(member),
            key: read_public(&public)?,
        },
        ChangeCmd::RemoveMember { member } => Change::RemoveMember {
            member: MemberId(member),
        },
        ChangeCmd::BindRole {
            public,
            role: r,
            valid_from,
            valid_until,
        } => Change::BindRole {
            key: read_public(&public)?,
            role: role(&r)?,
            valid_from: valid_from.unwrap_or_else(now_ms),
            valid_until,
        },
        ChangeCmd::UnbindRole { key_id, role: r } => Change::UnbindRole {
            key: KeyId::from_bytes(hex32("--key-id", &key_id)?),
            role: role(&r)?,
        },
        ChangeCmd::RotateKey { old, new } => {
            let old = open_keystore_file(&old)?;
            let new = read_public(&new)?;
            let signature = old.sign(&rotation_bytes(consortium, &old.key_id(), &new));
            Change::RotateKey {
                old: old.key_id(),
                new,
                old_signature: signature,
            }
        }
        ChangeCmd::RevokeKey { key_id } => Change::RevokeKey {
            key: KeyId::from_bytes(hex32("--key-id", &key_id)?),
        },
        ChangeCmd::SetThreshold { k } => Change::SetThreshold { k },
        ChangeCmd::RegisterModel {
            spec,
            categories: cats,
        } => {
            let spec = read_file(&spec, "model spec")?;
            let model =
                weinong_mpc::model::compile_canonical(&spec).map_err(|e| anyhow!("--spec: {e}"))?;
            let derived = model_categories(&model)?;
            let declared = match cats {
                Some(cats) => categories(&cats)?,
                None => derived,
            };
            if declared != derived {
                bail!(
                    "--categories {declared} differ from the categories model {} reads ({derived}); \
                     a registration must declare exactly its inputs' categories: drop --categories or name those",
                    model.name()
                );
            }
            println!("model id {}", model_id(&spec));
            println!("categories {derived}");
            Change::RegisterModel {
                categories: declared,
                spec,
            }
        }
        ChangeCmd::RetireModel { model } => Change::RetireModel {
            model: ModelId::from_bytes(hex32("--model", &model)?),
        },
    })
}

/// Reads and checks a proposal file.
fn read_proposal(path: &Path) -> Result<Proposal> {
    let bytes = read_file(path, "proposal")?;
    let text =
        std::str::from_utf8(&bytes).with_context(|| format!("{} is not text", path.display()))?;
    Proposal::from_json(text).with_context(|| format!("{}", path.display()))
}

async fn governance(ctx: &Ctx, cmd: GovernanceCmd) -> Result<Outcome> {
    match cmd {
        GovernanceCmd::Propose {
            out,
            consortium,
            seq,
            change: cmd,
        } => {
            let (consortium, seq) = match (consortium, seq) {
                (Some(c), Some(s)) => (Hash32(hex32("--consortium", &c)?), s),
                _ => {
                    let g = ctx.client()?.governance().await?;
                    (Hash32(hex32("consortium", &g.consortium)?), g.seq)
                }
            };
            let proposal = Proposal::new(&consortium, seq, change(cmd, &consortium)?)?;
            write_new(&out, serde_json::to_string_pretty(&proposal)?.as_bytes())?;
            println!(
                "proposal #{seq} ({}) written to {}; each admin now runs `weinong tx governance approve {}`",
                proposal.summary,
                out.display(),
                out.display()
            );
            Ok(Outcome::Ok)
        }
        GovernanceCmd::Approve { file } => {
            let mut proposal = read_proposal(&file)?;
            let key = ctx.key()?;
            println!(
                "approving #{} of consortium {}: {}",
                proposal.seq, proposal.consortium, proposal.summary
            );
            proposal.approve(&key)?;
            replace(&file, serde_json::to_string_pretty(&proposal)?.as_bytes())?;
            println!(
                "{} approval(s) in {}",
                proposal.approvals.len(),
                file.display()
            );
            Ok(Outcome::Ok)
        }
        GovernanceCmd::Submit { file, delivery } => {
            let proposal = read_proposal(&file)?;
            if proposal.approvals.is_empty() {
                bail!(
                    "{} has no approval yet; run `weinong tx governance approve`",
                    file.display()
                );
            }
            let call = Call::Governance(proposal.governance()?);
            deliver(ctx, &call, delivery).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_loosely_and_unknown_ones_list_the_choices() {
        assert_eq!(role("Institution").unwrap(), Role::Institution);
        assert_eq!(
            by_label(
                "purpose",
                Purpose::ALL,
                Purpose::label,
                "admission-assessment"
            )
            .unwrap(),
            Purpose::AdmissionAssessment
        );
        assert_eq!(
            categories("ability assessment, vital_signs").unwrap(),
            CategorySet::of(&[DataCategory::AbilityAssessment, DataCategory::VitalSigns])
        );
        let e = role("boss").unwrap_err().to_string();
        assert!(e.contains("registrar"), "{e}");
        assert!(categories(" , ").is_err());
    }
}
