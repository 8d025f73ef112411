//! Governance: membership, role bindings, key rotation and revocation, the threshold and
//! the model registry, each change approved by k distinct admins over its exact bytes.
//!
//! Signatures were checked when the transaction was verified; here we check who signed:
//! the submitter and every approver must hold a valid admin binding at block time, and
//! the approvals (distinct by construction of the payload) must number at least k.
//! Changes that would leave fewer active admins than k are refused, so governance can
//! always move (an admin binding that simply expires can still strand it: bind admins
//! without an end, or renew them in time).

use weinong_keys::KeyId;

use crate::apply::{Outcome, require_role};
use crate::limits::{BINDINGS_PER_KEY_MAX, MEMBERS_MAX};
use crate::payload::{Change, Governance, model_id};
use crate::rejection::Rejection;
use crate::state::{Binding, KeyRecord, KeyStatus, MemberRecord, ModelRecord, State};
use crate::types::{BlockTime, Role};

pub(crate) fn apply(
    state: &mut State,
    signer: KeyId,
    g: &Governance,
    at: BlockTime,
) -> Result<Outcome, Rejection> {
    require_role(state, signer, Role::Admin, at)?;
    if g.seq != state.governance_seq {
        return Err(Rejection::GovernanceOutOfSequence {
            expected: state.governance_seq,
            found: g.seq,
        });
    }
    for approval in &g.approvals {
        if !state
            .keys
            .get(&approval.admin)
            .is_some_and(|k| k.has_role(Role::Admin, at.time_ms))
        {
            return Err(Rejection::ApproverNotAdmin {
                admin: approval.admin,
                at,
            });
        }
    }
    let found = g.approvals.len() as u64;
    if found < u64::from(state.threshold) {
        return Err(Rejection::TooFewApprovals {
            found,
            needed: state.threshold,
        });
    }
    change(state, &g.change, at)?;
    state.governance_seq = state.governance_seq.saturating_add(1);
    Ok(Outcome::Governed {
        seq: g.seq,
        change: g.change.name(),
    })
}

