//! A small consortium for tests: three department nodes, admins, a registrar, an auditor,
//! and a way to sign and submit calls at a chosen block time.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use std::collections::BTreeMap;

use weinong_contracts::{
    Approval, BlockTime, Call, Change, Genesis, Governance, MemberId, Receipt, Rejection, Role,
    State, VerifiedTx, apply, expire_requests,
};
use weinong_keys::{KeyId, KeyPair};
use weinong_ledger::{Transaction, TxBody};

/// 2026-01-01T00:00:00Z, ms.
pub const T0: u64 = 1_767_225_600_000;
pub const HOUR: u64 = 3_600_000;
pub const DAY: u64 = 24 * HOUR;

/// Who signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Admin(usize),
    /// 0 civil affairs, 1 health, 2 medical insurance
    Node(usize),
    Registrar,
    Auditor,
    Institution,
    Stranger,
    Spare(usize),
}

pub struct World {
    pub state: State,
    pub genesis: Genesis,
    pub admins: Vec<KeyPair>,
    /// civil affairs (1), health (2), medical insurance (3)
    pub nodes: Vec<(MemberId, KeyPair)>,
    pub registrar: KeyPair,
    pub auditor: KeyPair,
    pub institution: KeyPair,
    pub stranger: KeyPair,
    /// Extra keys tests bind or rotate to.
    pub spare: Vec<KeyPair>,
    nonces: BTreeMap<KeyId, u64>,
    pub at: BlockTime,
    /// Every transaction submitted, with its block time, in order.
    pub log: Vec<(Transaction, BlockTime)>,
}

impl World {
    /// Genesis at T0 with `n_admins` admins and threshold `k`; then, by governance at
    /// block 1, the institution key is bound the institution role.
    pub fn new(n_admins: usize, k: u16) -> World {
        let admins: Vec<KeyPair> = (0..n_admins).map(|_| KeyPair::generate()).collect();
        let nodes: Vec<(MemberId, KeyPair)> = (1..=3)
            .map(|i| (MemberId(i), KeyPair::generate()))
            .collect();
        let registrar = KeyPair::generate();
        let auditor = KeyPair::generate();
        let genesis = Genesis {
            time_ms: T0,
            threshold: k,
            members: nodes
                .iter()
                .map(|(m, k)| (*m, k.public_key().clone()))
                .collect(),
            admins: admins.iter().map(|k| k.public_key().clone()).collect(),
            auditors: vec![auditor.public_key().clone()],
            registrars: vec![registrar.public_key().clone()],
        };
        let state = State::from_genesis(&genesis).expect("valid genesis");
        let mut world = World {
            state,
            genesis,
            admins,
            nodes,
            registrar,
            auditor,
            institution: KeyPair::generate(),
            stranger: KeyPair::generate(),
            spare: (0..4).map(|_| KeyPair::generate()).collect(),
            nonces: BTreeMap::new(),
            at: BlockTime::new(0, T0),
            log: Vec::new(),
        };
        let bind = Change::BindRole {
            key: world.institution.public_key().clone(),
            role: Role::Institution,
            valid_from: T0,
            valid_until: None,
        };
        let approvers: Vec<usize> = (0..usize::from(k)).collect();
        let tx = world.governance(0, &approvers, bind);
        world
            .submit_at(tx, BlockTime::new(1, T0))
            .expect("bind the institution");
        world
    }

    pub fn node(&self, i: usize) -> &KeyPair {
        &self.nodes[i].1
    }

    /// The key of `who`.
    pub fn key(&self, who: Who) -> &KeyPair {
        match who {
            Who::Admin(i) => &self.admins[i],
            Who::Node(i) => &self.nodes[i].1,
            Who::Registrar => &self.registrar,
            Who::Auditor => &self.auditor,
            Who::Institution => &self.institution,
            Who::Stranger => &self.stranger,
            Who::Spare(i) => &self.spare[i],
        }
    }

    /// Signs `call` as `who`, with `who`'s next nonce.
    pub fn sign(&mut self, who: Who, call: &Call) -> Transaction {
        let id = self.key(who).key_id();
        let nonce = self.nonces.entry(id).or_insert(0);
        *nonce += 1;
        let nonce = *nonce;
        sign_with_nonce(self.key(who), call, nonce)
    }

    /// A governance transaction submitted by admin `submitter`, approved by `approvers`
    /// (admin indexes), for the state's next change number.
    pub fn governance(
        &mut self,
        submitter: usize,
        approvers: &[usize],
        change: Change,
    ) -> Transaction {
        let seq = self.state.governance_seq();
        let approvals = approve(
            self.state.consortium(),
            seq,
            &change,
            approvers.iter().map(|&i| &self.admins[i]),
        );
        let call = Call::Governance(Governance {
            seq,
            change,
            approvals,
        });
        self.sign(Who::Admin(submitter), &call)
    }

    /// Verifies and applies `tx` at `at`, running the block's time-out sweep first when the
    /// height moves on.
    pub fn submit_at(&mut self, tx: Transaction, at: BlockTime) -> Result<Receipt, Rejection> {
        if at.height > self.at.height {
            expire_requests(&mut self.state, at).expect("time moves forward");
        }
        self.at = at;
        self.log.push((tx.clone(), at));
        let verified = VerifiedTx::verify(&tx, &self.state)?;
        apply(&mut self.state, &verified, at)
    }
}

/// Applies `log` to the genesis state again, sweeping at each new height, and returns
/// the state and each answer (receipt or rejection, as text). With `prepared`, signatures
/// are checked with per-key tables instead.
pub fn replay(
    genesis: &Genesis,
    log: &[(Transaction, BlockTime)],
    prepared: bool,
) -> (State, Vec<String>) {
    let mut state = State::from_genesis(genesis).expect("valid genesis");
    let mut tables = weinong_contracts::PreparedKeys::new();
    let mut answers = Vec::new();
    for (tx, at) in log {
        if at.height > state.last_block().height {
            expire_requests(&mut state, *at).expect("time moves forward");
        }
        let verified = if prepared {
            VerifiedTx::verify_prepared(tx, &state, &mut tables)
        } else {
            VerifiedTx::verify(tx, &state)
        };
        let answer = verified.and_then(|v| apply(&mut state, &v, *at));
        answers.push(format!("{answer:?}"));
    }
    (state, answers)
}

pub fn sign_with_nonce(key: &KeyPair, call: &Call, nonce: u64) -> Transaction {
    let payload = call.encode().expect("within limits");
    let body = TxBody {
        kind: call.kind(),
        signer: key.key_id(),
        nonce,
        time_ms: 0,
        payload,
    };
    Transaction::sign(body, key).expect("payload within the ledger limit")
}

/// Approvals by `admins` of change `seq`, sorted by key id as the encoding requires.
pub fn approve<'a>(
    consortium: &weinong_ledger::Hash32,
    seq: u64,
    change: &Change,
    admins: impl Iterator<Item = &'a KeyPair>,
) -> Vec<Approval> {
    let bytes = Governance::approved_bytes(consortium, seq, change);
    let mut approvals: Vec<Approval> = admins
        .map(|k| Approval {
            admin: k.key_id(),
            signature: k.sign(&bytes),
        })
        .collect();
    approvals.sort_by_key(|a| a.admin);
    approvals
}
