//! Verification of a request bundle: the proofs, then the story (see the crate doc).

use std::collections::{BTreeMap, BTreeSet};

use weinong_contracts::payload::model_id;
use weinong_contracts::share::share_signature_message;
use weinong_contracts::{
    AccessRecord, AssessmentRequest, Call, CategorySet, Change, ConsentGrant, ConsentId,
    Department, Genesis, ModelId, RequestId,
};
use weinong_keys::{KeyId, PublicKey, Signature, SubjectPseudonym};
use weinong_ledger::bundle::BundleReport;

use crate::bundle::{REQUEST_BUNDLE_FORMAT, RequestBundle, ShareSignature};
use crate::error::{AuditError, hex32};
use crate::receipt::Receipt;
use crate::report::{Evidence, Report};

/// The genesis a caller pins (read from a file it trusts), with a name for the report
/// (the file's path).
#[derive(Clone, Copy, Debug)]
pub struct PinnedGenesis<'a> {
    /// The canonical genesis bytes.
    pub bytes: &'a [u8],
    /// Where they came from, as the report names it.
    pub name: &'a str,
}

/// Verifies the request bundle in `text` against the pinned genesis (else the bundle's
/// own, which the report says to compare) and, given the requester's receipt, that it
/// opens the recorded result commitment. Every check is in the [`Report`]; an error means
/// the input could not be checked at all (not a bundle, no genesis, bad hex).
pub fn verify_request_bundle(
    text: &str,
    pinned: Option<PinnedGenesis<'_>>,
    receipt: Option<&Receipt>,
) -> Result<Report, AuditError> {
    let bundle: RequestBundle = serde_json::from_str(text).map_err(|e| AuditError::NotABundle {
        format: REQUEST_BUNDLE_FORMAT,
        reason: e.to_string(),
    })?;
    let id = RequestId::from_bytes(hex32("the bundle's request", &bundle.request)?);
    let mut r = Report::new(id.to_hex());
    r.check(
        "format",
        bundle.format == REQUEST_BUNDLE_FORMAT,
        REQUEST_BUNDLE_FORMAT,
        format!("{:?} is not {REQUEST_BUNDLE_FORMAT:?}", bundle.format),
        Evidence::none(),
    );
    let Some(genesis) = genesis_of(&bundle, pinned, &mut r)? else {
        return Ok(r);
    };
    let members = genesis
        .member_set()
        .map_err(|e| AuditError::Members(e.to_string()))?;
    let reports = match bundle.transactions.verify(Some(&members)) {
        Ok(reports) => reports,
        Err(e) => {
            r.fail(
                "proofs",
                format!("check `{}` failed: {}", e.check, e.reason),
                Evidence::none(),
            );
            return Ok(r);
        }
    };
    let heads: BTreeSet<u64> = reports.iter().map(|p| p.certified.height).collect();
    let cosigned = reports
        .iter()
        .filter(|p| p.tree_head_cosignatures.is_some())
        .count();
    let evidence = Evidence {
        transactions: reports.iter().map(|p| p.tx_hash.to_hex()).collect(),
        heights: heads.iter().copied().collect(),
        ..Evidence::default()
    };
    r.ok(
        "proofs",
        format!(
            "{} transactions signed and included in the log, each pinned to its block, certified by a quorum of {} of the {} genesis members (heads at blocks {heads:?}; {cosigned} with a co-signed tree head)",
            reports.len(),
            members.quorum(),
            members.keys().len()
        ),
        evidence,
    );
    let mut proven = Vec::with_capacity(reports.len());
    for report in reports {
        let body = report.transaction.body();
        match Call::decode(body.kind, &body.payload) {
            Ok(call) => proven.push(Proven { report, call }),
            Err(e) => r.fail(
                "payload",
                format!("transaction {} does not decode: {e}", report.tx_hash),
                Evidence::tx(report.tx_hash.to_hex(), report.header.height),
            ),
        }
    }
    proven.sort_by_key(Proven::index);
    story(&mut r, id, &proven, receipt);
    share_signatures(&mut r, &bundle, &genesis, id, &proven);
    Ok(r)
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
    /// This transaction's hash and height.
    fn evidence(&self) -> Evidence {
        Evidence::tx(self.report.tx_hash.to_hex(), self.height())
    }
}

