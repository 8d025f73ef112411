//! `weinong audit request` and `weinong audit verify` of a request bundle
//! (`weinong-request-bundle/1`, served by `GET /v1/requests/{id}/bundle`): fetch one
//! assessment request's whole story, then check it offline.
//!
//! Verification has two layers. The proofs: the ledger verifier checks every transaction's
//! signature, its inclusion in the log of the block that holds it, that block's header
//! chain to a head certified by a quorum of the genesis members, and the co-signed tree
//! head (`weinong-bundle-set/1`). The story: each payload is decoded with the contracts'
//! codec and the consent rules are replayed: one request with that id; the model's
//! registration; every access names the request and its subject, under a consent in the
//! bundle granted to the requester for the request's purpose and categories, valid at the
//! access's block time and not withdrawn before it in the log; the accesses cover every
//! category the model reads before a result; the result is signed by the requester and, with
//! a receipt, opens to the recorded commitment. A batch request's bundle holds its list
//! parts (checked: every part, in order, one signer, one ascending list) and the
//! departments' batch accesses; the per-subject consent grants the contracts found are not
//! in it (a batch may list a million subjects). The bundle's optional `shares` section holds
//! the departments' signatures over the sealed output shares the node holds (party, signer
//! key id, SM3 of the ciphertext, signature): each is checked against the signer's key
//! (a genesis member's, or the proven signer of an access in the bundle), the signer must
//! be the key that recorded that party's department's access where one is in the bundle,
//! no key signs twice, and the signature must verify over the share message for this
//! consortium, request and model; so an auditor can tell which ciphertexts the departments
//! gave the care home. A bundle without the section (older nodes) says so and passes.
//! Every check prints one line, `ok` or `FAILED` with the reason; exit 0 when all hold, 1
//! when one fails, 2 for unreadable input.
//!
//! Must not know node internals: the bundle arrives over HTTP and is checked with
//! `weinong-ledger` and `weinong-contracts` only.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::Value;
use weinong_contracts::payload::model_id;
use weinong_contracts::{
    AccessRecord, AssessmentRequest, BatchRequest, Call, CategorySet, Change, ConsentGrant,
    ConsentId, Department, Genesis, ModelId, RequestId, ResultCommitment,
};
use weinong_keys::{KeyId, PublicKey, Signature, SubjectPseudonym};
use weinong_ledger::bundle::{BundleReport, BundleSet};
use weinong_mpc::PartyId;
use weinong_mpc::model::share_signature_message;

use crate::Outcome;
use crate::client::Client;
use crate::cmd_keys::open_keystore_file;
use crate::cmd_tx::hex32;

/// Format string of a request bundle (the node's `GET /v1/requests/{id}/bundle`).
pub const REQUEST_BUNDLE_FORMAT: &str = "weinong-request-bundle/1";
/// Largest receipt file read.
const RECEIPT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// `weinong audit request`.
#[derive(Args)]
pub struct RequestArgs {
    /// The assessment request id (64 hex characters).
    request: String,
    /// The node's API, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "WEINONG_NODE")]
    node: String,
    /// Keystore that signs the API request (an auditor, an admin, or the requester;
    /// password from WEINONG_KEY_PASSWORD or asked).
    #[arg(long)]
    key: PathBuf,
    /// Where to write the bundle JSON.
    #[arg(long)]
    out: PathBuf,
}

/// A request bundle as the node writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBundle {
    format: String,
    request: String,
    genesis: Option<String>,
    transactions: BundleSet,
    /// The departments' share signatures (absent in bundles of older nodes).
    #[serde(default)]
    shares: Vec<ShareSignature>,
}

/// One department's signature over the sealed share it gave the requester.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareSignature {
    party: u8,
    signer: String,
    ciphertext_sm3: String,
    signature: String,
}

/// What `weinong assess request` writes for the requester: the result and the nonce that
/// open the recorded commitment. `outputs` is one row per subject, each in the model's
/// output order (`output_names`).
#[derive(Debug, Deserialize)]
struct Receipt {
    request: String,
    model: String,
    len: u32,
    outputs: Vec<Vec<i64>>,
    output_names: Vec<String>,
    nonce: String,
    commitment: String,
}

