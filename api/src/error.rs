//! The API's one error shape and its closed list of codes.
//!
//! Every error answer is [`ErrorBody`]: a stable [`ErrorCode`] (its snake_case name and its
//! number, both fixed forever), a message naming what is wrong and what to do, and, where a
//! contract refused something, the typed refusal ([`RejectionBody`]). Clients decide on the
//! code, never on the message: messages may be reworded at any time.
//!
//! Numbers are grouped by kind: 1xx the request is malformed, 2xx the caller is not
//! authenticated or not allowed, 3xx what was asked for does not exist, 4xx a limit was
//! reached (retry later), 5xx the node cannot answer now (ask another node). A code is
//! never renumbered or reused; a new one takes the next free number of its group.

use std::fmt;

use crate::rejection::RejectionBody;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// Declares [`ErrorCode`] with its names and numbers in one table.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $number:literal, $name:literal;)*) => {
        /// Why the node refused a request: a closed list, each with a stable snake_case
        /// name and number (see the module doc for the groups).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in number order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable snake_case name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The stable number.
            pub const fn number(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $number,)*
                }
            }
        }
    };
}

error_codes! {
    // ---- 1xx: the request is malformed ----
    /// The body is not the JSON the route takes.
    MalformedJson = 100, "malformed_json";
    /// A hex field is not hex.
    BadHex = 101, "bad_hex";
    /// An id in the path is not 64 hex characters.
    BadId = 102, "bad_id";
    /// The path does not parse.
    BadPath = 103, "bad_path";
    /// The query string does not parse.
    BadQuery = 104, "bad_query";
    /// The body could not be read.
    BodyUnreadable = 105, "body_unreadable";
    /// A GET carries a body.
    BodyOnGet = 106, "body_on_get";
    /// A transaction does not decode.
    BadTransaction = 107, "bad_transaction";
    /// A transaction's payload is not a canonical call of its kind.
    BadPayload = 108, "bad_payload";
    /// A transaction's kind is not known.
    UnknownKind = 109, "unknown_kind";
    /// A submission holds no transaction.
    NoTransactions = 110, "no_transactions";
    /// A submission holds more transactions than one may.
    TooManyTransactions = 111, "too_many_transactions";
    /// A block height is out of range.
    BadHeight = 112, "bad_height";
    /// A range of heights is empty or reversed.
    BadRange = 113, "bad_range";
    /// A log size is out of range.
    BadSize = 114, "bad_size";
    /// A pseudonym batch is empty or too large.
    BadBatchSize = 115, "bad_batch_size";
    /// A blinded element is not a ristretto255 point.
    BadBlindedElement = 116, "bad_blinded_element";
    /// The body is over the size limit.
    BodyTooLarge = 117, "body_too_large";
    /// The route does not take this method.
    MethodNotAllowed = 118, "method_not_allowed";
    /// A governance proposal file is unusable or carries an approval that does not count.
    BadProposal = 119, "bad_proposal";
    /// A governance proposal is for a sequence number the ledger does not expect next.
    StaleProposal = 120, "stale_proposal";
    /// Plain HTTP reached a node that serves HTTPS only.
    HttpsRequired = 121, "https_required";
    // ---- 2xx: not authenticated or not allowed ----
    /// The request carries no signature.
    MissingSignature = 200, "missing_signature";
    /// The signature headers do not parse.
    MalformedSignature = 201, "malformed_signature";
    /// The signature does not verify.
    BadSignature = 202, "bad_signature";
    /// The signing key is not registered.
    UnknownKey = 203, "unknown_key";
    /// The request was signed for another consortium.
    WrongConsortium = 204, "wrong_consortium";
    /// The request was signed for another node.
    WrongNode = 205, "wrong_node";
    /// The signature time is too far from the node's clock.
    StaleRequest = 206, "stale_request";
    /// The signature time is before the node started.
    SignedBeforeStart = 207, "signed_before_start";
    /// The signed request was seen already.
    ReplayedRequest = 208, "replayed_request";
    /// The key's roles do not allow the route.
    Forbidden = 209, "forbidden";
    // ---- 3xx: what was asked for does not exist ----
    /// Nothing stored under that id.
    NotFound = 300, "not_found";
    /// The ledger has no block yet.
    NoBlocks = 301, "no_blocks";
    /// No block at that height.
    NoSuchBlock = 302, "no_such_block";
    /// No such consent.
    NoSuchConsent = 303, "no_such_consent";
    /// No such key in the ledger state.
    NoSuchKey = 304, "no_such_key";
    /// No such assessment request.
    NoSuchRequest = 305, "no_such_request";
    /// No such route.
    NoSuchRoute = 306, "no_such_route";
    /// No such transaction.
    NoSuchTransaction = 307, "no_such_transaction";
    /// The node holds no pseudonym key.
    NoPseudonymKey = 308, "no_pseudonym_key";
    /// No such policy run.
    NoSuchRun = 309, "no_such_run";
    /// This node holds no result for the run (it is not the receiver, or the run is not done).
    NoRunResult = 310, "no_run_result";
    // ---- 4xx: a limit was reached; retry later ----
    /// The key holds its share of the replay cache (429, `Retry-After`).
    TooManyRequests = 400, "too_many_requests";
    /// The key is over its pseudonym rate (429, `Retry-After`).
    RateLimited = 401, "rate_limited";
    /// The node handles its limit of requests at once (503, `Retry-After`).
    Overloaded = 402, "overloaded";
    /// The body did not arrive in time.
    BodyTimeout = 403, "body_timeout";
    /// The handler did not finish in time.
    HandlerTimeout = 404, "handler_timeout";
    /// The node has its limit of connections open (503, `Retry-After`).
    TooManyConnections = 405, "too_many_connections";
    /// Too many keys made signed requests within the clock window (503, `Retry-After`).
    Busy = 406, "busy";
    /// The node holds its limit of pending governance proposals (429).
    ProposalBoardFull = 407, "proposal_board_full";
    // ---- 5xx: the node cannot answer now ----
    /// The ledger replica is unavailable (a writer failed).
    ReplicaUnavailable = 500, "replica_unavailable";
    /// The node is shutting down.
    NodeStopping = 501, "node_stopping";
    /// The ledger store failed.
    LedgerUnavailable = 502, "ledger_unavailable";
    /// The replay cache failed.
    ReplayCacheUnavailable = 503, "replay_cache_unavailable";
    /// The result store failed.
    ResultStore = 504, "result_store";
    /// The genesis document cannot be used.
    GenesisUnusable = 505, "genesis_unusable";
    /// The pseudonym evaluation failed.
    EvaluationFailed = 506, "evaluation_failed";
    /// `/readyz`: no Raft leader is known or this node is behind the committed log.
    NotReady = 507, "not_ready";
    /// The pending-proposal store failed.
    ProposalStore = 508, "proposal_store";
}

