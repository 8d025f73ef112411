//! Signed HTTP requests: the one rule by which a client signs an API request and a node
//! checks it, shared here so the CLI (which must not link the node) and the node agree.
//!
//! # The signed message (format version 2)
//!
//! ```text
//! message = "WNRQ" ‖ 0x02
//!           ‖ consortium[32]                     (the consortium id: SM3 of the genesis bytes)
//!           ‖ node_key_id[32]                    (the addressed node's SM2 member key id)
//!           ‖ method_len:u32 ‖ method            (ASCII, as sent: "GET", "POST")
//!           ‖ target_len:u32 ‖ path_and_query    (as sent: "/v1/blocks/3?x=1")
//!           ‖ body_sm3[32]                       (SM3 of the body bytes; of "" if none)
//!           ‖ time_ms:u64                        (caller's clock, ms since the Unix epoch)
//!           ‖ key_id[32]                         (SM3 of the caller's SEC1 public key)
//! ```
//!
//! Integers are big-endian; the two variable fields carry their length, so no choice of
//! method and path can be read as another. The message is signed with SM2 under the
//! default distinguishing ID `1234567812345678` (see [`crate::DEFAULT_DIST_ID`]), so
//! OpenSSL 3 checks it with `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt
//! distid:1234567812345678`.
//!
//! The consortium and the node make a signature good at exactly one node of one
//! consortium ([`RequestScope`]): each node keeps its own replay cache, so a request
//! signed for node A and replayed to node B (or to a node of another consortium that
//! knows the same key) is refused there, by name, before the signature is checked.
//! Version 1 (without them) is no longer accepted.
//!
//! # Headers
//!
//! | header | value |
//! |---|---|
//! | [`HEADER_KEY`] `x-weinong-key` | the key id, 64 hex characters |
//! | [`HEADER_TIME`] `x-weinong-time` | `time_ms`, decimal |
//! | [`HEADER_SIGNATURE`] `x-weinong-signature` | the signature's 64-byte `r‖s`, 128 hex characters |
//! | [`HEADER_CONSORTIUM`] `x-weinong-consortium` | the consortium id signed for, 64 hex characters |
//! | [`HEADER_NODE`] `x-weinong-node` | the node key id signed for, 64 hex characters |
//!
//! The last two repeat what is signed so that a node can say which one is not its own; a
//! node checks the signature over its own consortium and key id, never over the headers'.
//!
//! What this module does not decide: how far `time_ms` may be from the server's clock and
//! how replays are refused (the node's API owns its window and its cache of seen
//! signatures), and which keys may call what (roles come from the ledger state).

use crate::{KeyError, KeyId, KeyPair, PublicKey, Signature, sm3_digest};

/// The message format version this build writes and checks.
pub const REQUEST_AUTH_VERSION: u8 = 2;
/// The domain tag that opens every signed request message.
pub const REQUEST_TAG: &[u8; 4] = b"WNRQ";
/// Header carrying the caller's key id (hex).
pub const HEADER_KEY: &str = "x-weinong-key";
/// Header carrying the signing time, milliseconds since the Unix epoch (decimal).
pub const HEADER_TIME: &str = "x-weinong-time";
/// Header carrying the SM2 signature `r‖s` (hex, 128 characters).
pub const HEADER_SIGNATURE: &str = "x-weinong-signature";
/// Header carrying the consortium id the request was signed for (hex, 64 characters).
pub const HEADER_CONSORTIUM: &str = "x-weinong-consortium";
/// Header carrying the node key id the request was signed for (hex, 64 characters).
pub const HEADER_NODE: &str = "x-weinong-node";

/// Where a signed request is good: one node of one consortium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestScope {
    /// The consortium id (SM3 of the genesis bytes).
    pub consortium: [u8; 32],
    /// The addressed node's SM2 member key id.
    pub node: KeyId,
}

