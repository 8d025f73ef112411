//! Batch assessment requests: one request, one model, many subjects (a care home's
//! periodic re-assessment of its residents), computed in one vectorised MPC session.
//!
//! The requester records the subject list in parts ([`BatchRequest`]; part 0 opens the
//! request, parts follow in order, the list strictly ascending). Once the last part is on
//! the ledger each department node records one [`BatchAccess`]; the contracts look up,
//! per subject, the consent that covers that access at block time — the same rule as a
//! single request's access — and record it, or `None` where there is none: such a subject
//! is not accessed by that node and stays out of the computation
//! ([`crate::state::Batch::computable`]). The request is authorised, computed, failed and
//! timed out exactly as a single request.
//!
//! Cost: a batch access looks up every listed subject's consents once (a range scan per
//! subject); the digest covers the list and the per-subject consents through hashes
//! computed when they are recorded, so a batch adds O(1) to every later block's digest.

use weinong_keys::Sm3;
use weinong_ledger::Hash32;
use weinong_ledger::codec::Writer;

use crate::apply::{Context, Outcome};
use crate::payload::{BatchAccess, BatchRequest};
use crate::rejection::Rejection;
use crate::requests::{
    check_new, needed_categories, note_access, open_request, requesters_open_request,
};
use crate::state::{
    Batch, BatchAccessEntry, HistoryEntry, Request, RequestEvent, RequestStatus, Target,
};
use crate::types::{CategorySet, ConsentId};
use weinong_keys::Digest as _;

const LIST_TAG: &[u8; 4] = b"WNBL";
const CONSENTS_TAG: &[u8; 4] = b"WNBC";

pub(crate) fn part(cx: Context<'_>, b: &BatchRequest) -> Result<Outcome, Rejection> {
    if b.part == 0 {
        return open(cx, b);
    }
    let Context(state, signer, tx, at) = cx;
    let request = requesters_open_request(state, signer, b.request, at)?;
    let batch = request.batch().ok_or(Rejection::WrongRequestKind {
        request: b.request,
        is: "a single-subject request",
        use_instead: "an assessment request for a new batch",
    })?;
    let bad = |reason: String| Rejection::BatchPart {
        request: b.request,
        reason,
    };
    if b.parts != batch.parts || b.purpose != request.purpose || b.model != request.model {
        return Err(bad(
            "parts, purpose and model must repeat those of part 0".to_owned()
        ));
    }
    if b.part != batch.received {
        return Err(bad(format!(
            "part {} arrived; part {} is next",
            b.part, batch.received
        )));
    }
    if let (Some(last), Some(first)) = (batch.subjects.last(), b.subjects.first())
        && first <= last
    {
        return Err(bad(format!(
            "part {} does not continue the ascending list: its first subject is not above the last one listed",
            b.part
        )));
    }
    let list_hash = chain(&batch.list_hash, b);

    // Validated: record.
    for s in &b.subjects {
        state.batches_by_subject.insert((*s, b.request));
    }
    let count = u32::try_from(b.subjects.len()).unwrap_or(u32::MAX);
    let Some(request) = state.requests.get_mut(&b.request) else {
        unreachable!("checked open above")
    };
    if let Target::Batch(batch) = &mut request.target {
        batch.subjects.extend_from_slice(&b.subjects);
        batch.received += 1;
        batch.list_hash = list_hash;
    }
    request.history.push(HistoryEntry {
        at,
        tx: Some(tx),
        event: RequestEvent::Listed {
            part: b.part,
            count,
        },
    });
    Ok(Outcome::BatchListed {
        request: b.request,
        part: b.part,
        complete: b.part + 1 == b.parts,
    })
}

