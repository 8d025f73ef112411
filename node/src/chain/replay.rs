//! Rebuilding the contract state from the certified blocks on disk.
//!
//! The contract state lives in memory; on start the node replays every stored block
//! (each transaction verified and applied as when it was committed) and checks that the
//! state digest after each block equals the one its certified header holds. A mismatch
//! names the block and refuses to start: the node never serves a state it cannot prove.

use weinong_contracts::{
    BlockTime, Genesis, PreparedKeys, State, VerifiedTx, apply, expire_requests,
};
use weinong_ledger::store::{LedgerStore, StoreError};

/// Why the state could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The genesis document is not valid.
    #[error("the genesis document is invalid: {0}")]
    Genesis(String),
    /// Reading the store failed.
    #[error("reading the ledger store: {0}")]
    Store(#[from] StoreError),
    /// A stored transaction no longer applies.
    #[error(
        "block {height}: transaction {index} does not apply: {reason}; the store or the genesis file is wrong (run `weinong ledger fsck`)"
    )]
    Refused {
        /// Block height.
        height: u64,
        /// Log index.
        index: u64,
        /// The contracts' reason.
        reason: String,
    },
    /// The state after a block differs from its header.
    #[error(
        "block {height}: the state digest after replay differs from the certified header; the genesis file does not match this ledger"
    )]
    Digest {
        /// Block height.
        height: u64,
    },
    /// The member set after a block is not the one its header hands over to.
    #[error(
        "block {height}: the member set after replay is not the one the certified header hands over to; the store's member history is damaged"
    )]
    Members {
        /// Block height.
        height: u64,
    },
}

/// The contract state after the store's tip.
pub fn rebuild(store: &LedgerStore, genesis: &Genesis) -> Result<State, ReplayError> {
    let mut state =
        State::from_genesis(genesis).map_err(|e| ReplayError::Genesis(e.to_string()))?;
    let Some(tip) = store.tip().map(|t| t.height) else {
        return Ok(state);
    };
    let mut prepared = PreparedKeys::new();
    let mut index = 0u64;
    for height in 0..=tip {
        let header = store.header(height)?;
        let at = BlockTime::new(height, header.time_ms);
        let refused = |index, reason: String| ReplayError::Refused {
            height,
            index,
            reason,
        };
        expire_requests(&mut state, at).map_err(|e| refused(index, e.to_string()))?;
        while index < header.log_size {
            let tx = store.transaction(index)?;
            let verified = VerifiedTx::verify_prepared(&tx, &state, &mut prepared)
                .map_err(|e| refused(index, e.to_string()))?;
            apply(&mut state, &verified, at).map_err(|e| refused(index, e.to_string()))?;
            index += 1;
        }
        if state.digest() != header.state_digest {
            return Err(ReplayError::Digest { height });
        }
        if !header.is_format_1()
            && state.member_set().map(|s| s.digest()).ok() != Some(header.next_members)
        {
            return Err(ReplayError::Members { height });
        }
    }
    Ok(state)
}