/// The genesis the proofs rest on: the pinned one, else the bundle's own (named for
/// comparison). `None` after a failed check.
fn genesis_of(
    bundle: &RequestBundle,
    pinned: Option<PinnedGenesis<'_>>,
    r: &mut Report,
) -> Result<Option<Genesis>, AuditError> {
    let carried = bundle
        .genesis
        .as_deref()
        .map(|h| hex::decode(h.trim()).map_err(|e| AuditError::GenesisHex(e.to_string())))
        .transpose()?;
    let (bytes, how) = match (pinned, carried) {
        (Some(pin), carried) => {
            if carried.as_ref().is_some_and(|c| c.as_slice() != pin.bytes) {
                r.fail(
                    "genesis",
                    format!("the bundle's genesis is not the pinned one ({})", pin.name),
                    Evidence::none(),
                );
                return Ok(None);
            }
            (pin.bytes.to_vec(), format!("pinned from {}", pin.name))
        }
        (None, Some(carried)) => (
            carried,
            "taken from the bundle: compare the consortium id with the one you know, or pin it with --genesis".to_owned(),
        ),
        (None, None) => return Err(AuditError::NoGenesis),
    };
    let genesis = Genesis::decode(&bytes).map_err(|e| AuditError::GenesisDecode(e.to_string()))?;
    let consortium = genesis
        .consortium()
        .map_err(|e| AuditError::GenesisEncode(e.to_string()))?;
    r.ok(
        "genesis",
        format!("consortium {consortium} ({how})"),
        Evidence::none().hash(consortium),
    );
    Ok(Some(genesis))
}

/// The departments' signatures over the sealed shares (see the crate doc).
fn share_signatures(
    r: &mut Report,
    bundle: &RequestBundle,
    genesis: &Genesis,
    id: RequestId,
    txs: &[Proven],
) {
    if bundle.shares.is_empty() {
        r.not_applicable(
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
            Evidence::none(),
        );
        return;
    };
    // Keys the proofs vouch for: the genesis members', and every proven signer's.
    let mut keys: BTreeMap<KeyId, PublicKey> = genesis
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
    let mut seen_signers = BTreeSet::new();
    for share in &bundle.shares {
        let name = format!("share of party {}", share.party);
        let evidence = Evidence::none()
            .key(&share.signer)
            .hash(&share.ciphertext_sm3);
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
                evidence,
            ),
            Some(reason) => r.fail(&name, reason, evidence),
        }
    }
}

/// What is wrong with one share signature, if anything.
fn share_problem(
    share: &ShareSignature,
    keys: &BTreeMap<KeyId, PublicKey>,
    accessed_by: &[Option<KeyId>; 3],
    seen_parties: &mut [bool; 3],
    seen_signers: &mut BTreeSet<KeyId>,
    (consortium, request, model): (&[u8; 32], &[u8; 32], &ModelId),
) -> Option<String> {
    let party = usize::from(share.party);
    let Some(seen) = seen_parties.get_mut(party) else {
        return Some("parties are 0, 1 and 2".to_owned());
    };
    if std::mem::replace(seen, true) {
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
    if let Some(recorded) = accessed_by[party]
        && recorded != signer
    {
        return Some(format!(
            "signed by key {signer}, but key {recorded} recorded that department's access"
        ));
    }
    if let Some(other) = (0..3).find(|&q| q != party && accessed_by[q] == Some(signer)) {
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
    let message =
        share_signature_message(consortium, request, share.party, model.as_bytes(), &digest);
    if key.verify(&message, &signature).is_err() {
        return Some(format!(
            "the signature does not verify with key {signer} for this consortium, request and model"
        ));
    }
    None
}

/// The MPC party a department plays (civil affairs 0, health 1, medical insurance 2).
pub(crate) fn party_of(department: Department) -> usize {
    match department {
        Department::CivilAffairs => 0,
        Department::Health => 1,
        Department::MedicalInsurance => 2,
    }
}

/// The proven transactions whose call `pick` selects, each with its typed call, in log
/// order.
fn calls<'a, T>(
    txs: &'a [Proven],
    pick: impl Fn(&'a Call) -> Option<&'a T>,
) -> Vec<(&'a Proven, &'a T)> {
    txs.iter()
        .filter_map(|p| pick(&p.call).map(|c| (p, c)))
        .collect()
}

/// The consent rules, replayed over the proven transactions in log order.
fn story(r: &mut Report, id: RequestId, txs: &[Proven], receipt: Option<&Receipt>) {
    let requests = calls(txs, |c| match c {
        Call::AssessmentRequest(q) if q.request == id => Some(q),
        _ => None,
    });
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
            Evidence {
                transactions: requests
                    .iter()
                    .map(|(p, _)| p.report.tx_hash.to_hex())
                    .collect(),
                ..Evidence::default()
            },
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
        request_tx.evidence().key(requester).hash(request.model),
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
        Asked {
            id,
            model: &request.model,
            requester,
            reads: model,
            accessed,
        },
        receipt,
    );
}

/// A batch request's story: its list parts, the departments' batch accesses, the ending.
/// Per-subject consents are found by the contracts on every node when each batch access
/// is applied; their grants are not in the bundle (a batch may list a million subjects),
/// so this checks what the request and accesses say, not each subject's consent.
fn batch_story(r: &mut Report, id: RequestId, txs: &[Proven], receipt: Option<&Receipt>) {
    let parts = calls(txs, |c| match c {
        Call::BatchRequest(b) if b.request == id => Some(b),
        _ => None,
    });
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
    let evidence = Evidence {
        transactions: parts
            .iter()
            .map(|(p, _)| p.report.tx_hash.to_hex())
            .collect(),
        heights: parts.iter().map(|(p, _)| p.height()).collect(),
        keys: vec![requester.to_string()],
        hashes: vec![first.model.to_hex()],
    };
    match problem {
        Some(reason) => {
            r.fail("batch request", reason, evidence);
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
            evidence,
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
                p.evidence().key(p.signer()),
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
        Asked {
            id,
            model: &first.model,
            requester,
            reads: model,
            accessed,
        },
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
                p.evidence().hash(model),
            );
            Some(categories)
        }
        None => {
            r.fail(
                "model",
                format!("the registration of model {model} is not in the bundle"),
                Evidence::none().hash(model),
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
    let evidence = p.evidence().key(p.signer()).hash(a.consent);
    match access_problem(txs, p, a, id, request, requester) {
        None => {
            r.ok(
                &name,
                format!(
                    "{} under consent {} (granted to the requester for {}, valid then, not withdrawn before)",
                    a.categories, a.consent, request.purpose
                ),
                evidence,
            );
            true
        }
        Some(reason) => {
            r.fail(&name, reason, evidence);
            false
        }
    }
}

/// What is wrong with one access, if anything.
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
            // Policy runs are never part of an assessment request's story.
            Call::PolicyRun(_) | Call::PolicyAccess(_) | Call::PolicyEnd(_) => true,
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
        Evidence {
            transactions: stray.clone(),
            ..Evidence::default()
        },
    );
}

/// The story's facts the ending is checked against.
struct Asked<'a> {
    id: RequestId,
    model: &'a ModelId,
    requester: KeyId,
    /// The categories the registered model reads, where its registration is in the bundle.
    reads: Option<CategorySet>,
    /// The categories valid accesses cover.
    accessed: CategorySet,
}