/// Fetches the bundle and writes it.
pub fn request(args: RequestArgs) -> Result<Outcome> {
    let id = RequestId::from_bytes(hex32("request id", &args.request)?);
    let client = Client::new(&args.node, open_keystore_file(&args.key)?)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bundle: Value =
        runtime.block_on(client.get(&format!("/v1/requests/{}/bundle", id.to_hex())))?;
    let count = bundle["transactions"]["entries"]
        .as_array()
        .map_or(0, Vec::len);
    let text = serde_json::to_string_pretty(&bundle)?;
    fs::write(&args.out, text.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({count} transactions of request {id}); check it offline with `weinong audit verify {}`",
        args.out.display(),
        args.out.display()
    );
    Ok(Outcome::Ok)
}

/// Whether `text` is a request bundle (by its `format`), for `weinong audit verify`.
pub fn is_request_bundle(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .is_some_and(|v| v["format"] == REQUEST_BUNDLE_FORMAT)
}

/// Prints one line per check and remembers whether any failed.
#[derive(Default)]
struct Report {
    failed: bool,
}

impl Report {
    fn ok(&mut self, check: &str, detail: impl AsRef<str>) {
        println!("ok      {check}: {}", detail.as_ref());
    }
    fn fail(&mut self, check: &str, reason: impl AsRef<str>) {
        self.failed = true;
        println!("FAILED  {check}: {}", reason.as_ref());
    }
    fn check(&mut self, check: &str, holds: bool, ok: impl AsRef<str>, failed: impl AsRef<str>) {
        if holds {
            self.ok(check, ok);
        } else {
            self.fail(check, failed);
        }
    }
    fn outcome(&self) -> Outcome {
        if self.failed {
            println!("result: FAILED (a check above failed)");
            Outcome::CheckFailed
        } else {
            println!("result: every check holds");
            Outcome::Ok
        }
    }
}

/// One proven transaction with its decoded call.
struct Proven {
    report: BundleReport,
    call: Call,
}

impl Proven {
    fn index(&self) -> u64 {
        self.report.leaf_index
    }
    fn time_ms(&self) -> u64 {
        self.report.header.time_ms
    }
    fn height(&self) -> u64 {
        self.report.header.height
    }
    fn signer(&self) -> KeyId {
        self.report.transaction.body().signer
    }
}

/// Verifies a request bundle read from `text`.
pub fn verify(text: &str, genesis: Option<&Path>, receipt: Option<&Path>) -> Result<Outcome> {
    let bundle: RequestBundle = serde_json::from_str(text)
        .map_err(|e| anyhow!("not a {REQUEST_BUNDLE_FORMAT} bundle: {e}"))?;
    let receipt = receipt.map(read_receipt).transpose()?;
    let id = RequestId::from_bytes(hex32("the bundle's request", &bundle.request)?);
    let mut r = Report::default();
    println!("request {id}");
    r.check(
        "format",
        bundle.format == REQUEST_BUNDLE_FORMAT,
        REQUEST_BUNDLE_FORMAT,
        format!("{:?} is not {REQUEST_BUNDLE_FORMAT:?}", bundle.format),
    );
    let Some(genesis) = genesis_of(&bundle, genesis, &mut r)? else {
        return Ok(r.outcome());
    };
    let members = genesis
        .member_set()
        .map_err(|e| anyhow!("the genesis member set is not usable: {e}"))?;
    let reports = match bundle.transactions.verify(Some(&members)) {
        Ok(reports) => reports,
        Err(e) => {
            r.fail(
                "proofs",
                format!("check `{}` failed: {}", e.check, e.reason),
            );
            return Ok(r.outcome());
        }
    };
    let heads: std::collections::BTreeSet<u64> =
        reports.iter().map(|p| p.certified.height).collect();
    let cosigned = reports
        .iter()
        .filter(|p| p.tree_head_cosignatures.is_some())
        .count();
    r.ok(
        "proofs",
        format!(
            "{} transactions signed and included in the log, each pinned to its block, certified by a quorum of {} of the {} genesis members (heads at blocks {heads:?}; {cosigned} with a co-signed tree head)",
            reports.len(),
            members.quorum(),
            members.keys().len()
        ),
    );
    let mut proven = Vec::with_capacity(reports.len());
    for report in reports {
        let body = report.transaction.body();
        match Call::decode(body.kind, &body.payload) {
            Ok(call) => proven.push(Proven { report, call }),
            Err(e) => r.fail(
                "payload",
                format!("transaction {} does not decode: {e}", report.tx_hash),
            ),
        }
    }
    proven.sort_by_key(Proven::index);
    story(&mut r, id, &proven, receipt.as_ref());
    share_signatures(&mut r, &bundle, &genesis, id, &proven);
    Ok(r.outcome())
}

