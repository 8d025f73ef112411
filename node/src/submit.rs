//! From submitted transactions to proposals: the leader batches them into blocks; a
//! follower forwards them to the leader.
//!
//! Order is kept: the batcher hands proposals to Raft one after another
//! (`client_write_ff` queues before it returns), and only the waiting for outcomes runs
//! concurrently, at most [`PROPOSALS_IN_FLIGHT`] proposals at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;
use tokio::sync::{Semaphore, mpsc};
use weinong_keys::KeyId;
use weinong_ledger::Transaction;

use crate::limits::{PROPOSALS_IN_FLIGHT, SUBMIT_TIMEOUT};
use crate::raft::{BlockResult, Proposal, Raft, TxFate};
use crate::raft_network::NodeP2p;
use crate::shared::{Shared, SubmitJob, SubmitOutcome};
use crate::wire::{PeerRequest, PeerResponse};

/// Batching settings.
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Most transactions per proposal.
    pub max_txs: usize,
    /// How long to wait to fill one.
    pub interval: Duration,
    /// Added to the clock in each proposal's time; 0 except in adversarial tests
    /// (`[faults]` in the config).
    pub time_offset_ms: i64,
}

struct Waiting {
    job: SubmitJob,
    since: Instant,
}

/// Runs until the queue closes.
pub async fn run_batcher(
    shared: Arc<Shared>,
    raft: Raft,
    p2p: NodeP2p,
    mut queue: mpsc::Receiver<SubmitJob>,
    batching: Batching,
) {
    let in_flight = Arc::new(Semaphore::new(PROPOSALS_IN_FLIGHT));
    let me = crate::raft::node_id(&shared.key_id);
    while let Some(first) = queue.recv().await {
        let mut batch = vec![Waiting {
            job: first,
            since: Instant::now(),
        }];
        let mut count = batch[0].job.txs.len();
        let deadline = tokio::time::Instant::now() + batching.interval;
        while count < batching.max_txs {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(job)) => {
                    count += job.txs.len();
                    batch.push(Waiting {
                        job,
                        since: Instant::now(),
                    });
                }
                _ => break,
            }
        }
        let metrics = raft.metrics().borrow().clone();
        let leader = metrics.current_leader;
        shared
            .metrics
            .leader
            .store(leader.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        match leader {
            // Governance took this node's key out of the member set: the others refuse its
            // Raft RPCs and forwards, so waiting for a commit would only time out.
            Some(l) if l == me && !shared.is_voter(&shared.key_id) => {
                for w in batch {
                    reply_all(
                        &shared,
                        w,
                        "this node's key is no longer a member (governance revoked or rotated it); submit to another node",
                    );
                }
            }
            Some(l) if l == me => {
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    return;
                };
                propose(&shared, &raft, batch, permit, batching.time_offset_ms).await;
            }
            Some(l) => {
                let key = metrics
                    .membership_config
                    .nodes()
                    .find(|(id, _)| **id == l)
                    .and_then(|(_, n)| n.key.parse::<KeyId>().ok());
                let (own, foreign): (Vec<_>, Vec<_>) =
                    batch.into_iter().partition(|w| !w.job.forwarded);
                for w in foreign {
                    reply_all(
                        &shared,
                        w,
                        "this node lost the leadership while the transactions were forwarded to it; resubmit",
                    );
                }
                match key {
                    Some(key) => {
                        tokio::spawn(forward(shared.clone(), p2p.clone(), key, own));
                    }
                    None => {
                        for w in own {
                            reply_all(
                                &shared,
                                w,
                                "the Raft leader's key is unknown; retry shortly",
                            );
                        }
                    }
                }
            }
            None => {
                for w in batch {
                    reply_all(&shared, w, "no Raft leader is elected yet; retry shortly");
                }
            }
        }
    }
}

/// A batch's transactions as canonical bytes, in order.
fn wire_bytes(batch: &[Waiting]) -> Vec<ByteBuf> {
    batch
        .iter()
        .flat_map(|w| {
            w.job
                .txs
                .iter()
                .map(|tx| ByteBuf::from(tx.as_bytes().to_vec()))
        })
        .collect()
}

fn hex_of(tx: &Transaction) -> String {
    tx.hash().to_hex()
}

fn reply_all(shared: &Shared, w: Waiting, reason: &str) {
    let outcomes = w
        .job
        .txs
        .iter()
        .map(|tx| SubmitOutcome::Unavailable {
            tx: hex_of(tx),
            reason: reason.to_string(),
        })
        .collect();
    finish(shared, w, outcomes);
}

