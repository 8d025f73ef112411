//! Wiring one node: keys, genesis, ledger replica, p2p, Raft, batcher, HTTP API; and a
//! clean stop on Ctrl-C or SIGTERM.
//!
//! [`run`] reads and opens everything ([`startup`]), starts the p2p layer, Raft and the
//! assessor, then hands the long-running work to named tasks: the inbound peer dispatcher
//! ([`inbound`]), the batcher (`crate::submit`), the Raft watch ([`watch`]) and the HTTP
//! API (`crate::api`).

pub mod control;
mod inbound;
mod startup;
mod watch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use openraft::Config;
use weinong_contracts::{Genesis, Role, State};
use weinong_ledger::MemberSet;
use weinong_ledger::store::LedgerStore;

use crate::assess::Assessor;
use crate::chain::votes::VotePool;
use crate::chain::{Chain, StateMachine, replay};
use crate::config::{NodeConfig, NodeRole};
use crate::limits::{
    P2P_MESSAGE_BYTES_MAX, P2P_REQUEST_TIMEOUT, PEERS_AT_START_WAIT, SUBMIT_QUEUE,
};
use crate::p2p::{P2p, P2pConfig};
use crate::raft::log_store::LogStore;
use crate::raft::{NodeId, PeerNode, Raft, node_id};
use crate::raft_network::Network;
use crate::results::ResultStore;
use crate::shared::{Replica, Shared};
use crate::submit::{Batching, run_batcher};
use crate::wire::{PeerRequest, PeerResponse};
use inbound::{Inbound, LedgerAuthority};
use startup::{load_data_secrets, load_genesis, load_key, load_password};

/// Environment variable with the keystore password when the config names no file.
pub const PASSWORD_ENV: &str = "WEINONG_KEY_PASSWORD";

/// The member set the ledger store certifies blocks with: every genesis member, quorum a
/// strict majority.
pub fn member_set(genesis: &Genesis) -> anyhow::Result<MemberSet> {
    genesis
        .member_set()
        .context("the genesis member set is not usable")
}

