//! Wiring one node: keys, genesis, ledger replica, p2p, Raft, batcher, HTTP API; and a
//! clean stop on Ctrl-C or SIGTERM.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use openraft::Config;
use weinong_contracts::{Genesis, Role, State};
use weinong_keys::{DataSecrets, KeyId, KeyPair, PublicKey, Zeroizing, open_keystore};
use weinong_ledger::MemberSet;
use weinong_ledger::store::LedgerStore;

use crate::assess::Assessor;
use crate::assess::results::ResultStore;
use crate::chain::votes::VotePool;
use crate::chain::{Chain, StateMachine, replay};
use crate::config::{NodeConfig, NodeRole};
use crate::limits::{P2P_MESSAGE_BYTES_MAX, P2P_REQUEST_TIMEOUT, SUBMIT_QUEUE};
use crate::p2p::{P2p, P2pConfig, PeerAuthority};
use crate::raft::log_store::LogStore;
use crate::raft::network::Network;
use crate::raft::{NodeId, PeerNode, Raft, admission, node_id};
use crate::shared::{AssessHub, Metrics, Replica, Shared};
use crate::submit::{Batching, accept_forward, run_batcher};
use crate::wire::{PeerRequest, PeerResponse};

/// Environment variable with the keystore password when the config names no file.
pub const PASSWORD_ENV: &str = "WEINONG_KEY_PASSWORD";

/// The member set the ledger store certifies blocks with: every genesis member, quorum a
/// strict majority.
pub fn member_set(genesis: &Genesis) -> anyhow::Result<MemberSet> {
    genesis
        .member_set()
        .context("the genesis member set is not usable")
}

/// The keystore password: the first line of `password_file` (refused unless only its owner
/// can read it), else `WEINONG_KEY_PASSWORD`; zeroized when dropped.
fn load_password(config: &NodeConfig) -> anyhow::Result<Zeroizing<String>> {
    match &config.password_file {
        Some(p) => weinong_keys::read_password_file(p).context("field `password_file`"),
        None => std::env::var(PASSWORD_ENV)
            .map(Zeroizing::new)
            .with_context(|| {
                format!("no `password_file` in the config and {PASSWORD_ENV} is not set")
            }),
    }
}

fn load_key(config: &NodeConfig, password: &Zeroizing<String>) -> anyhow::Result<KeyPair> {
    let text = std::fs::read_to_string(&config.keystore).with_context(|| {
        format!(
            "cannot read keystore {} (field `keystore`)",
            config.keystore.display()
        )
    })?;
    open_keystore(&text, password.as_bytes())
        .with_context(|| format!("cannot open keystore {}", config.keystore.display()))
}

/// Opens the assessment section's data secrets with the keystore password at start-up, so
/// a wrong password, a tampered file or a plaintext file of an older weinong stops the
/// node with its message instead of failing an assessment later. Returns the consortium's
/// pseudonym (OPRF) key derived from the secrets' pepper, for `/v1/pseudonyms/evaluate`;
/// everything else is dropped (zeroized) again: the assessor reads features, not
/// identities.
fn load_data_secrets(
    section: &crate::config::AssessmentSection,
    password: &Zeroizing<String>,
) -> anyhow::Result<weinong_keys::PseudonymKey> {
    let path = &section.data_secrets;
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "assessment.data_secrets: cannot read {} (write it with `weinong data secrets`)",
            path.display()
        )
    })?;
    if meta.len() > weinong_keys::SEALED_SECRETS_BYTES_MAX as u64 {
        bail!("assessment.data_secrets: {} is too large", path.display());
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("assessment.data_secrets: cannot read {}", path.display()))?,
    );
    let secrets = DataSecrets::open(&text, password.as_bytes()).with_context(|| {
        format!(
            "assessment.data_secrets: cannot open {} with the keystore password",
            path.display()
        )
    })?;
    Ok(weinong_keys::PseudonymKey::new(&secrets.pepper))
}

fn load_genesis(config: &NodeConfig) -> anyhow::Result<Genesis> {
    let bytes = std::fs::read(&config.genesis).with_context(|| {
        format!(
            "cannot read genesis {} (field `genesis`)",
            config.genesis.display()
        )
    })?;
    Genesis::decode(&bytes)
        .with_context(|| format!("genesis {} does not decode", config.genesis.display()))
}

/// Peers admitted to connect: the member set that signs the next block (it follows
/// governance: a revoked or rotated-away key drops out, a new member's key comes in) and
/// keys with the auditor role in the current state.
struct LedgerAuthority {
    shared: Arc<Shared>,
}