/// The departments' signatures over the sealed shares (see the module doc).
fn share_signatures(
    r: &mut Report,
    bundle: &RequestBundle,
    genesis: &Genesis,
    id: RequestId,
    txs: &[Proven],
) {
    if bundle.shares.is_empty() {
        r.ok(
            "shares",
            "the bundle carries no share signatures (a node of an older build, or it holds no shares for this request)",
        );
        return;
    }
    let model = txs.iter().find_map(|p| match &p.call {
        Call::AssessmentRequest(q) if q.request == id => Some(q.model),
        Call::BatchRequest(b) if b.request == id => Some(b.model),
        _ => None,
    });
    let (Some(model), Ok(consortium)) = (model, genesis.consortium()) else {
        r.fail(
            "shares",
            "the request (or the consortium id) is missing: the share signatures cannot be checked",
        );
        return;
    };
    // Keys the proofs vouch for: the genesis members', and every proven signer's.
    let mut keys: std::collections::BTreeMap<KeyId, PublicKey> = genesis
        .members
        .iter()
        .map(|(_, k)| (k.key_id(), k.clone()))
        .collect();
    for entry in &bundle.transactions.entries {
        if let Some(key) = hex::decode(entry.bundle.signer_key.trim())
            .ok()
            .and_then(|b| PublicKey::from_sec1_bytes(&b).ok())
        {
            keys.insert(key.key_id(), key);
        }
    }
    // Who recorded each party's department's access.
    let mut accessed_by: [Option<KeyId>; 3] = [None; 3];
    for p in txs {
        let categories = match &p.call {
            Call::AccessRecord(a) if a.request == id => a.categories,
            Call::BatchAccess(a) if a.request == id => a.categories,
            _ => continue,
        };
        for c in categories.iter() {
            accessed_by[party_of(c.holder())] = Some(p.signer());
        }
    }
    let mut seen_parties = [false; 3];
    let mut seen_signers = std::collections::BTreeSet::new();
    for share in &bundle.shares {
        let name = format!("share of party {}", share.party);
        match share_problem(
            share,
            &keys,
            &accessed_by,
            &mut seen_parties,
            &mut seen_signers,
            (consortium.as_bytes(), id.as_bytes(), &model),
        ) {
            None => r.ok(
                &name,
                format!(
                    "ciphertext SM3 {} signed by key {}, that department's key",
                    share.ciphertext_sm3, share.signer
                ),
            ),
            Some(reason) => r.fail(&name, reason),
        }
    }
}

/// What is wrong with one share signature, if anything.
fn share_problem(
    share: &ShareSignature,
    keys: &std::collections::BTreeMap<KeyId, PublicKey>,
    accessed_by: &[Option<KeyId>; 3],
    seen_parties: &mut [bool; 3],
    seen_signers: &mut std::collections::BTreeSet<KeyId>,
    (consortium, request, model): (&[u8; 32], &[u8; 32], &ModelId),
) -> Option<String> {
    let Ok(party) = PartyId::new(share.party) else {
        return Some("parties are 0, 1 and 2".to_owned());
    };
    if std::mem::replace(&mut seen_parties[party.index()], true) {
        return Some("a second signature for the same party".to_owned());
    }
    let Ok(signer) = share.signer.parse::<KeyId>() else {
        return Some(format!("signer {:?} is not a key id", share.signer));
    };
    let Some(key) = keys.get(&signer) else {
        return Some(format!(
            "signer {signer} is neither a genesis member nor the signer of a proven transaction in the bundle"
        ));
    };
    if let Some(recorded) = accessed_by[party.index()]
        && recorded != signer
    {
        return Some(format!(
            "signed by key {signer}, but key {recorded} recorded that department's access"
        ));
    }
    if let Some(other) = (0..3).find(|&q| q != party.index() && accessed_by[q] == Some(signer)) {
        return Some(format!(
            "signed by key {signer}, which recorded party {other}'s department access"
        ));
    }
    if !seen_signers.insert(signer) {
        return Some(format!("key {signer} signed another party's share too"));
    }
    let Ok(digest) = hex32("ciphertext SM3", &share.ciphertext_sm3) else {
        return Some("the ciphertext SM3 is not 64 hex characters".to_owned());
    };
    let Some(signature) = hex::decode(&share.signature)
        .ok()
        .and_then(|b| Signature::from_bytes(&b).ok())
    else {
        return Some("the signature is not 64 bytes r‖s in hex".to_owned());
    };
    let message = share_signature_message(
        consortium,
        request,
        party,
        &weinong_mpc::model::ModelId(*model.as_bytes()),
        &digest,
    );
    if key.verify(&message, &signature).is_err() {
        return Some(format!(
            "the signature does not verify with key {signer} for this consortium, request and model"
        ));
    }
    None
}