fn raft_config(name: &str, election_timeout_min_ms: Option<u64>) -> anyhow::Result<Arc<Config>> {
    // Generous for a loaded 2-core machine running three nodes: a block of 1,000
    // transactions is ~300 KiB to replicate and verify. A test may slow one node's
    // campaigns (`[faults]`) so that another is sure to lead first.
    let election_timeout_min = election_timeout_min_ms.unwrap_or(1_500);
    let config = Config {
        cluster_name: name.to_string(),
        heartbeat_interval: 250,
        election_timeout_min,
        election_timeout_max: election_timeout_min.saturating_mul(2),
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
    let results =
        ResultStore::open(&config.data_dir.join("results")).context("opening the result store")?;
    let shared = Arc::new(Shared::new(
        config.name.clone(),
        key.key_id(),
        genesis.clone(),
        Replica { store, state },
        submit_tx,
        results,
    ));
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
    let (p2p, inbound) = P2p::<PeerRequest, PeerResponse>::start(p2p_config, authority).await?;
    tracing::info!(name = %config.name, key = %key.key_id(), peer = %p2p.local_peer_id(), "p2p started");

    let chain = Arc::new(Chain {
        shared: shared.clone(),
        key: key.clone(),
        voter,
        votes: VotePool::default(),
        p2p: p2p.clone(),
    });
    let log = LogStore::open(&config.data_dir.join("raft"))?;
    let control = Arc::new(control::Control {
        config: config.clone(),
        shared: shared.clone(),
        log: log.clone(),
        key: key.clone(),
        busy: tokio::sync::Mutex::new(()),
    });
    let sm = StateMachine::open(chain.clone(), log.clone()).map_err(anyhow::Error::msg)?;
    let me = node_id(&key.key_id());
    if voter {
        wait_for_quorum_peers(&p2p, &shared).await;
    }
    let raft = Raft::new(
        me,
        raft_config(
            &config.name,
            config
                .faults
                .as_ref()
                .and_then(|f| f.election_timeout_min_ms),
        )?,
        Network { p2p: p2p.clone() },
        log,
        sm,
    )
    .await
    .context("starting Raft")?;
    // Every voter initialises a fresh log with the same genesis membership. A restarted
    // node's log is initialised already: asking again only makes openraft log an error.
    let initialised = raft
        .is_initialized()
        .await
        .context("reading the Raft state")?;
    if voter && !initialised {
        let nodes: BTreeMap<NodeId, PeerNode> = members
            .keys()
            .keys()
            .map(|k| (node_id(k), PeerNode { key: k.to_hex() }))
            .collect();
        // Two voters may race (one's vote initialises the other): that refusal is fine.
        if let Err(e) = raft.initialize(nodes).await {
            tracing::debug!(error = %e, "Raft already initialised");
        }
    }

    let assessor = match &config.assessment {
        Some(section) => {
            let pause = config
                .faults
                .as_ref()
                .map_or(0, |f| f.policy_pause_after_access_ms);
            let assessor = Assessor::open(
                shared.clone(),
                key.clone(),
                p2p.clone(),
                section,
                Duration::from_millis(pause),
            )
            .await?;
            tokio::spawn(assessor.clone().run());
            tracing::info!(department = ?section.department, "computing assessments");
            Some(assessor)
        }
        None => None,
    };

    // Inbound p2p requests.
    tokio::spawn(
        Inbound {
            raft: raft.clone(),
            chain: chain.clone(),
            shared: shared.clone(),
            assessor,
            voter,
        }
        .serve(inbound),
    );
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
    tokio::spawn(watch::watch_raft(
        raft.clone(),
        shared.clone(),
        p2p.clone(),
        me,
    ));

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (field `http.listen`)",
                config.http.listen
            )
        })?;
    let tls = match config.http.tls_files() {
        Some((cert, key)) => {
            let files = std::sync::Arc::new(crate::api::tls::TlsFiles::load(cert, key).context(
                "loading the HTTP API's certificate (fields `http.tls_cert`, `http.tls_key`)",
            )?);
            tokio::spawn(reload_tls_on_sighup(files.clone()));
            Some(files)
        }
        None => None,
    };
    tracing::info!(
        http = %config.http.listen,
        tls = tls.is_some(),
        "HTTP API listening"
    );
    let proposals = crate::proposals::ProposalBoard::open(&config.data_dir.join("proposals"))
        .context("opening the pending-proposal store")?;
    let api = crate::api::ApiConfig {
        pseudonym_key,
        proposals: std::sync::Arc::new(proposals),
        tls,
        ..crate::api::ApiConfig::default()
    };
    let control_socket = control::bind(&config.data_dir)?;
    let control_task = tokio::spawn(control::serve(control_socket, control));
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
    control_task.abort();
    let _ = std::fs::remove_file(config.data_dir.join(control::SOCKET));
    let _ = raft.shutdown().await;
    p2p.shutdown().await;
    Ok(())
}

/// Raft's first campaign needs peers to ask: a voter waits (at most
/// [`PEERS_AT_START_WAIT`]) until enough other members are connected to make a quorum with
/// it, so a consortium that starts together elects a leader without failed vote requests.
/// A node whose peers are down starts anyway and says so.
async fn wait_for_quorum_peers(p2p: &P2p<PeerRequest, PeerResponse>, shared: &Shared) {
    let members = shared.voters();
    let needed = usize::from(members.quorum()).saturating_sub(1);
    let deadline = tokio::time::Instant::now() + PEERS_AT_START_WAIT;
    loop {
        let connected = p2p
            .peers()
            .iter()
            .filter(|k| **k != shared.key_id && members.keys().contains_key(*k))
            .count();
        if connected >= needed {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                connected,
                needed,
                "starting Raft with fewer member peers connected than a quorum needs; it elects once they connect"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads the certificate files again on each SIGHUP; a renewal that does not load leaves
/// the old certificate in force and says why.
async fn reload_tls_on_sighup(files: std::sync::Arc<crate::api::tls::TlsFiles>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot watch SIGHUP: the TLS certificate reloads only on restart");
            return;
        };
        while hup.recv().await.is_some() {
            match files.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate not reloaded; the old one stays in force")
                }
            }
        }
    }
    #[cfg(not(unix))]
    drop(files);
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