impl PeerAuthority for LedgerAuthority {
    fn admits(&self, key: &KeyId) -> bool {
        if self.shared.is_voter(key) {
            return true;
        }
        let Ok(r) = self.shared.ledger() else {
            return false;
        };
        let now = r.state.last_block().time_ms;
        r.state.roles_at(key, now).contains(&Role::Auditor)
    }

    fn public_key(&self, key: &KeyId) -> Option<PublicKey> {
        if let Some(k) = self.shared.with_voters(|v| v.keys().get(key).cloned()) {
            return Some(k);
        }
        let r = self.shared.ledger().ok()?;
        r.state.key(key).map(|rec| rec.public_key().clone())
    }
}

/// Whether a Raft RPC from `from`, naming `named` as leader or candidate (and carrying
/// `entries`, which a voter checks), may reach openraft: `None` if so, else the refusal to
/// answer.
fn admit_raft(
    shared: &Shared,
    from: &KeyId,
    named: Option<NodeId>,
    entries: Option<&[openraft::Entry<crate::raft::TypeConfig>]>,
) -> Option<PeerResponse> {
    // The voters, not the replica: a block being applied holds the replica's write lock,
    // and heartbeats must not wait for it.
    let sender = shared.with_voters(|voters| admission::check_sender(voters, from, named));
    let checked = sender.and_then(|()| match entries {
        Some(entries) => admission::check_entries(entries, admission::now_ms()),
        None => Ok(()),
    });
    checked.err().map(|refusal| {
        shared
            .metrics
            .raft_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(peer = %from, reason = %refusal, "Raft RPC refused");
        PeerResponse::Refused(refusal.to_string())
    })
}

fn raft_config(name: &str) -> anyhow::Result<Arc<Config>> {
    let config = Config {
        cluster_name: name.to_string(),
        // Generous for a loaded 2-core machine running three nodes: a block of 1,000
        // transactions is ~300 KiB to replicate and verify.
        heartbeat_interval: 250,
        election_timeout_min: 1_500,
        election_timeout_max: 3_000,
        max_payload_entries: 16,
        snapshot_policy: openraft::SnapshotPolicy::Never,
        ..Default::default()
    };
    Ok(Arc::new(config.validate().context("Raft settings")?))
}