/// The MPC party a department plays (civil affairs 0, health 1, medical insurance 2).
fn party_of(department: Department) -> usize {
    department.party()
}

/// The genesis the proofs rest on: the pinned file, else the bundle's own (printed for
/// comparison). `None` after a failed check.
fn genesis_of(
    bundle: &RequestBundle,
    pinned: Option<&Path>,
    r: &mut Report,
) -> Result<Option<Genesis>> {
    let carried = bundle
        .genesis
        .as_deref()
        .map(|h| hex::decode(h.trim()).context("the bundle's genesis is not hex"))
        .transpose()?;
    let (bytes, how) = match (pinned, carried) {
        (Some(path), carried) => {
            let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            if carried.as_ref().is_some_and(|c| *c != bytes) {
                r.fail(
                    "genesis",
                    format!(
                        "the bundle's genesis is not the pinned one ({})",
                        path.display()
                    ),
                );
                return Ok(None);
            }
            (bytes, format!("pinned from {}", path.display()))
        }
        (None, Some(carried)) => (
            carried,
            "taken from the bundle: compare the consortium id with the one you know, or pin it with --genesis".to_owned(),
        ),
        (None, None) => bail!("the bundle carries no genesis: give the consortium's with --genesis FILE"),
    };
    let genesis = Genesis::decode(&bytes).context("the genesis does not decode")?;
    let consortium = genesis
        .consortium()
        .context("the genesis does not encode")?;
    r.ok("genesis", format!("consortium {consortium} ({how})"));
    Ok(Some(genesis))
}

/// The consent rules, replayed over the proven transactions in log order.
fn story(r: &mut Report, id: RequestId, txs: &[Proven], receipt: Option<&Receipt>) {
    let requests: Vec<(&Proven, &AssessmentRequest)> = txs
        .iter()
        .filter_map(|p| match &p.call {
            Call::AssessmentRequest(q) if q.request == id => Some((p, q)),
            _ => None,
        })
        .collect();
    if requests.is_empty()
        && txs
            .iter()
            .any(|p| matches!(&p.call, Call::BatchRequest(b) if b.request == id))
    {
        batch_story(r, id, txs, receipt);
        return;
    }
    let [(request_tx, request)] = requests.as_slice() else {
        r.fail(
            "request",
            format!(
                "{} assessment requests with id {id} in the bundle; exactly one is needed",
                requests.len()
            ),
        );
        return;
    };
    let requester = request_tx.signer();
    r.ok(
        "request",
        format!(
            "requested by key {requester} at block {} for {} with model {}",
            request_tx.height(),
            request.purpose,
            request.model
        ),
    );
    let model = model_categories(r, txs, &request.model);
    let mut accessed = CategorySet::EMPTY;
    let mut cited = Vec::new();
    for p in txs {
        if let Call::AccessRecord(a) = &p.call {
            cited.push(a.consent);
            if access(r, txs, p, a, id, request, requester) {
                accessed = accessed.union(a.categories);
            }
        }
    }
    unrelated(r, txs, id, &cited);
    ending(
        r,
        txs,
        id,
        &request.model,
        requester,
        model,
        accessed,
        receipt,
    );
}

