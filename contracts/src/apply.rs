//! `apply`: one verified transaction against the state at a block time, and the
//! block-level time-out sweep.
//!
//! Every handler validates first, reading `&State` only, and mutates only once nothing
//! can fail any more, so a [`Rejection`] leaves the state exactly as it was (the property
//! tests compare digests and whole states).

use std::collections::{BTreeMap, BTreeSet};

use weinong_keys::KeyId;
use weinong_ledger::TxHash;

use crate::genesis::Genesis;
use crate::payload::Call;
use crate::rejection::Rejection;
use crate::state::{
    Binding, HistoryEntry, KeyRecord, KeyStatus, MemberRecord, RequestEvent, RequestStatus, State,
};
use crate::types::{
    BlockTime, ConsentId, FailureReason, MemberId, ModelId, RequestId, Role, RunId,
};
use crate::verify::VerifiedTx;
use crate::{batch, consent, governance, policy, requests};

/// What an accepted transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction.
    pub tx: TxHash,
    /// Its signer.
    pub signer: KeyId,
    /// The block it was applied in.
    pub at: BlockTime,
    /// What changed.
    pub outcome: Outcome,
}

/// What a handler works on: the state, the transaction's signer, its hash and the block it
/// is applied in (a tuple, so that each handler names the parts in one line).
pub(crate) struct Context<'s>(
    pub(crate) &'s mut State,
    pub(crate) KeyId,
    pub(crate) TxHash,
    pub(crate) BlockTime,
);

/// What changed, by call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Governance change number `seq` was applied.
    Governed {
        /// Its number.
        seq: u64,
        /// Its name (e.g. "rotate key").
        change: &'static str,
    },
    /// A consent was recorded.
    ConsentGranted {
        /// The consent.
        consent: ConsentId,
    },
    /// A consent was withdrawn.
    ConsentRevoked {
        /// The consent.
        consent: ConsentId,
    },
    /// An access was recorded.
    AccessRecorded {
        /// For which request.
        request: RequestId,
        /// Whether this access completed the request's authorisation.
        authorised: bool,
    },
    /// A request was opened.
    Requested {
        /// The request.
        request: RequestId,
        /// When it times out.
        deadline_ms: u64,
    },
    /// A part of a batch request's subject list was recorded (part 0 opened it).
    BatchListed {
        /// The request.
        request: RequestId,
        /// The part.
        part: u32,
        /// Whether it was the last part: the departments start now.
        complete: bool,
    },
    /// A result was committed.
    Computed {
        /// The request.
        request: RequestId,
    },
    /// A request failed.
    Failed {
        /// The request.
        request: RequestId,
        /// Why.
        reason: FailureReason,
    },
    /// A policy run was opened.
    RunOpened {
        /// The run.
        run: RunId,
    },
    /// A department recorded its access for a policy run.
    RunAccessed {
        /// The run.
        run: RunId,
        /// The department.
        node: MemberId,
    },
    /// A policy run ended.
    RunEnded {
        /// The run.
        run: RunId,
        /// Completed, or failed with the reason.
        status: crate::state::RunStatus,
    },
}

/// Applies `tx` at block time `at`: pure and deterministic (no clock but `at`, no
/// randomness, no floating point, ordered maps only). On `Err` the state is unchanged.
pub fn apply(state: &mut State, tx: &VerifiedTx, at: BlockTime) -> Result<Receipt, Rejection> {
    check_time(state, at)?;
    let signer = tx.signer();
    check_signer(state, signer)?;
    if let Some(&last) = state.nonces.get(&signer)
        && tx.nonce() <= last
    {
        return Err(Rejection::NonceReused {
            signer,
            nonce: tx.nonce(),
            last,
        });
    }
    let cx = Context(state, signer, tx.hash(), at);
    let outcome = match tx.call() {
        Call::Governance(g) => governance::apply(cx.0, signer, g, at)?,
        Call::ConsentGrant(c) => consent::grant(cx, c)?,
        Call::ConsentRevoke(c) => consent::revoke(cx, c)?,
        Call::AccessRecord(a) => consent::access(cx, a)?,
        Call::AssessmentRequest(q) => requests::open(cx, q)?,
        Call::ResultRecord(q) => requests::compute(cx, q)?,
        Call::FailRequest(f) => requests::fail(cx, f)?,
        Call::BatchRequest(b) => batch::part(cx, b)?,
        Call::BatchAccess(a) => batch::access(cx, a)?,
        Call::PolicyRun(p) => policy::open(cx, p)?,
        Call::PolicyAccess(a) => policy::access(cx, a)?,
        Call::PolicyEnd(e) => policy::end(cx, e)?,
    };
    // Nothing can fail past this point.
    state.nonces.insert(signer, tx.nonce());
    state.last = at;
    Ok(Receipt {
        tx: tx.hash(),
        signer,
        at,
        outcome,
    })
}

/// Moves every open request whose deadline is at or before `at` to failed ("timed out").
/// The node calls this once at the start of each block, before its transactions; it is as
/// deterministic as [`apply`]. Returns the requests timed out, in deadline order.
pub fn expire_requests(state: &mut State, at: BlockTime) -> Result<Vec<RequestId>, Rejection> {
    check_time(state, at)?;
    let due: Vec<(u64, RequestId)> = state
        .open_deadlines
        .range(..=(at.time_ms, RequestId::from_bytes([0xff; 32])))
        .copied()
        .collect();
    for key in &due {
        state.open_deadlines.remove(key);
        if let Some(request) = state.requests.get_mut(&key.1) {
            let reason = FailureReason::TimedOut;
            request.status = RequestStatus::Failed { reason };
            request.history.push(HistoryEntry {
                at,
                tx: None,
                event: RequestEvent::Failed { by: None, reason },
            });
        }
    }
    state.last = at;
    Ok(due.into_iter().map(|(_, id)| id).collect())
}