impl ErrorCode {
    /// The code of this snake_case name, if any.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The code of this number, if any.
    pub fn from_number(number: u16) -> Option<ErrorCode> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.number() == number)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ErrorCode::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code {name:?}")))
    }
}

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.name())))
            .description(Some(
                "Stable snake_case error code; its number is in `number`",
            ))
            .into()
    }
}

impl ToSchema for ErrorCode {}

/// Every error: a stable code (name and number) and a message naming what is wrong and what
/// to do; for a contract's refusal also the typed refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// snake_case code, e.g. `bad_signature`, `forbidden`, `body_too_large`.
    pub code: ErrorCode,
    /// The code's stable number (absent from the bodies of older nodes).
    #[serde(default)]
    pub number: u16,
    /// English explanation (may be reworded; decide on `code`).
    pub message: String,
    /// The contracts' refusal, when one is the cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<RejectionBody>,
}

impl ErrorBody {
    /// The body of an error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code,
            number: code.number(),
            message: message.into(),
            rejection: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut names = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        for &code in ErrorCode::ALL {
            assert!(names.insert(code.name()), "name {} twice", code.name());
            assert!(
                numbers.insert(code.number()),
                "number {} twice",
                code.number()
            );
            assert_eq!(ErrorCode::from_name(code.name()), Some(code));
            assert_eq!(ErrorCode::from_number(code.number()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.name()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert!(
                code.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{} is not snake_case",
                code.name()
            );
            assert!(
                (100..600).contains(&code.number()),
                "{code}: number out of the groups"
            );
        }
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_name("no_such_thing"), None);
        assert!(serde_json::from_str::<ErrorCode>("\"no_such_thing\"").is_err());
    }

    /// The numbers clients may have stored: changing one is a breaking change.
    #[test]
    fn published_numbers_stay() {
        for (code, number) in [
            (ErrorCode::MalformedJson, 100),
            (ErrorCode::BadSignature, 202),
            (ErrorCode::Forbidden, 209),
            (ErrorCode::NoSuchKey, 304),
            (ErrorCode::BodyTooLarge, 117),
            (ErrorCode::Overloaded, 402),
            (ErrorCode::LedgerUnavailable, 502),
        ] {
            assert_eq!(code.number(), number, "{code}");
        }
    }

    #[test]
    fn the_body_carries_name_and_number() {
        let body = ErrorBody::new(ErrorCode::Forbidden, "no");
        let v: serde_json::Value = serde_json::to_value(&body).unwrap();
        assert_eq!(v["code"], "forbidden");
        assert_eq!(v["number"], 209);
        assert_eq!(v["message"], "no");
        assert!(v.get("rejection").is_none());
        let back: ErrorBody = serde_json::from_value(v).unwrap();
        assert_eq!(back, body);
    }
}