/// Runs a node until Ctrl-C or SIGTERM.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let password = load_password(&config)?;
    let key = Arc::new(load_key(&config, &password)?);
    // Only a department node (one with an `[assessment]` section) holds the pseudonym key;
    // any other answers pseudonym requests with 503.
    let pseudonym_key = match &config.assessment {
        Some(section) => Some(Arc::new(load_data_secrets(section, &password)?)),
        None => None,
    };
    drop(password);
    let genesis = load_genesis(&config)?;
    let consortium = genesis.consortium().context("genesis does not encode")?;
    let members = member_set(&genesis)?;
    let voter = config.role == NodeRole::Voter;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let ledger_dir = config.data_dir.join("ledger");
    let store = if ledger_dir.join("CURRENT").exists() {
        LedgerStore::open(&ledger_dir).context("opening the ledger store")?
    } else {
        std::fs::create_dir_all(&ledger_dir)?;
        LedgerStore::create(&ledger_dir, &members).context("creating the ledger store")?
    };
    if store.genesis_members() != &members {
        bail!(
            "the ledger store in {} belongs to another member set than this genesis",
            ledger_dir.display()
        );
    }
    let state: State = replay::rebuild(&store, &genesis)?;
    if voter && !store.members().keys().contains_key(&key.key_id()) {
        // A key governance made a member (a rotation, a new department) while this store
        // was behind: the node catches up and signs once its replica hands over to it. A key
        // that never was one (an auditor's) is refused.
        if state
            .key(&key.key_id())
            .is_some_and(|k| k.member().is_none())
        {
            bail!(
                "role = \"voter\" but key {} is not a member on this ledger; use role = \"learner\" for an auditor",
                key.key_id()
            );
        }
        tracing::warn!(
            key = %key.key_id(),
            "this key is not in the member set of this replica (yet); the node follows and signs once governance made it a member and the replica caught up"
        );
    }
    if !voter
        && !state
            .roles_at(&key.key_id(), state.last_block().time_ms)
            .contains(&Role::Auditor)
    {
        bail!(
            "role = \"learner\" but key {} has no auditor role on this ledger",
            key.key_id()
        );
    }
    let (submit_tx, submit_rx) = tokio::sync::mpsc::channel(SUBMIT_QUEUE);
    let height = store.tip().map(|t| t.height + 1).unwrap_or(0);
    let shared = Arc::new(Shared {
        name: config.name.clone(),
        voters: std::sync::RwLock::new(store.members().clone()),
        key_id: key.key_id(),
        consortium,
        genesis: genesis.clone(),
        replica: std::sync::RwLock::new(Replica { store, state }),
        submit: submit_tx,
        metrics: Metrics::default(),
        assess: AssessHub::new(
            ResultStore::open(&config.data_dir.join("results"))
                .context("opening the result store")?,
        ),
    });
    shared
        .metrics
        .blocks
        .store(height, std::sync::atomic::Ordering::Relaxed);
    shared.set_voters(shared.voters());

    let identity = crate::p2p::load_or_create_identity(&config.data_dir.join("p2p.key"))?;
    let p2p_config = P2pConfig {
        listen: config.p2p.listen.parse().context("p2p.listen")?,
        dial: config
            .p2p
            .peers
            .iter()
            .map(|p| p.parse())
            .collect::<Result<_, _>>()
            .context("p2p.peers")?,
        identity,
        member_key: key.clone(),
        consortium,
        max_message_bytes: P2P_MESSAGE_BYTES_MAX,
        request_timeout: P2P_REQUEST_TIMEOUT,
    };
    let authority = Arc::new(LedgerAuthority {
        shared: shared.clone(),
    });
    let (p2p, mut inbound) = P2p::<PeerRequest, PeerResponse>::start(p2p_config, authority).await?;
    tracing::info!(name = %config.name, key = %key.key_id(), peer = %p2p.local_peer_id(), "p2p started");

    let chain = Arc::new(Chain {
        shared: shared.clone(),
        key: key.clone(),
        voter,
        votes: VotePool::default(),
        p2p: p2p.clone(),
    });
    let log = LogStore::open(&config.data_dir.join("raft"))?;
    let sm = StateMachine::open(chain.clone(), log.clone()).map_err(anyhow::Error::msg)?;
    let me = node_id(&key.key_id());
    let raft = Raft::new(
        me,
        raft_config(&config.name)?,
        Network { p2p: p2p.clone() },
        log,
        sm,
    )
    .await
    .context("starting Raft")?;
    if voter {
        let nodes: BTreeMap<NodeId, PeerNode> = members
            .keys()
            .keys()
            .map(|k| (node_id(k), PeerNode { key: k.to_hex() }))
            .collect();
        // Every voter initialises with the same genesis membership; openraft refuses a
        // second initialisation, which is what a restart gets.
        if let Err(e) = raft.initialize(nodes).await {
            tracing::debug!(error = %e, "Raft already initialised");
        }
    }

    let assessor = match &config.assessment {
        Some(section) => {
            let assessor =
                Assessor::open(shared.clone(), key.clone(), p2p.clone(), section).await?;
            tokio::spawn(assessor.clone().run());
            tracing::info!(department = ?section.department, "computing assessments");
            Some(assessor)
        }
        None => None,
    };

    // Inbound p2p requests.
    {
        let (raft, chain, shared) = (raft.clone(), chain.clone(), shared.clone());
        tokio::spawn(async move {
            while let Some(msg) = inbound.recv().await {
                let (raft, chain, shared) = (raft.clone(), chain.clone(), shared.clone());
                let assessor = assessor.clone();
                let from = msg.from;
                tokio::spawn(async move {
                    let response = match msg.request {
                        PeerRequest::AppendEntries(rpc) => {
                            let named = rpc.vote.leader_id().voted_for();
                            let entries = voter.then_some(rpc.entries.as_slice());
                            match admit_raft(&shared, &from, named, entries) {
                                None => PeerResponse::AppendEntries(raft.append_entries(rpc).await),
                                Some(refused) => refused,
                            }
                        }
                        PeerRequest::Vote(rpc) => {
                            match admit_raft(&shared, &from, rpc.vote.leader_id().voted_for(), None)
                            {
                                None => PeerResponse::Vote(raft.vote(rpc).await),
                                Some(refused) => refused,
                            }
                        }
                        PeerRequest::InstallSnapshot(rpc) => {
                            match admit_raft(&shared, &from, rpc.vote.leader_id().voted_for(), None)
                            {
                                None => {
                                    PeerResponse::InstallSnapshot(raft.install_snapshot(rpc).await)
                                }
                                Some(refused) => refused,
                            }
                        }
                        PeerRequest::Forward(txs) => {
                            if shared.is_voter(&from) {
                                accept_forward(&shared, txs).await
                            } else {
                                PeerResponse::Refused(format!(
                                    "forwarded transactions are taken from voters only; key {from} is not a voter (submit over HTTP instead)"
                                ))
                            }
                        }
                        PeerRequest::CommitVote(vote) => chain.on_vote(&vote),
                        PeerRequest::GetCertificate { height } => chain.certificate_of(height),
                        PeerRequest::SealedShare {
                            request,
                            party,
                            signature,
                            blob,
                        } => match &assessor {
                            Some(a) => {
                                a.accept_sealed(&from, request, party, &signature, blob.into_vec())
                            }
                            None => PeerResponse::Refused(
                                "this node computes no assessments".to_owned(),
                            ),
                        },
                    };
                    let _ = msg.reply.send(response);
                });
            }
        });
    }
    // The batcher.
    tokio::spawn(run_batcher(
        shared.clone(),
        raft.clone(),
        p2p.clone(),
        submit_rx,
        Batching {
            max_txs: config.batch.max_txs,
            interval: Duration::from_millis(config.batch.interval_ms),
            time_offset_ms: config
                .faults
                .as_ref()
                .map_or(0, |f| f.proposal_time_offset_ms),
        },
    ));
    // The leader makes the Raft voters follow the member set and adds connected auditors
    // as learners; everyone keeps metrics current.
    {
        let (raft, shared, p2p) = (raft.clone(), shared.clone(), p2p.clone());
        tokio::spawn(async move {
            let mut added: BTreeSet<NodeId> = BTreeSet::new();
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let m = raft.metrics().borrow().clone();
                let peers = p2p.peers();
                shared
                    .metrics
                    .peers
                    .store(peers.len() as u64, std::sync::atomic::Ordering::Relaxed);
                shared.metrics.leader.store(
                    m.current_leader.unwrap_or(0),
                    std::sync::atomic::Ordering::Relaxed,
                );
                shared
                    .metrics
                    .term
                    .store(m.current_term, std::sync::atomic::Ordering::Relaxed);
                shared.metrics.raft_voters.store(
                    m.membership_config.membership().voter_ids().count() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                if m.current_leader != Some(me) {
                    continue;
                }
                follow_member_set(&raft, &shared, &m).await;
                for peer in peers {
                    let id = node_id(&peer);
                    let known = m.membership_config.nodes().any(|(n, _)| *n == id);
                    let is_member = shared.is_voter(&peer);
                    if known || is_member || added.contains(&id) {
                        continue;
                    }
                    match raft
                        .add_learner(id, PeerNode { key: peer.to_hex() }, false)
                        .await
                    {
                        Ok(_) => {
                            tracing::info!(%peer, "auditor added as a Raft learner");
                            added.insert(id);
                        }
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "adding the auditor as a learner failed")
                        }
                    }
                }
            }
        });
    }

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (field `http.listen`)",
                config.http.listen
            )
        })?;
    tracing::info!(http = %config.http.listen, "HTTP API listening");
    let api = crate::api::ApiConfig {
        pseudonym_key,
        ..crate::api::ApiConfig::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(crate::api::serve(
        listener,
        shared.clone(),
        api,
        async move {
            let _ = stop_rx.await;
        },
    ));
    shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_tx.send(());
    let _ = http.await;
    let _ = raft.shutdown().await;
    p2p.shutdown().await;
    Ok(())
}