/// A batch request's story: its list parts, the departments' batch accesses, the ending.
/// Per-subject consents are found by the contracts on every node when each batch access
/// is applied; their grants are not in the bundle (a batch may list a million subjects),
/// so this checks what the request and accesses say, not each subject's consent.
fn batch_story(r: &mut Report, id: RequestId, txs: &[Proven], receipt: Option<&Receipt>) {
    let parts: Vec<(&Proven, &BatchRequest)> = txs
        .iter()
        .filter_map(|p| match &p.call {
            Call::BatchRequest(b) if b.request == id => Some((p, b)),
            _ => None,
        })
        .collect();
    let Some(&(first_tx, first)) = parts.first() else {
        return;
    };
    let requester = first_tx.signer();
    let mut listed: Vec<SubjectPseudonym> = Vec::new();
    let mut problem = None;
    for (i, (p, b)) in parts.iter().enumerate() {
        if usize::try_from(b.part).ok() != Some(i) {
            problem = Some(format!(
                "part {} is at position {i} of the log order",
                b.part
            ));
        } else if p.signer() != requester {
            problem = Some(format!(
                "part {} is signed by another key than part 0",
                b.part
            ));
        } else if b.parts != first.parts || b.purpose != first.purpose || b.model != first.model {
            problem = Some(format!(
                "part {} does not repeat part 0's parts, purpose and model",
                b.part
            ));
        } else if b
            .subjects
            .first()
            .is_some_and(|s| listed.last().is_some_and(|l| s <= l))
        {
            problem = Some(format!(
                "part {} does not continue the ascending list",
                b.part
            ));
        }
        if problem.is_some() {
            break;
        }
        listed.extend_from_slice(&b.subjects);
    }
    if problem.is_none() && usize::try_from(first.parts).ok() != Some(parts.len()) {
        problem = Some(format!(
            "{} of {} parts are in the bundle",
            parts.len(),
            first.parts
        ));
    }
    match problem {
        Some(reason) => {
            r.fail("batch request", reason);
            return;
        }
        None => r.ok(
            "batch request",
            format!(
                "{} subjects listed in {} parts by key {requester} from block {} for {} with model {}",
                listed.len(),
                parts.len(),
                first_tx.height(),
                first.purpose,
                first.model
            ),
        ),
    }
    let model = model_categories(r, txs, &first.model);
    let mut accessed = CategorySet::EMPTY;
    for p in txs {
        if let Call::BatchAccess(a) = &p.call
            && a.request == id
        {
            let name = format!(
                "batch access {} by {} at block {}",
                p.report.tx_hash,
                a.node,
                p.height()
            );
            let after_list = parts
                .last()
                .is_some_and(|(last, _)| last.index() < p.index());
            let needed = model.is_none_or(|m| a.categories.minus(m).is_empty());
            r.check(
                &name,
                after_list && needed,
                format!(
                    "{} of the listed subjects; each subject's consent was looked up by the contracts (grants not in this bundle)",
                    a.categories
                ),
                if after_list {
                    format!("it reads {}, which the model does not", a.categories)
                } else {
                    "it was recorded before the list was complete".to_owned()
                },
            );
            if after_list && needed {
                accessed = accessed.union(a.categories);
            }
        }
    }
    unrelated(r, txs, id, &[]);
    ending(
        r,
        txs,
        id,
        &first.model,
        requester,
        model,
        accessed,
        receipt,
    );
}

/// The categories the request's model reads, from its registration in the bundle.
fn model_categories(r: &mut Report, txs: &[Proven], model: &ModelId) -> Option<CategorySet> {
    let registered = txs.iter().find_map(|p| match &p.call {
        Call::Governance(g) => match &g.change {
            Change::RegisterModel { categories, spec } if model_id(spec) == *model => {
                Some((p, *categories))
            }
            _ => None,
        },
        _ => None,
    });
    match registered {
        Some((p, categories)) => {
            r.ok(
                "model",
                format!(
                    "model {model} registered by governance at block {}, reads {categories}",
                    p.height()
                ),
            );
            Some(categories)
        }
        None => {
            r.fail(
                "model",
                format!("the registration of model {model} is not in the bundle"),
            );
            None
        }
    }
}