/// Validates then applies one change.
fn change(state: &mut State, change: &Change, at: BlockTime) -> Result<(), Rejection> {
    let now = at.time_ms;
    match change {
        Change::AddMember { member, key } => {
            if state.members.contains_key(member) {
                return Err(Rejection::MemberExists { member: *member });
            }
            if state.members.len() >= usize::from(MEMBERS_MAX) {
                return Err(Rejection::TooManyMembers {
                    count: state.members.len() as u64,
                });
            }
            let id = key.key_id();
            let needs_binding = match state.keys.get(&id) {
                None => true,
                Some(record) => {
                    active(record, id)?;
                    if let Some(other) = record.member {
                        return Err(Rejection::KeyAlreadyMember {
                            key: id,
                            member: other,
                        });
                    }
                    let needs = !record
                        .bindings
                        .iter()
                        .any(|b| b.role == Role::Department && b.current(now));
                    if needs {
                        room_for_binding(record, id)?;
                    }
                    needs
                }
            };
            let record = state
                .keys
                .entry(id)
                .or_insert_with(|| KeyRecord::new(key.clone(), at));
            record.member = Some(*member);
            if needs_binding {
                record
                    .bindings
                    .push(binding(Role::Department, now, None, at));
            }
            state.members.insert(
                *member,
                MemberRecord {
                    key: id,
                    added_at: at,
                    removed_at: None,
                },
            );
        }
        Change::RemoveMember { member } => {
            let key = match state.members.get(member) {
                Some(m) if m.removed_at.is_none() => m.key,
                _ => return Err(Rejection::UnknownMember { member: *member }),
            };
            members_left_without(state, &key)?;
            if let Some(m) = state.members.get_mut(member) {
                m.removed_at = Some(at);
            }
            if let Some(record) = state.keys.get_mut(&key) {
                record.member = None;
                for b in record
                    .bindings
                    .iter_mut()
                    .filter(|b| b.role == Role::Department && b.current(now))
                {
                    b.unbound_at = Some(at);
                }
            }
        }
        Change::BindRole {
            key,
            role,
            valid_from,
            valid_until,
        } => {
            if let Some(until) = *valid_until
                && until <= *valid_from
            {
                return Err(Rejection::BadWindow {
                    from: *valid_from,
                    until,
                });
            }
            let id = key.key_id();
            if let Some(record) = state.keys.get(&id) {
                active(record, id)?;
                if record
                    .bindings
                    .iter()
                    .any(|b| b.role == *role && b.current(now))
                {
                    return Err(Rejection::RoleAlreadyBound {
                        key: id,
                        role: *role,
                    });
                }
                room_for_binding(record, id)?;
            }
            let record = state
                .keys
                .entry(id)
                .or_insert_with(|| KeyRecord::new(key.clone(), at));
            record
                .bindings
                .push(binding(*role, *valid_from, *valid_until, at));
        }
        Change::UnbindRole { key, role } => {
            let record = state
                .keys
                .get(key)
                .ok_or(Rejection::UnknownKey { key: *key })?;
            if !record
                .bindings
                .iter()
                .any(|b| b.role == *role && b.current(now))
            {
                return Err(Rejection::RoleNotBound {
                    key: *key,
                    role: *role,
                });
            }
            if *role == Role::Admin && record.has_role(Role::Admin, now) {
                admins_left_after_losing_one(state, now)?;
            }
            if let Some(record) = state.keys.get_mut(key) {
                for b in record
                    .bindings
                    .iter_mut()
                    .filter(|b| b.role == *role && b.current(now))
                {
                    b.unbound_at = Some(at);
                }
            }
        }
        Change::RotateKey { old, new, .. } => {
            let record = state
                .keys
                .get(old)
                .ok_or(Rejection::UnknownKey { key: *old })?;
            active(record, *old)?;
            let new_id = new.key_id();
            if state.keys.contains_key(&new_id) {
                return Err(Rejection::KeyExists { key: new_id });
            }
            let mut successor = KeyRecord::new(new.clone(), at);
            successor.member = record.member;
            successor.bindings = record
                .bindings
                .iter()
                .filter(|b| b.current(now))
                .map(|b| binding(b.role, b.valid_from, b.valid_until, at))
                .collect();
            if let Some(member) = record.member
                && let Some(m) = state.members.get_mut(&member)
            {
                m.key = new_id;
            }
            if let Some(record) = state.keys.get_mut(old) {
                record.status = KeyStatus::Rotated {
                    successor: new_id,
                    at,
                };
            }
            state.keys.insert(new_id, successor);
        }
        Change::RevokeKey { key } => {
            let record = state
                .keys
                .get(key)
                .ok_or(Rejection::UnknownKey { key: *key })?;
            active(record, *key)?;
            if record.has_role(Role::Admin, now) {
                admins_left_after_losing_one(state, now)?;
            }
            members_left_without(state, key)?;
            if let Some(record) = state.keys.get_mut(key) {
                record.status = KeyStatus::Revoked { at };
            }
        }
        Change::SetThreshold { k } => {
            let admins = state.admin_count(now);
            if *k == 0 || u64::from(*k) > admins {
                return Err(Rejection::ThresholdOutOfRange { k: *k, admins });
            }
            state.threshold = *k;
        }
        Change::RegisterModel { categories, spec } => {
            let model = model_id(spec);
            if state.models.contains_key(&model) {
                return Err(Rejection::ModelExists { model });
            }
            state.models.insert(
                model,
                ModelRecord {
                    categories: *categories,
                    registered_at: at,
                    retired_at: None,
                },
            );
        }
        Change::RegisterPolicy {
            receiver,
            legal_basis,
            categories,
            spec,
        } => {
            let policy = crate::payload::policy_id(spec);
            if state.policies.contains_key(&policy) {
                return Err(Rejection::PolicyExists { policy });
            }
            if state
                .members
                .get(receiver)
                .is_none_or(|m| m.removed_at.is_some())
            {
                return Err(Rejection::UnknownMember { member: *receiver });
            }
            state.policies.insert(
                policy,
                crate::state::PolicyRecord {
                    receiver: *receiver,
                    legal_basis: *legal_basis,
                    categories: *categories,
                    registered_at: at,
                },
            );
        }
        Change::RetireModel { model } => {
            crate::apply::live_model(state, *model)?;
            if let Some(record) = state.models.get_mut(model) {
                record.retired_at = Some(at);
            }
        }
    }
    Ok(())
}

fn binding(role: Role, valid_from: u64, valid_until: Option<u64>, at: BlockTime) -> Binding {
    Binding {
        role,
        valid_from,
        valid_until,
        bound_at: at,
        unbound_at: None,
    }
}

fn active(record: &KeyRecord, key: KeyId) -> Result<(), Rejection> {
    match record.status {
        KeyStatus::Active => Ok(()),
        _ => Err(Rejection::KeyInactive { key }),
    }
}

fn room_for_binding(record: &KeyRecord, key: KeyId) -> Result<(), Rejection> {
    if record.bindings.len() >= BINDINGS_PER_KEY_MAX {
        return Err(Rejection::TooManyBindings {
            key,
            count: record.bindings.len() as u64,
        });
    }
    Ok(())
}

/// Refuses a change that takes `key` out of the member set if no member key would be left
/// to sign blocks (the chain could never commit again).
fn members_left_without(state: &State, key: &KeyId) -> Result<(), Rejection> {
    if state.voting_keys().all(|k| k.key_id() == *key) {
        return Err(Rejection::NoMembersLeft);
    }
    Ok(())
}

fn admins_left_after_losing_one(state: &State, now: u64) -> Result<(), Rejection> {
    let left = state.admin_count(now).saturating_sub(1);
    if left < u64::from(state.threshold) {
        return Err(Rejection::TooFewAdminsLeft {
            left,
            k: state.threshold,
        });
    }
    Ok(())
}