/// The result or failure, and the receipt.
fn ending(r: &mut Report, txs: &[Proven], asked: Asked<'_>, receipt: Option<&Receipt>) {
    let Asked {
        id,
        model: asked_model,
        requester,
        reads,
        accessed,
    } = asked;
    let results = calls(txs, |c| match c {
        Call::ResultRecord(q) if q.request == id => Some(q),
        _ => None,
    });
    let failures: Vec<&Proven> = txs
        .iter()
        .filter(|p| matches!(&p.call, Call::FailRequest(f) if f.request == id))
        .collect();
    if results.len() + failures.len() > 1 {
        r.fail(
            "ending",
            format!(
                "{} results and {} failures recorded; at most one ending",
                results.len(),
                failures.len()
            ),
            Evidence {
                transactions: results
                    .iter()
                    .map(|(p, _)| p)
                    .chain(failures.iter())
                    .map(|p| p.report.tx_hash.to_hex())
                    .collect(),
                ..Evidence::default()
            },
        );
    }
    let Some((result_tx, result)) = results.first() else {
        if let [failure] = failures.as_slice() {
            let reason = match &failure.call {
                Call::FailRequest(f) => f.reason.label(),
                _ => "no reason",
            };
            r.ok(
                "ending",
                format!("the request failed: {reason} (a recorded failure)"),
                failure.evidence(),
            );
        } else {
            r.ok(
                "ending",
                "no result or failure recorded (open, or timed out)",
                Evidence::none(),
            );
        }
        if receipt.is_some() {
            r.fail(
                "receipt",
                "no result commitment is recorded to open",
                Evidence::none(),
            );
        }
        return;
    };
    if let Some(needed) = reads {
        let missing = needed.minus(accessed);
        r.check(
            "authorisation",
            missing.is_empty(),
            format!("the accesses cover every category the model reads ({needed})"),
            format!("no valid access in the bundle for {missing}, which the model reads: an access is missing"),
            Evidence::none().hash(asked_model),
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
        result_tx.evidence().key(signer).hash(result.commitment),
    );
    if let Some(receipt) = receipt {
        match receipt.open(&id, asked_model) {
            Err(reason) => r.fail("receipt", reason, Evidence::none().hash(result.commitment)),
            Ok(commitment) => r.check(
                "receipt",
                commitment == result.commitment,
                format!("the receipt's result and nonce open the recorded commitment {commitment}"),
                format!(
                    "the receipt gives commitment {commitment}, the ledger records {}",
                    result.commitment
                ),
                Evidence::none().hash(commitment),
            ),
        }
    }
}
