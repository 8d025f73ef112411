//! The node's counters for `/metrics` and its readiness for `/readyz`.
//!
//! Everything is an atomic the tasks bump without locks; `api::ops` renders it as
//! Prometheus text. Latencies are histograms with fixed buckets, so a scraper computes any
//! quantile over any window (`histogram_quantile`), and the node keeps no samples.
//!
//! Must not know: HTTP, Raft or the ledger: the Raft watch and the inbound dispatcher
//! store what they see here.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::limits::READY_LAG_ENTRIES_MAX;

/// Upper bounds of the latency buckets, in microseconds: 1 ms to 2 min, about ×2.5 apart.
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    10_000_000,
    120_000_000,
];

/// A latency histogram: counts per bucket (cumulated when rendered), sum and count.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len()],
    sum_us: AtomicU64,
    count: AtomicU64,
}

/// A histogram read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// `(upper bound µs, observations ≤ bound)`, cumulative, ascending.
    pub cumulative: Vec<(u64, u64)>,
    /// Sum of every observation, µs.
    pub sum_us: u64,
    /// Observations (the `+Inf` bucket).
    pub count: u64,
}

impl Histogram {
    /// Records one latency.
    pub fn observe_us(&self, micros: u64) {
        if let Some(i) = LATENCY_BUCKETS_US.iter().position(|b| micros <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let cumulative = LATENCY_BUCKETS_US
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| {
                total += n.load(Ordering::Relaxed);
                (*bound, total)
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            sum_us: self.sum_us.load(Ordering::Relaxed),
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

/// How a request the assessment driver took up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentEnd {
    /// This node computed and stored its sealed output share.
    Computed,
    /// Nothing for this node to do (not a party, or already done).
    Skipped,
    /// A step failed; the failure was recorded on the ledger.
    Failed,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Certified height + 1 (0 before the first block).
    pub blocks: AtomicU64,
    /// Connected, authenticated peers.
    pub peers: AtomicU64,
    /// Current Raft leader's node id, 0 if none known.
    pub leader: AtomicU64,
    /// Whether this node is the Raft leader.
    pub is_leader: AtomicBool,
    /// Transactions committed since start.
    pub committed_txs: AtomicU64,
    /// Submit-to-commit latencies.
    pub commit_latency: Histogram,
    /// Raft RPCs refused before reaching openraft (not a voter, speaking for another node,
    /// a proposal from another than its leader or too far ahead in time).
    pub raft_refused: AtomicU64,
    /// Current Raft term.
    pub term: AtomicU64,
    /// Keys in the member set that signs the next block.
    pub members: AtomicU64,
    /// Voters in the Raft membership this node last saw.
    pub raft_voters: AtomicU64,
    /// Highest commit index + 1 an admitted leader announced (0: none heard since start).
    pub leader_commit: AtomicU64,
    /// Last Raft log index + 1 this node applied (0: none).
    pub applied: AtomicU64,
    /// Assessment requests this node computed its share of.
    pub assessments_computed: AtomicU64,
    /// Assessment requests with nothing for this node to do.
    pub assessments_skipped: AtomicU64,
    /// Assessment requests whose computation failed here (failure recorded).
    pub assessments_failed: AtomicU64,
    /// Time from taking up a request to storing the sealed share (computed ones).
    pub assessment_latency: Histogram,
}

/// Whether a node serves current state, and how far behind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Serving current state: a leader is known and this node applied all but at most
    /// [`READY_LAG_ENTRIES_MAX`] of the entries it announced committed.
    pub ready: bool,
    /// Committed Raft entries not yet applied here (0 on the leader).
    pub lag: u64,
    /// Why not ready (empty when ready).
    pub reason: String,
}

impl Metrics {
    /// Records one submit-to-commit latency.
    pub fn record_latency(&self, micros: u64) {
        self.commit_latency.observe_us(micros);
    }

    /// Records how one assessment request ended, and how long a computed one took.
    pub fn record_assessment(&self, end: AssessmentEnd, micros: u64) {
        let counter = match end {
            AssessmentEnd::Computed => {
                self.assessment_latency.observe_us(micros);
                &self.assessments_computed
            }
            AssessmentEnd::Skipped => &self.assessments_skipped,
            AssessmentEnd::Failed => &self.assessments_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// An admitted leader's `AppendEntries` announced `index` committed.
    pub fn note_leader_commit(&self, index: Option<u64>) {
        if let Some(index) = index {
            self.leader_commit
                .fetch_max(index.saturating_add(1), Ordering::Relaxed);
        }
    }

    /// The node's readiness now.
    pub fn readiness(&self) -> Readiness {
        readiness(
            self.leader.load(Ordering::Relaxed) != 0,
            self.is_leader.load(Ordering::Relaxed),
            self.leader_commit.load(Ordering::Relaxed),
            self.applied.load(Ordering::Relaxed),
        )
    }
}

/// Readiness from what the node knows: whether a leader is known, whether it is the
/// leader, the highest commit (+1) a leader announced and its own applied index (+1).
pub fn readiness(
    leader_known: bool,
    is_leader: bool,
    leader_commit: u64,
    applied: u64,
) -> Readiness {
    let lag = if is_leader {
        0
    } else {
        leader_commit.saturating_sub(applied)
    };
    let reason = if !leader_known {
        "no Raft leader known (peers not connected yet, or an election is under way)".to_owned()
    } else if !is_leader && leader_commit == 0 {
        "no entries from the leader yet since start".to_owned()
    } else if lag > READY_LAG_ENTRIES_MAX {
        format!(
            "catching up: {lag} committed Raft entries not yet applied (ready at {READY_LAG_ENTRIES_MAX} or fewer)"
        )
    } else {
        String::new()
    };
    Readiness {
        ready: reason.is_empty(),
        lag,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_everything() {
        let h = Histogram::default();
        for us in [500, 1_000, 1_001, 60_000, 200_000_000] {
            h.observe_us(us);
        }
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert_eq!(s.sum_us, 500 + 1_000 + 1_001 + 60_000 + 200_000_000);
        // ≤ 1 ms: two; ≤ 2.5 ms: three; ≤ 100 ms: four; the 200 s one only in +Inf.
        assert_eq!(s.cumulative[0], (1_000, 2));
        assert_eq!(s.cumulative[1], (2_500, 3));
        assert_eq!(s.cumulative[6], (100_000, 4));
        assert_eq!(s.cumulative.last(), Some(&(120_000_000, 4)));
    }

    #[test]
    fn readiness_needs_a_leader_and_a_small_lag() {
        assert!(!readiness(false, false, 10, 10).ready);
        assert!(
            !readiness(true, false, 0, 0).ready,
            "nothing heard from the leader"
        );
        let behind = readiness(true, false, 100, 10);
        assert!(!behind.ready);
        assert_eq!(behind.lag, 90);
        assert!(behind.reason.contains("90"), "{}", behind.reason);
        let close = readiness(true, false, 12, 12 - READY_LAG_ENTRIES_MAX);
        assert!(close.ready, "{}", close.reason);
        let leader = readiness(true, true, 0, 5);
        assert!(leader.ready);
        assert_eq!(leader.lag, 0);
    }
}