/// One access's checks; whether it holds.
fn access(
    r: &mut Report,
    txs: &[Proven],
    p: &Proven,
    a: &AccessRecord,
    id: RequestId,
    request: &AssessmentRequest,
    requester: KeyId,
) -> bool {
    let name = format!(
        "access {} by {} at block {}",
        p.report.tx_hash,
        a.node,
        p.height()
    );
    let problem = access_problem(txs, p, a, id, request, requester);
    match problem {
        None => {
            r.ok(
                &name,
                format!(
                    "{} under consent {} (granted to the requester for {}, valid then, not withdrawn before)",
                    a.categories, a.consent, request.purpose
                ),
            );
            true
        }
        Some(reason) => {
            r.fail(&name, reason);
            false
        }
    }
}

fn access_problem(
    txs: &[Proven],
    p: &Proven,
    a: &AccessRecord,
    id: RequestId,
    request: &AssessmentRequest,
    requester: KeyId,
) -> Option<String> {
    if a.request != id {
        return Some(format!("it names request {}, not {id}", a.request));
    }
    if a.subject != request.subject {
        return Some("its subject is not the request's".to_owned());
    }
    let Some((grant_tx, grant)) = grant_of(txs, &a.consent) else {
        return Some(format!(
            "the grant of consent {} is not in the bundle",
            a.consent
        ));
    };
    if grant_tx.index() > p.index() {
        return Some(format!(
            "consent {} was granted after the access",
            a.consent
        ));
    }
    if grant.subject != request.subject {
        return Some(format!("consent {} is for another subject", a.consent));
    }
    if grant.grantee != requester {
        return Some(format!(
            "consent {} is granted to key {}, not to the requester {requester}",
            a.consent, grant.grantee
        ));
    }
    if grant.purpose != request.purpose {
        return Some(format!(
            "consent {} is for {}, the request for {}",
            a.consent, grant.purpose, request.purpose
        ));
    }
    let missing = a.categories.minus(grant.categories);
    if !missing.is_empty() {
        return Some(format!("consent {} does not cover {missing}", a.consent));
    }
    let t = p.time_ms();
    if !(grant.valid_from <= t && t < grant.valid_until) {
        return Some(format!(
            "block time {t} ms is outside consent {}'s window [{}, {})",
            a.consent, grant.valid_from, grant.valid_until
        ));
    }
    let revoked_before = txs.iter().find(|q| {
        matches!(&q.call, Call::ConsentRevoke(c) if c.consent == a.consent) && q.index() < p.index()
    });
    if let Some(q) = revoked_before {
        return Some(format!(
            "consent {} was withdrawn at block {} (log index {}), before the access (log index {})",
            a.consent,
            q.height(),
            q.index(),
            p.index()
        ));
    }
    None
}

fn grant_of<'a>(txs: &'a [Proven], consent: &ConsentId) -> Option<(&'a Proven, &'a ConsentGrant)> {
    txs.iter().find_map(|p| match &p.call {
        Call::ConsentGrant(g) if g.consent == *consent => Some((p, g)),
        _ => None,
    })
}

/// Transactions that are not part of this request's story.
fn unrelated(r: &mut Report, txs: &[Proven], id: RequestId, cited: &[ConsentId]) {
    let stray: Vec<String> = txs
        .iter()
        .filter(|p| match &p.call {
            Call::AssessmentRequest(q) => q.request != id,
            Call::AccessRecord(a) => a.request != id,
            Call::ResultRecord(q) => q.request != id,
            Call::FailRequest(f) => f.request != id,
            Call::ConsentGrant(g) => !cited.contains(&g.consent),
            Call::ConsentRevoke(c) => !cited.contains(&c.consent),
            Call::Governance(g) => !matches!(g.change, Change::RegisterModel { .. }),
            Call::BatchRequest(b) => b.request != id,
            Call::BatchAccess(a) => a.request != id,
        })
        .map(|p| p.report.tx_hash.to_hex())
        .collect();
    r.check(
        "scope",
        stray.is_empty(),
        "every transaction belongs to this request's story",
        format!(
            "transactions outside this request's story: {}",
            stray.join(", ")
        ),
    );
}

