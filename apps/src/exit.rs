//! What `weinong` exits with, one meaning per status, so that scripts can tell a refusal
//! from a typo:
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | a check failed (invalid signature, failed audit, a request that failed in the computation) |
//! | 2 | usage or input error (a bad argument, file or answer) |
//! | 3 | the consortium refused: a contract rejected a transaction (a missing role, consent or nonce), a request failed for want of consent, or the node forbade the call (HTTP 403) |
//! | 4 | the consortium could not answer now (the node unreachable, no leader, overloaded): retry |
//! | 141 | the reader of the output went away (`weinong … \| head`) |
//!
//! A command returns [`Outcome`] when it ran to the end, or an error; [`code_of_error`]
//! reads the error's chain for a [`Refused`] or [`Unavailable`], or the node's typed error.

use std::fmt;

use weinong_api::ErrorCode;
use weinong_api::client::ClientError;

/// The outcome of a command that ran to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: a check failed.
    CheckFailed,
    /// Exit 3: the consortium refused.
    Refused,
    /// Exit 4: the consortium could not answer now.
    Unavailable,
}

impl Outcome {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::CheckFailed => 1,
            Outcome::Refused => 3,
            Outcome::Unavailable => 4,
        }
    }
}

/// An error that is a failed check (exit 1): what was served cannot be trusted.
#[derive(Debug)]
pub struct Failed(pub String);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}

/// An error that is the consortium's refusal (exit 3); the text says what was refused.
#[derive(Debug)]
pub struct Refused(pub String);

/// An error that is the consortium's being unable to answer now (exit 4).
#[derive(Debug)]
pub struct Unavailable(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}
impl std::error::Error for Unavailable {}

/// The exit status of a command that ended in `e`: 1, 3 or 4 where its chain holds a failed
/// check, a refusal or an unavailability (ours, or the node's typed error code or HTTP
/// status), else 2.
pub fn code_of_error(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<Failed>() {
            return 1;
        }
        if cause.is::<Refused>() {
            return 3;
        }
        if cause.is::<Unavailable>() {
            return 4;
        }
        if let Some(c) = cause.downcast_ref::<ClientError>() {
            if matches!(c, ClientError::NoAnswer { .. }) {
                return 4;
            }
            // The node's code where its answer is readable; else the HTTP status (a proxy's
            // 502 page, or a code this build does not know).
            match (c.code(), c.http_status()) {
                (Some(ErrorCode::Forbidden), _) | (None, Some(403)) => return 3,
                (Some(code), _) if code.number() >= 400 => return 4,
                (None, Some(status)) if status == 429 || status >= 500 => return 4,
                _ => {}
            }
        }
    }
    2
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn refusals_and_unavailability_have_their_own_codes_through_context() {
        let refused: anyhow::Result<()> =
            Err(Refused("the request was rejected: no role".into())).context("assess request");
        assert_eq!(code_of_error(&refused.unwrap_err()), 3);
        let busy: anyhow::Result<()> =
            Err(Unavailable("no leader".into())).context("consent grant");
        assert_eq!(code_of_error(&busy.unwrap_err()), 4);
        assert_eq!(
            code_of_error(&anyhow::anyhow!("--days must be at least 1")),
            2
        );
        let untrusted: anyhow::Result<()> = Err(Failed("shares disagree".into())).context("fetch");
        assert_eq!(code_of_error(&untrusted.unwrap_err()), 1);
        assert_eq!(Outcome::Refused.code(), 3);
        assert_eq!(Outcome::CheckFailed.code(), 1);
    }
}