/// On the leader: if the Raft voters are not the keys of the member set the ledger handed
/// over to, changes them (new keys join as learners first, then one joint-consensus
/// change; keys that left are dropped). openraft runs one membership change at a time; a
/// change refused because another is under way is tried again on the next tick.
async fn follow_member_set(
    raft: &Raft,
    shared: &Shared,
    m: &openraft::RaftMetrics<NodeId, PeerNode>,
) {
    let members = shared.voters();
    let wanted: BTreeSet<NodeId> = members.keys().keys().map(node_id).collect();
    let config = m.membership_config.membership();
    let voters: BTreeSet<NodeId> = config.voter_ids().collect();
    if voters == wanted {
        return;
    }
    for key in members.keys().keys() {
        let id = node_id(key);
        if config.nodes().any(|(n, _)| *n == id) {
            continue;
        }
        if let Err(e) = raft
            .add_learner(id, PeerNode { key: key.to_hex() }, false)
            .await
        {
            tracing::warn!(%key, error = %e, "adding a new member as a Raft learner failed; retrying");
            return;
        }
    }
    tracing::info!(from = ?voters, to = ?wanted, "Raft voters follow the ledger's member set");
    if let Err(e) = raft.change_membership(wanted, false).await {
        tracing::warn!(error = %e, "changing the Raft voters failed; retrying");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
