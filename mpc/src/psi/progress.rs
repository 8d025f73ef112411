//! Progress reporting seam: the protocol says what it is doing and how far it got; the
//! command line draws bars (indicatif), tests and the node pass [`NoProgress`].

/// A step of a PSI run that reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading, hashing and blinding this party's own input (unit: input bytes).
    BlindOwn,
    /// Receiving and reblinding the peer's points (unit: points; ECDH).
    ReblindPeer,
    /// Running the OT extension over the cuckoo bins (unit: chunks of 2048 bins; KKRT).
    Encode,
    /// Matching the peer's stream against the own (unit: the ECDH receiver's own points
    /// returned doubly blinded, or the KKRT sender's OPRF values; receiver only).
    Match,
    /// Writing the intersection (unit: input rows re-read; receiver only).
    WriteOutput,
}

/// Receives progress from a running protocol. Called from several threads at once.
pub trait Progress: Sync {
    /// A stage starts; `total` is its size in the stage's unit.
    fn begin(&self, stage: Stage, total: u64);
    /// A stage advanced by `delta` units.
    fn advance(&self, stage: Stage, delta: u64);
    /// A stage is complete.
    fn end(&self, stage: Stage);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: Stage, _: u64) {}
    fn advance(&self, _: Stage, _: u64) {}
    fn end(&self, _: Stage) {}
}
