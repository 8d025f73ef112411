//! Consent (PIPL Art. 23, 29, 15) and the access records that rely on it.
//!
//! A registrar records a consent naming the subject (by pseudonym), the grantee, one
//! purpose, the data categories and a validity window; withdrawal is recorded the same way
//! and takes effect from its block, never retroactively. A department node's access is
//! accepted only if, at block time, a consent covers the request's subject, requester
//! (the grantee), purpose and every category read — and only categories the request's
//! model reads (minimum necessary, Art. 6).

use weinong_keys::{KeyId, SubjectPseudonym};

use crate::apply::{Context, Outcome, require_role};
use crate::limits::{CONSENT_VALIDITY_MS_MAX, REQUEST_ACCESSES_MAX};
use crate::payload::{AccessRecord, ConsentGrant, ConsentRevoke};
use crate::rejection::Rejection;
use crate::state::{AccessEntry, Consent, HistoryEntry, RequestEvent, Revocation, State};
use crate::types::{CategorySet, ConsentId, Purpose, Role};

pub(crate) fn grant(cx: Context<'_>, c: &ConsentGrant) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    require_role(state, signer, Role::Registrar, at)?;
    if state.consents.contains_key(&c.consent) {
        return Err(Rejection::ConsentExists { consent: c.consent });
    }
    if c.valid_until <= c.valid_from || c.valid_until - c.valid_from > CONSENT_VALIDITY_MS_MAX {
        return Err(Rejection::BadWindow {
            from: c.valid_from,
            until: c.valid_until,
        });
    }
    if c.valid_until <= at.time_ms {
        return Err(Rejection::ConsentExpired {
            consent: c.consent,
            valid_until: c.valid_until,
            now_ms: at.time_ms,
        });
    }
    if !state.keys.contains_key(&c.grantee) {
        return Err(Rejection::UnknownKey { key: c.grantee });
    }
    state.consents.insert(
        c.consent,
        Consent {
            subject: c.subject,
            grantee: c.grantee,
            purpose: c.purpose,
            categories: c.categories,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            evidence: c.evidence,
            registrar: signer,
            granted_at: at,
            tx,
            revoked: None,
        },
    );
    state.consents_by_subject.insert((c.subject, c.consent));
    Ok(Outcome::ConsentGranted { consent: c.consent })
}

pub(crate) fn revoke(cx: Context<'_>, c: &ConsentRevoke) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    require_role(state, signer, Role::Registrar, at)?;
    let consent = state
        .consents
        .get_mut(&c.consent)
        .ok_or(Rejection::UnknownConsent { consent: c.consent })?;
    if let Some(r) = &consent.revoked {
        return Err(Rejection::ConsentRevoked {
            consent: c.consent,
            height: r.at.height,
        });
    }
    consent.revoked = Some(Revocation {
        at,
        registrar: signer,
        evidence: c.evidence,
        tx,
    });
    Ok(Outcome::ConsentRevoked { consent: c.consent })
}

pub(crate) fn access(cx: Context<'_>, a: &AccessRecord) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    crate::requests::require_node(state, signer, a.node, at)?;
    let request = crate::requests::open_request(state, a.request, at)?;
    let subject = request.subject().ok_or(Rejection::WrongRequestKind {
        request: a.request,
        is: "a batch request",
        use_instead: "a batch access",
    })?;
    if *subject != a.subject {
        return Err(Rejection::OtherSubject {
            request: a.request,
            expected: *subject,
            found: a.subject,
        });
    }
    let needed = crate::requests::needed_categories(state, request, a.categories)?;
    covering_consent(
        state,
        a.consent,
        &a.subject,
        request.requester,
        request.purpose,
        a.categories,
        at.time_ms,
    )?;
    let accesses = request
        .history
        .iter()
        .filter(|h| matches!(h.event, RequestEvent::Accessed { .. }))
        .count();
    if accesses >= usize::from(REQUEST_ACCESSES_MAX) {
        return Err(Rejection::TooManyAccesses {
            request: a.request,
            count: accesses as u64,
        });
    }

    // Validated: record.
    let counter = state.accesses.len() as u64;
    state.accesses.insert(
        (a.subject, counter),
        AccessEntry {
            at,
            tx,
            node: a.node,
            signer,
            request: a.request,
            categories: a.categories,
            consent: a.consent,
            fields: a.fields,
        },
    );
    let request = state
        .requests
        .get_mut(&a.request)
        .unwrap_or_else(|| unreachable!("checked open above"));
    request.history.push(HistoryEntry {
        at,
        tx: Some(tx),
        event: RequestEvent::Accessed {
            node: a.node,
            categories: a.categories,
            consent: a.consent,
        },
    });
    let authorised = crate::requests::note_access(request, a.categories, needed, tx, at);
    Ok(Outcome::AccessRecorded {
        request: a.request,
        authorised,
    })
}

/// Fails unless consent `id` covers `subject`, is granted to `requester` for `purpose`,
/// covers every category in `categories`, and is valid (recorded, begun, not ended, not
/// withdrawn) at `now_ms`.
pub(crate) fn covering_consent(
    state: &State,
    id: ConsentId,
    subject: &SubjectPseudonym,
    requester: KeyId,
    purpose: Purpose,
    categories: CategorySet,
    now_ms: u64,
) -> Result<(), Rejection> {
    let consent = state
        .consents
        .get(&id)
        .ok_or(Rejection::UnknownConsent { consent: id })?;
    if consent.subject != *subject {
        return Err(Rejection::ConsentOtherSubject {
            consent: id,
            consent_subject: consent.subject,
            subject: *subject,
        });
    }
    if consent.grantee != requester {
        return Err(Rejection::ConsentOtherGrantee {
            consent: id,
            grantee: consent.grantee,
            requester,
        });
    }
    if consent.purpose != purpose {
        return Err(Rejection::ConsentOtherPurpose {
            consent: id,
            granted: consent.purpose,
            asked: purpose,
        });
    }
    if let Some(r) = &consent.revoked {
        return Err(Rejection::ConsentRevoked {
            consent: id,
            height: r.at.height,
        });
    }
    if now_ms < consent.valid_from {
        return Err(Rejection::ConsentNotYetValid {
            consent: id,
            valid_from: consent.valid_from,
            now_ms,
        });
    }
    if now_ms >= consent.valid_until {
        return Err(Rejection::ConsentExpired {
            consent: id,
            valid_until: consent.valid_until,
            now_ms,
        });
    }
    let missing = categories.minus(consent.categories);
    if !missing.is_empty() {
        return Err(Rejection::ConsentMissingCategories {
            consent: id,
            missing,
        });
    }
    Ok(())
}