/// Why a request signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestAuthError {
    /// A header is malformed (not hex, wrong length, not a number).
    #[error("header {header}: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The public key given is not the one the request names.
    #[error("the request names key {named}, but the key checked is {checked}")]
    WrongKey {
        /// The key id in the request.
        named: KeyId,
        /// The key id of the public key supplied.
        checked: KeyId,
    },
    /// The signature does not verify over this method, target, body, time and key.
    #[error(
        "request signature does not verify: sign consortium, node, method, path with query, SM3 of the body, time and key id as keys::request_auth documents (format version 2)"
    )]
    BadSignature,
    /// The request was signed for another consortium than the checking node's.
    #[error(
        "the request was signed for consortium {signed_for}, but this node belongs to consortium {this}; sign for the consortium of the node you address (GET /v1/node names it)"
    )]
    WrongConsortium {
        /// The consortium id in the request (hex).
        signed_for: String,
        /// The checking node's consortium id (hex).
        this: String,
    },
    /// The request was signed for another node than the checking one.
    #[error(
        "the request was signed for node {signed_for}, but this node is {this}; sign each request for the node you send it to (GET /v1/node names it)"
    )]
    WrongNode {
        /// The node key id in the request.
        signed_for: KeyId,
        /// The checking node's key id.
        this: KeyId,
    },
    /// A field is too long to be length-prefixed (over 4 GiB).
    #[error("{0} is too long to sign")]
    TooLong(&'static str),
}

/// A request's signature with the fields that travel beside it in headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSignature {
    /// The node and consortium it was signed for.
    pub scope: RequestScope,
    /// The caller's key id.
    pub key: KeyId,
    /// The signing time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// SM2 signature over [`request_message`].
    pub signature: Signature,
}

impl RequestSignature {
    /// The five header `(name, value)` pairs to send.
    pub fn headers(&self) -> [(&'static str, String); 5] {
        [
            (HEADER_KEY, self.key.to_hex()),
            (HEADER_TIME, self.time_ms.to_string()),
            (HEADER_SIGNATURE, hex::encode(self.signature.to_bytes())),
            (HEADER_CONSORTIUM, hex::encode(self.scope.consortium)),
            (HEADER_NODE, self.scope.node.to_hex()),
        ]
    }

    /// Parse the five header values (as received; surrounding whitespace is ignored), in
    /// the order of [`RequestSignature::headers`].
    pub fn from_headers(
        key: &str,
        time: &str,
        signature: &str,
        consortium: &str,
        node: &str,
    ) -> Result<Self, RequestAuthError> {
        let consortium_bytes: [u8; 32] = hex_header(
            HEADER_CONSORTIUM,
            consortium,
            "64 hex characters (the consortium id)",
        )?;
        let node: KeyId = node
            .parse()
            .map_err(|e: KeyError| malformed(HEADER_NODE, e))?;
        let key: KeyId = key
            .parse()
            .map_err(|e: KeyError| malformed(HEADER_KEY, e))?;
        let time = time.trim();
        if time.is_empty() || !time.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed(
                HEADER_TIME,
                "expected milliseconds since the Unix epoch, decimal digits only",
            ));
        }
        let time_ms = time.parse::<u64>().map_err(|e| malformed(HEADER_TIME, e))?;
        let raw: [u8; 64] = hex_header(HEADER_SIGNATURE, signature, "128 hex characters (r‖s)")?;
        let signature = Signature::from_bytes(&raw).map_err(|e| malformed(HEADER_SIGNATURE, e))?;
        Ok(Self {
            scope: RequestScope {
                consortium: consortium_bytes,
                node,
            },
            key,
            time_ms,
            signature,
        })
    }
}

/// The bytes of a hex header value, or an error naming the header and the `expected` form.
fn hex_header<const N: usize>(
    header: &'static str,
    value: &str,
    expected: &str,
) -> Result<[u8; N], RequestAuthError> {
    let mut bytes = [0u8; N];
    hex::decode_to_slice(value.trim(), &mut bytes)
        .map_err(|e| malformed(header, format!("expected {expected}: {e}")))?;
    Ok(bytes)
}

fn malformed(header: &'static str, reason: impl std::fmt::Display) -> RequestAuthError {
    RequestAuthError::MalformedHeader {
        header,
        reason: reason.to_string(),
    }
}