fn open(cx: Context<'_>, b: &BatchRequest) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    let deadline_ms = check_new(state, signer, (b.request, b.purpose, b.model), at)?;
    let list_hash = chain(&Hash32([0; 32]), b);
    let count = u32::try_from(b.subjects.len()).unwrap_or(u32::MAX);

    // Validated: record.
    for s in &b.subjects {
        state.batches_by_subject.insert((*s, b.request));
    }
    state.requests.insert(
        b.request,
        Request {
            requester: signer,
            target: Target::Batch(Box::new(Batch {
                parts: b.parts,
                received: 1,
                subjects: b.subjects.clone(),
                list_hash,
                accesses: Vec::new(),
            })),
            purpose: b.purpose,
            model: b.model,
            deadline_ms,
            status: RequestStatus::Requested,
            accessed: CategorySet::EMPTY,
            history: vec![
                HistoryEntry {
                    at,
                    tx: Some(tx),
                    event: RequestEvent::Requested { by: signer },
                },
                HistoryEntry {
                    at,
                    tx: Some(tx),
                    event: RequestEvent::Listed { part: 0, count },
                },
            ],
        },
    );
    state.open_deadlines.insert((deadline_ms, b.request));
    Ok(Outcome::BatchListed {
        request: b.request,
        part: 0,
        complete: b.parts == 1,
    })
}

pub(crate) fn access(cx: Context<'_>, a: &BatchAccess) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    crate::requests::require_node(state, signer, a.node, at)?;
    let request = open_request(state, a.request, at)?;
    let batch = request.batch().ok_or(Rejection::WrongRequestKind {
        request: a.request,
        is: "a single-subject request",
        use_instead: "an access record",
    })?;
    if !batch.is_complete() {
        return Err(Rejection::BatchIncomplete {
            request: a.request,
            received: batch.received,
            parts: batch.parts,
        });
    }
    let needed = needed_categories(state, request, a.categories)?;
    if batch.accesses.iter().any(|e| e.node == a.node) {
        return Err(Rejection::BatchAccessedAlready {
            request: a.request,
            node: a.node,
        });
    }
    let consents: Vec<Option<ConsentId>> = batch
        .subjects
        .iter()
        .map(|s| {
            state.consent_covering(
                s,
                request.requester,
                request.purpose,
                a.categories,
                at.time_ms,
            )
        })
        .collect();
    let covered = consents.iter().filter(|c| c.is_some()).count();
    if covered == 0 {
        return Err(Rejection::BatchNoConsent {
            request: a.request,
            categories: a.categories,
        });
    }
    let covered = u32::try_from(covered).unwrap_or(u32::MAX);
    let consents_hash = consents_hash(&consents);

    // Validated: record.
    let Some(request) = state.requests.get_mut(&a.request) else {
        unreachable!("checked open above")
    };
    if let Target::Batch(batch) = &mut request.target {
        batch.accesses.push(BatchAccessEntry {
            at,
            tx,
            node: a.node,
            signer,
            categories: a.categories,
            fields: a.fields,
            consents,
            covered,
            consents_hash,
        });
    }
    request.history.push(HistoryEntry {
        at,
        tx: Some(tx),
        event: RequestEvent::BatchAccessed {
            node: a.node,
            categories: a.categories,
            covered,
        },
    });
    let authorised = note_access(request, a.categories, needed, tx, at);
    Ok(Outcome::AccessRecorded {
        request: a.request,
        authorised,
    })
}

/// `SM3("WNBL" ‖ previous ‖ part:u32 ‖ count ‖ subjects)`: the list's hash after `b`.
fn chain(previous: &Hash32, b: &BatchRequest) -> Hash32 {
    let mut w = Writer::new(Sm3::default());
    w.bytes(LIST_TAG);
    w.bytes(previous.as_bytes());
    w.u32(b.part);
    w.count64(b.subjects.len());
    for s in &b.subjects {
        w.bytes(s.as_bytes());
    }
    Hash32(w.finish().finalize().into())
}

/// `SM3("WNBC" ‖ count ‖ per subject: 0, or 1 ‖ consent id)`.
fn consents_hash(consents: &[Option<ConsentId>]) -> Hash32 {
    let mut w = Writer::new(Sm3::default());
    w.bytes(CONSENTS_TAG);
    w.count64(consents.len());
    for c in consents {
        match c {
            None => w.u8(0),
            Some(id) => {
                w.u8(1);
                w.bytes(id.as_bytes());
            }
        }
    }
    Hash32(w.finish().finalize().into())
}
