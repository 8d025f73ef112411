//! The wall clock, in the one unit every signed structure uses: milliseconds since the Unix
//! epoch.
//!
//! It lives here because `weinong-keys` is the crate every other one depends on, and the
//! first user of wall-clock time is this crate's own request signing
//! ([`crate::sign_request`] takes the signing time): nodes, the CLI and benchmarks all read
//! the time through this one function, so they round and saturate alike.

use std::time::{SystemTime, UNIX_EPOCH};

/// This machine's clock in milliseconds since the Unix epoch: 0 if the clock is set before
/// 1970, `u64::MAX` past the year 584 million. Never panics.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_ms_is_the_system_clock_in_milliseconds() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis();
        let now = u128::from(now_ms());
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis();
        assert!(
            before <= now && now <= after,
            "{before} <= {now} <= {after}"
        );
    }
}