fn length_prefixed(
    out: &mut Vec<u8>,
    what: &'static str,
    bytes: &[u8],
) -> Result<(), RequestAuthError> {
    let len = u32::try_from(bytes.len()).map_err(|_| RequestAuthError::TooLong(what))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// The canonical message a caller signs (see the module documentation).
pub fn request_message(
    scope: &RequestScope,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    time_ms: u64,
    key: &KeyId,
) -> Result<Vec<u8>, RequestAuthError> {
    let mut out = Vec::with_capacity(4 + 1 + 64 + 8 + method.len() + path_and_query.len() + 72);
    out.extend_from_slice(REQUEST_TAG);
    out.push(REQUEST_AUTH_VERSION);
    out.extend_from_slice(&scope.consortium);
    out.extend_from_slice(scope.node.as_bytes());
    length_prefixed(&mut out, "method", method.as_bytes())?;
    length_prefixed(&mut out, "path and query", path_and_query.as_bytes())?;
    out.extend_from_slice(&sm3_digest(body));
    out.extend_from_slice(&time_ms.to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    Ok(out)
}

/// Sign a request with `key` at `time_ms`, good only at the node and consortium of `scope`.
pub fn sign_request(
    key: &KeyPair,
    scope: &RequestScope,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    time_ms: u64,
) -> Result<RequestSignature, RequestAuthError> {
    let id = key.key_id();
    let message = request_message(scope, method, path_and_query, body, time_ms, &id)?;
    Ok(RequestSignature {
        scope: *scope,
        key: id,
        time_ms,
        signature: key.sign(&message),
    })
}

/// Check that `signature` was made by `public` over this request, for the node and
/// consortium of `here` (the checking node's own): a request signed for another is refused
/// naming the field that differs. The caller decides separately whether
/// `signature.time_ms` is recent enough and whether it was seen before.
pub fn verify_request(
    public: &PublicKey,
    here: &RequestScope,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    signature: &RequestSignature,
) -> Result<(), RequestAuthError> {
    check_scope(here, signature)?;
    if public.key_id() != signature.key {
        return Err(RequestAuthError::WrongKey {
            named: signature.key,
            checked: public.key_id(),
        });
    }
    let message = request_message(
        here,
        method,
        path_and_query,
        body,
        signature.time_ms,
        &signature.key,
    )?;
    public
        .verify(&message, &signature.signature)
        .map_err(|_| RequestAuthError::BadSignature)
}

/// Refuses a request signed for another consortium or node than `here`, naming which.
/// Cheap (no signature check), so a node may run it before looking the key up.
pub fn check_scope(
    here: &RequestScope,
    signature: &RequestSignature,
) -> Result<(), RequestAuthError> {
    if signature.scope.consortium != here.consortium {
        return Err(RequestAuthError::WrongConsortium {
            signed_for: hex::encode(signature.scope.consortium),
            this: hex::encode(here.consortium),
        });
    }
    if signature.scope.node != here.node {
        return Err(RequestAuthError::WrongNode {
            signed_for: signature.scope.node,
            this: here.node,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(consortium: u8, node: u8) -> RequestScope {
        RequestScope {
            consortium: [consortium; 32],
            node: KeyId::from_bytes([node; 32]),
        }
    }

    /// The message written out field by field, independently of `request_message`.
    fn by_hand(
        scope: &RequestScope,
        method: &str,
        target: &str,
        body: &[u8],
        time_ms: u64,
        key: &KeyId,
    ) -> Vec<u8> {
        let mut m = b"WNRQ\x02".to_vec();
        m.extend_from_slice(&scope.consortium);
        m.extend_from_slice(scope.node.as_bytes());
        m.extend_from_slice(&(method.len() as u32).to_be_bytes());
        m.extend_from_slice(method.as_bytes());
        m.extend_from_slice(&(target.len() as u32).to_be_bytes());
        m.extend_from_slice(target.as_bytes());
        let mut h = crate::Sm3::new();
        crate::Digest::update(&mut h, body);
        m.extend_from_slice(&crate::Digest::finalize(h));
        m.extend_from_slice(&time_ms.to_be_bytes());
        m.extend_from_slice(key.as_bytes());
        m
    }

    use crate::Digest as _;

    #[test]
    fn message_matches_the_documented_layout() {
        let key = KeyPair::from_secret_bytes(&[7; 32]).unwrap();
        let id = key.key_id();
        let s = scope(0xc0, 0x0d);
        for (method, target, body, t) in [
            ("GET", "/v1/blocks/latest", &b""[..], 0u64),
            (
                "POST",
                "/v1/transactions?x=1",
                &b"{\"transactions\":[]}"[..],
                1_764_300_000_000,
            ),
            ("", "", &[0xffu8; 3][..], u64::MAX),
        ] {
            assert_eq!(
                request_message(&s, method, target, body, t, &id).unwrap(),
                by_hand(&s, method, target, body, t, &id)
            );
        }
        // SM3("") from GB/T 32905's reference implementation output.
        let empty = request_message(&s, "GET", "/", b"", 0, &id).unwrap();
        assert_eq!(
            hex::encode(&empty[4 + 1 + 64 + 4 + 3 + 4 + 1..][..32]),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
    }

    #[test]
    fn signs_verifies_and_refuses_any_change() {
        let key = KeyPair::generate();
        let here = scope(1, 2);
        let sig = sign_request(&key, &here, "POST", "/v1/transactions", b"{}", 42).unwrap();
        verify_request(
            key.public_key(),
            &here,
            "POST",
            "/v1/transactions",
            b"{}",
            &sig,
        )
        .unwrap();
        let bad = |m: &str, p: &str, b: &[u8], s: &RequestSignature| {
            verify_request(key.public_key(), &here, m, p, b, s).unwrap_err()
        };
        assert_eq!(
            bad("GET", "/v1/transactions", b"{}", &sig),
            RequestAuthError::BadSignature
        );
        assert_eq!(
            bad("POST", "/v1/transactions?a", b"{}", &sig),
            RequestAuthError::BadSignature
        );
        assert_eq!(
            bad("POST", "/v1/transactions", b"{ }", &sig),
            RequestAuthError::BadSignature
        );
        let mut later = sig.clone();
        later.time_ms = 43;
        assert_eq!(
            bad("POST", "/v1/transactions", b"{}", &later),
            RequestAuthError::BadSignature
        );
        // Length prefixes keep method and path apart.
        let split = sign_request(&key, &here, "GE", "T/x", b"", 1).unwrap();
        assert_eq!(
            bad("G", "ET/x", b"", &split),
            RequestAuthError::BadSignature
        );
        let other = KeyPair::generate();
        assert!(matches!(
            verify_request(
                other.public_key(),
                &here,
                "POST",
                "/v1/transactions",
                b"{}",
                &sig
            ),
            Err(RequestAuthError::WrongKey { .. })
        ));
    }

    #[test]
    fn a_request_for_another_node_or_consortium_is_refused_by_name() {
        let key = KeyPair::generate();
        let a = scope(1, 0xa);
        let sig = sign_request(&key, &a, "GET", "/v1/blocks/latest", b"", 7).unwrap();
        let at = |here: &RequestScope, sig: &RequestSignature| {
            verify_request(key.public_key(), here, "GET", "/v1/blocks/latest", b"", sig)
        };
        at(&a, &sig).unwrap();
        let err = at(&scope(1, 0xb), &sig).unwrap_err();
        assert!(matches!(err, RequestAuthError::WrongNode { .. }), "{err}");
        assert!(err.to_string().contains("node"), "{err}");
        let err = at(&scope(2, 0xa), &sig).unwrap_err();
        assert!(
            matches!(err, RequestAuthError::WrongConsortium { .. }),
            "{err}"
        );
        // Headers rewritten to name node B: the node checks over its own scope, and the
        // signature (made for A) does not verify there.
        let mut relabelled = sig.clone();
        relabelled.scope = scope(1, 0xb);
        assert_eq!(
            at(&scope(1, 0xb), &relabelled).unwrap_err(),
            RequestAuthError::BadSignature
        );
    }

    #[test]
    fn headers_round_trip_and_bad_headers_are_named() {
        let key = KeyPair::generate();
        let sig = sign_request(
            &key,
            &scope(3, 4),
            "GET",
            "/healthz",
            b"",
            1_700_000_000_123,
        )
        .unwrap();
        let [(k, kv), (t, tv), (s, sv), (c, cv), (n, nv)] = sig.headers();
        assert_eq!(
            (k, t, s, c, n),
            (
                HEADER_KEY,
                HEADER_TIME,
                HEADER_SIGNATURE,
                HEADER_CONSORTIUM,
                HEADER_NODE
            )
        );
        assert_eq!(
            RequestSignature::from_headers(&kv, &tv, &sv, &cv, &nv).unwrap(),
            sig
        );
        let header_of = |e: RequestAuthError| match e {
            RequestAuthError::MalformedHeader { header, .. } => header,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(
            header_of(RequestSignature::from_headers("zz", &tv, &sv, &cv, &nv).unwrap_err()),
            HEADER_KEY
        );
        for t in ["", "-1", "+5", "1e3", "99999999999999999999999"] {
            assert_eq!(
                header_of(RequestSignature::from_headers(&kv, t, &sv, &cv, &nv).unwrap_err()),
                HEADER_TIME
            );
        }
        for s in ["", &sv[..126], &"00".repeat(64)] {
            assert_eq!(
                header_of(RequestSignature::from_headers(&kv, &tv, s, &cv, &nv).unwrap_err()),
                HEADER_SIGNATURE
            );
        }
        assert_eq!(
            header_of(RequestSignature::from_headers(&kv, &tv, &sv, &cv[..62], &nv).unwrap_err()),
            HEADER_CONSORTIUM
        );
        assert_eq!(
            header_of(RequestSignature::from_headers(&kv, &tv, &sv, &cv, "x").unwrap_err()),
            HEADER_NODE
        );
    }
}