fn check_time(state: &State, at: BlockTime) -> Result<(), Rejection> {
    if at.height < state.last.height || at.time_ms < state.last.time_ms {
        return Err(Rejection::BlockTimeWentBack {
            at,
            last: state.last,
        });
    }
    Ok(())
}

fn check_signer(state: &State, signer: KeyId) -> Result<(), Rejection> {
    let record = state
        .keys
        .get(&signer)
        .ok_or(Rejection::UnknownSigner { signer })?;
    match record.status {
        KeyStatus::Active => Ok(()),
        KeyStatus::Revoked { at } => Err(Rejection::KeyRevoked {
            key: signer,
            height: at.height,
        }),
        KeyStatus::Rotated { successor, at } => Err(Rejection::KeyRotated {
            key: signer,
            successor,
            height: at.height,
        }),
    }
}

/// Fails unless `key` is active and holds `role` at `at`.
pub(crate) fn require_role(
    state: &State,
    key: KeyId,
    role: Role,
    at: BlockTime,
) -> Result<(), Rejection> {
    match state.keys.get(&key) {
        Some(record) if record.has_role(role, at.time_ms) => Ok(()),
        _ => Err(Rejection::MissingRole { key, role, at }),
    }
}

/// The active member whose current key is `key`, if any.
pub(crate) fn member_of(state: &State, key: KeyId) -> Option<MemberId> {
    let member = state.keys.get(&key)?.member?;
    let record = state.members.get(&member)?;
    (record.removed_at.is_none() && record.key == key).then_some(member)
}

impl State {
    /// The state right after genesis (block 0 at the genesis time). Fails if the threshold
    /// is outside `1..=admins`, a key is listed twice in one list, a member key twice, or a
    /// list is over its limit.
    pub fn from_genesis(genesis: &Genesis) -> Result<State, Rejection> {
        let consortium = genesis.consortium().map_err(Rejection::GenesisOverLimit)?;
        let at = BlockTime::new(0, genesis.time_ms);
        let mut keys: BTreeMap<KeyId, KeyRecord> = BTreeMap::new();
        let mut members = BTreeMap::new();
        let bind =
            |keys: &mut BTreeMap<KeyId, KeyRecord>, key: &weinong_keys::PublicKey, role: Role| {
                let record = keys
                    .entry(key.key_id())
                    .or_insert_with(|| KeyRecord::new(key.clone(), at));
                if record.bindings.iter().any(|b| b.role == role) {
                    return Err(Rejection::RoleAlreadyBound {
                        key: key.key_id(),
                        role,
                    });
                }
                record.bindings.push(Binding {
                    role,
                    valid_from: genesis.time_ms,
                    valid_until: None,
                    bound_at: at,
                    unbound_at: None,
                });
                Ok(())
            };
        for (member, key) in &genesis.members {
            if members.contains_key(member) {
                return Err(Rejection::MemberExists { member: *member });
            }
            bind(&mut keys, key, Role::Department)?;
            let record = keys
                .get_mut(&key.key_id())
                .unwrap_or_else(|| unreachable!("bound just above"));
            if let Some(other) = record.member {
                return Err(Rejection::KeyAlreadyMember {
                    key: key.key_id(),
                    member: other,
                });
            }
            record.member = Some(*member);
            members.insert(
                *member,
                MemberRecord {
                    key: key.key_id(),
                    added_at: at,
                    removed_at: None,
                },
            );
        }
        for (list, role) in [
            (&genesis.admins, Role::Admin),
            (&genesis.auditors, Role::Auditor),
            (&genesis.registrars, Role::Registrar),
        ] {
            for key in list {
                bind(&mut keys, key, role)?;
            }
        }
        let state = State {
            consortium,
            last: at,
            threshold: genesis.threshold,
            governance_seq: 0,
            members,
            keys,
            nonces: BTreeMap::new(),
            models: BTreeMap::new(),
            consents: BTreeMap::new(),
            consents_by_subject: BTreeSet::new(),
            requests: BTreeMap::new(),
            open_deadlines: BTreeSet::new(),
            accesses: BTreeMap::new(),
            batches_by_subject: BTreeSet::new(),
            policies: BTreeMap::new(),
            runs: BTreeMap::new(),
            open_runs: BTreeSet::new(),
        };
        let admins = state.admin_count(genesis.time_ms);
        if genesis.threshold == 0 || u64::from(genesis.threshold) > admins {
            return Err(Rejection::ThresholdOutOfRange {
                k: genesis.threshold,
                admins,
            });
        }
        Ok(state)
    }
}

/// Fails unless `model` is registered and not retired.
pub(crate) fn live_model(
    state: &State,
    model: ModelId,
) -> Result<&crate::state::ModelRecord, Rejection> {
    let record = state
        .models
        .get(&model)
        .ok_or(Rejection::UnknownModel { model })?;
    if let Some(at) = record.retired_at {
        return Err(Rejection::ModelRetired {
            model,
            height: at.height,
        });
    }
    Ok(record)
}