fn finish(shared: &Shared, w: Waiting, outcomes: Vec<SubmitOutcome>) {
    let committed = outcomes
        .iter()
        .any(|o| matches!(o, SubmitOutcome::Committed { .. }));
    if committed {
        let micros = u64::try_from(w.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        shared.metrics.record_latency(micros);
    }
    let _ = w.job.reply.send(outcomes);
}

async fn propose(
    shared: &Arc<Shared>,
    raft: &Raft,
    batch: Vec<Waiting>,
    permit: tokio::sync::OwnedSemaphorePermit,
    time_offset_ms: i64,
) {
    let txs = wire_bytes(&batch);
    let time_ms = crate::raft::admission::now_ms().saturating_add_signed(time_offset_ms);
    let proposal = Proposal {
        time_ms,
        proposer: *shared.key_id.as_bytes(),
        txs,
    };
    let receiver = match raft.client_write_ff(proposal).await {
        Ok(r) => r,
        Err(e) => {
            for w in batch {
                reply_all(shared, w, &format!("Raft is stopping: {e}"));
            }
            return;
        }
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let result = tokio::time::timeout(SUBMIT_TIMEOUT, receiver).await;
        let block: Result<BlockResult, String> = match result {
            Err(_) => Err(format!(
                "not committed within {} s; it may still commit, check before resubmitting",
                SUBMIT_TIMEOUT.as_secs()
            )),
            Ok(Err(_)) => Err("the Raft node stopped before the block committed".into()),
            Ok(Ok(Err(e))) => Err(format!("not committed: {e}")),
            Ok(Ok(Ok(resp))) => Ok(resp.data),
        };
        distribute(&shared, batch, block);
    });
}

fn distribute(shared: &Shared, batch: Vec<Waiting>, block: Result<BlockResult, String>) {
    let block = match block {
        Ok(b) => b,
        Err(reason) => {
            for w in batch {
                reply_all(shared, w, &reason);
            }
            return;
        }
    };
    let height = block.height.unwrap_or(0);
    let mut fates = block.txs.into_iter();
    for w in batch {
        let outcomes = w
            .job
            .txs
            .iter()
            .map(|tx| match fates.next() {
                Some(TxFate::Committed { index }) => SubmitOutcome::Committed {
                    tx: hex_of(tx),
                    height,
                    index,
                },
                Some(TxFate::Rejected { reason }) => SubmitOutcome::Rejected {
                    tx: hex_of(tx),
                    rejection: reason,
                },
                None => SubmitOutcome::Unavailable {
                    tx: hex_of(tx),
                    reason: "the block result has no entry for it".into(),
                },
            })
            .collect();
        finish(shared, w, outcomes);
    }
}

async fn forward(shared: Arc<Shared>, p2p: NodeP2p, leader: KeyId, batch: Vec<Waiting>) {
    let txs = wire_bytes(&batch);
    let response = p2p.request(&leader, PeerRequest::Forward(txs)).await;
    let mut outcomes = match response {
        Ok(PeerResponse::Forwarded(o)) => o.into_iter(),
        Ok(other) => {
            let why = match other {
                PeerResponse::Refused(why) => why,
                other => format!("unexpected answer {other:?}"),
            };
            for w in batch {
                reply_all(
                    &shared,
                    w,
                    &format!("the leader {leader} refused the forwarded transactions: {why}"),
                );
            }
            return;
        }
        Err(e) => {
            for w in batch {
                reply_all(
                    &shared,
                    w,
                    &format!("forwarding to the leader {leader} failed: {e}"),
                );
            }
            return;
        }
    };
    for w in batch {
        let mine = w
            .job
            .txs
            .iter()
            .map(|tx| {
                outcomes
                    .next()
                    .unwrap_or_else(|| SubmitOutcome::Unavailable {
                        tx: hex_of(tx),
                        reason: "the leader returned fewer outcomes than transactions".into(),
                    })
            })
            .collect();
        finish(&shared, w, mine);
    }
}

/// The leader's side of a forward: queue the transactions as its own and wait.
pub async fn accept_forward(shared: &Arc<Shared>, txs: Vec<ByteBuf>) -> PeerResponse {
    let mut decoded = Vec::with_capacity(txs.len());
    for (i, bytes) in txs.iter().enumerate() {
        match Transaction::decode(bytes) {
            Ok(tx) => decoded.push(tx),
            Err(e) => {
                return PeerResponse::Refused(format!(
                    "forwarded transaction {i} does not decode: {e}"
                ));
            }
        }
    }
    let (reply, outcome) = tokio::sync::oneshot::channel();
    if shared
        .submit
        .send(SubmitJob {
            txs: decoded,
            reply,
            forwarded: true,
        })
        .await
        .is_err()
    {
        return PeerResponse::Refused("the leader is shutting down".into());
    }
    match outcome.await {
        Ok(o) => PeerResponse::Forwarded(o),
        Err(_) => PeerResponse::Refused("the leader stopped before answering".into()),
    }
}