/// The result or failure, and the receipt.
#[allow(
    clippy::too_many_arguments,
    reason = "the story's facts, gathered once by the caller"
)]
fn ending(
    r: &mut Report,
    txs: &[Proven],
    id: RequestId,
    asked_model: &ModelId,
    requester: KeyId,
    model: Option<CategorySet>,
    accessed: CategorySet,
    receipt: Option<&Receipt>,
) {
    let results: Vec<(&Proven, &weinong_contracts::ResultRecord)> = txs
        .iter()
        .filter_map(|p| match &p.call {
            Call::ResultRecord(q) if q.request == id => Some((p, q)),
            _ => None,
        })
        .collect();
    let failures = txs
        .iter()
        .filter(|p| matches!(&p.call, Call::FailRequest(f) if f.request == id))
        .count();
    if results.len() + failures > 1 {
        r.fail(
            "ending",
            format!(
                "{} results and {failures} failures recorded; at most one ending",
                results.len()
            ),
        );
    }
    let Some((result_tx, result)) = results.first() else {
        if failures == 1 {
            r.ok("ending", "the request failed (a recorded failure)");
        } else {
            r.ok(
                "ending",
                "no result or failure recorded (open, or timed out)",
            );
        }
        if receipt.is_some() {
            r.fail("receipt", "no result commitment is recorded to open");
        }
        return;
    };
    if let Some(needed) = model {
        let missing = needed.minus(accessed);
        r.check(
            "authorisation",
            missing.is_empty(),
            format!("the accesses cover every category the model reads ({needed})"),
            format!("no valid access in the bundle for {missing}, which the model reads: an access is missing"),
        );
    }
    let signer = result_tx.signer();
    r.check(
        "result",
        signer == requester && result.model == *asked_model,
        format!(
            "commitment {} recorded by the requester at block {}",
            result.commitment,
            result_tx.height()
        ),
        if signer == requester {
            format!(
                "it names model {}, the request uses {}",
                result.model, asked_model
            )
        } else {
            format!("signed by key {signer}, not by the requester {requester}")
        },
    );
    if let Some(receipt) = receipt {
        match open_receipt(receipt, id, asked_model) {
            Err(reason) => r.fail("receipt", reason),
            Ok(commitment) => r.check(
                "receipt",
                commitment == result.commitment,
                format!("the receipt's result and nonce open the recorded commitment {commitment}"),
                format!(
                    "the receipt gives commitment {commitment}, the ledger records {}",
                    result.commitment
                ),
            ),
        }
    }
}

/// The commitment a receipt's result and nonce give, checked against the receipt's own
/// fields.
fn open_receipt(
    receipt: &Receipt,
    id: RequestId,
    model: &ModelId,
) -> Result<ResultCommitment, String> {
    let request = hex32("receipt request", &receipt.request).map_err(|e| e.to_string())?;
    if request != *id.as_bytes() {
        return Err(format!(
            "the receipt is for request {}, not {id}",
            receipt.request
        ));
    }
    let receipt_model = hex32("receipt model", &receipt.model).map_err(|e| e.to_string())?;
    if receipt_model != *model.as_bytes() {
        return Err(format!(
            "the receipt is for model {}, the request uses {model}",
            receipt.model
        ));
    }
    let rows = u32::try_from(receipt.outputs.len()).map_err(|_| "too many rows".to_owned())?;
    if rows != receipt.len {
        return Err(format!(
            "len is {}, but outputs has {rows} rows",
            receipt.len
        ));
    }
    if let Some(row) = receipt
        .outputs
        .iter()
        .find(|o| o.len() != receipt.output_names.len())
    {
        return Err(format!(
            "a row has {} outputs, output_names has {}",
            row.len(),
            receipt.output_names.len()
        ));
    }
    let nonce = hex32("receipt nonce", &receipt.nonce).map_err(|e| e.to_string())?;
    let outputs: Vec<i64> = receipt.outputs.iter().flatten().copied().collect();
    let commitment = ResultCommitment::of(&id, model, receipt.len, &outputs, &nonce);
    let claimed = hex32("receipt commitment", &receipt.commitment).map_err(|e| e.to_string())?;
    if claimed != *commitment.as_bytes() {
        return Err(format!(
            "its result and nonce give {commitment}, not its own commitment {}",
            receipt.commitment
        ));
    }
    Ok(commitment)
}

fn read_receipt(path: &Path) -> Result<Receipt> {
    let len = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > RECEIPT_BYTES_MAX {
        bail!("{} is {len} bytes, over the receipt limit", path.display());
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a receipt", path.display()))
}
