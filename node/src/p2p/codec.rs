//! CBOR framing for the request-response protocols, with our size limits.
//!
//! One message per stream, the stream's end marks the message's end (as libp2p's own cbor
//! codec). Unlike that codec, a message over the limit is an error that names its size
//! ([`Oversize`], recognisable in the `io::Error`), on write as well as on read, and a
//! response over the limit is replaced by a refusal the requester can read.
//!
//! Must not know: peers, authentication or what the messages mean.

use std::io;
use std::marker::PhantomData;

use async_trait::async_trait;
use futures::prelude::*;
use libp2p::StreamProtocol;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::Refusal;
use super::ticket::{TICKET_BYTES, Ticket, TicketBook};

/// A message over the limit (the `io::Error`'s inner error).
#[derive(Debug, thiserror::Error)]
#[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
pub struct Oversize {
    /// `"request"` or `"response"`.
    pub what: &'static str,
    /// Encoded length in bytes (at least `max + 1` when read off the wire).
    pub len: u64,
    /// The limit in bytes.
    pub max: u64,
}

impl Oversize {
    /// The [`Oversize`] inside an `io::Error` made by this codec, if any.
    pub fn find(error: &io::Error) -> Option<&Oversize> {
        error.get_ref().and_then(|inner| inner.downcast_ref())
    }
}

/// A response type that can stand in a refusal for a response too large to send.
pub trait Oversized: Sized {
    /// The message that replaces a response of `len` bytes over the `max` limit.
    fn oversized(len: u64, max: u64) -> Self;
}

/// A reply on the node protocol: the handler's response, or why there is none.
#[derive(Debug, Serialize, serde::Deserialize)]
pub enum WireResponse<Resp> {
    /// The handler's response.
    Reply(Resp),
    /// Refused (not authenticated, busy, no reply, ...).
    Refused(Refusal),
}

impl<Resp> Oversized for WireResponse<Resp> {
    fn oversized(len: u64, max: u64) -> Self {
        Self::Refused(Refusal::ResponseTooLarge { len, max })
    }
}

/// CBOR codec with one size limit for requests and responses.
pub struct CborCodec<Req, Resp> {
    bytes_max: u64,
    types: PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> CborCodec<Req, Resp> {
    /// A codec refusing messages over `bytes_max` bytes.
    pub fn new(bytes_max: u64) -> Self {
        Self {
            bytes_max,
            types: PhantomData,
        }
    }
}

impl<Req, Resp> Clone for CborCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self::new(self.bytes_max)
    }
}

fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    cbor4ii::serde::to_vec(Vec::new(), value).map_err(io::Error::other)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    cbor4ii::serde::from_slice(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn oversize(what: &'static str, len: usize, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        Oversize {
            what,
            len: u64::try_from(len).unwrap_or(u64::MAX),
            max,
        },
    )
}

/// Reads to the end of the stream, at most `max` bytes (one more proves it is too long).
async fn read_limited<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    what: &'static str,
    max: u64,
) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .await?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(oversize(what, bytes.len(), max));
    }
    Ok(bytes)
}

/// A request's bytes, refused (nothing sent) when over `max`.
fn encode_request<Req: Serialize>(req: &Req, max: u64) -> io::Result<Vec<u8>> {
    let bytes = encode(req)?;
    if !within(&bytes, max) {
        return Err(oversize("request", bytes.len(), max));
    }
    Ok(bytes)
}

fn within(bytes: &[u8], max: u64) -> bool {
    u64::try_from(bytes.len()).is_ok_and(|len| len <= max)
}

#[async_trait]
impl<Req, Resp> libp2p::request_response::Codec for CborCodec<Req, Resp>
where
    Req: Send + Serialize + DeserializeOwned,
    Resp: Send + Serialize + DeserializeOwned + Oversized,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_limited(io, "request", self.bytes_max).await?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_limited(io, "response", self.bytes_max).await?)
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_request(&req, self.bytes_max)?;
        io.write_all(&bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        resp: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let mut bytes = encode(&resp)?;
        if !within(&bytes, self.bytes_max) {
            let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
            tracing::warn!(
                len,
                max = self.bytes_max,
                "response over the message limit refused"
            );
            bytes = encode(&Resp::oversized(len, self.bytes_max))?;
        }
        io.write_all(&bytes).await
    }
}

/// A request as the node protocol carries it: the ticket this node issued to the sender
/// (see [`super::ticket`]), then the request.
#[derive(Debug)]
pub struct Ticketed<Req> {
    /// The sender's ticket.
    pub ticket: Ticket,
    /// The request.
    pub request: Req,
}

/// A stream whose first bytes are not a valid ticket (the `io::Error`'s inner error).
#[derive(Debug, thiserror::Error)]
#[error("the request carries no ticket this node issued (send the identity binding first)")]
pub struct NoTicket;

/// The node protocol's codec: [`CborCodec`] behind a ticket. A request is read past its
/// first [`TICKET_BYTES`] bytes only if they are a ticket in the book, so a connection
/// without an accepted binding can make this node read 16 bytes per stream, never a body.
pub struct TicketedCodec<Req, Resp> {
    inner: CborCodec<Req, Resp>,
    book: TicketBook,
}

impl<Req, Resp> TicketedCodec<Req, Resp> {
    /// A codec refusing bodies over `bytes_max` bytes and tickets not in `book`.
    pub fn new(bytes_max: u64, book: TicketBook) -> Self {
        Self {
            inner: CborCodec::new(bytes_max),
            book,
        }
    }
}

impl<Req, Resp> Clone for TicketedCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            book: self.book.clone(),
        }
    }
}

#[async_trait]
impl<Req, Resp> libp2p::request_response::Codec for TicketedCodec<Req, Resp>
where
    Req: Send + Serialize + DeserializeOwned,
    Resp: Send + Serialize + DeserializeOwned + Oversized,
{
    type Protocol = StreamProtocol;
    type Request = Ticketed<Req>;
    type Response = Resp;

    async fn read_request<T>(&mut self, p: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut ticket = [0u8; TICKET_BYTES];
        io.read_exact(&mut ticket).await?;
        let ticket = Ticket(ticket);
        if self.book.holder(&ticket).is_none() {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, NoTicket));
        }
        let request = self.inner.read_request(p, io).await?;
        Ok(Ticketed { ticket, request })
    }

    async fn read_response<T>(&mut self, p: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.inner.read_response(p, io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // Encoded (and size-checked) before anything is sent.
        let bytes = encode_request(&req.request, self.inner.bytes_max)?;
        io.write_all(&req.ticket.0).await?;
        io.write_all(&bytes).await
    }

    async fn write_response<T>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
        resp: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_response(p, io, resp).await
    }
}

#[cfg(test)]
mod tests {
    use libp2p::request_response::Codec as _;

    use super::*;

    type Codec = CborCodec<Vec<u8>, WireResponse<Vec<u8>>>;
    const PROTOCOL: StreamProtocol = StreamProtocol::new("/test/1");

    fn block_on<F: Future>(future: F) -> F::Output {
        futures::executor::block_on(future)
    }

    #[test]
    fn request_round_trips_at_the_limit_and_fails_one_byte_over() {
        let message = vec![0xab_u8; 100];
        let len = encode(&message).expect("encode").len();
        let max = u64::try_from(len).expect("small");
        let mut codec = Codec::new(max);
        let mut wire = Vec::new();
        block_on(codec.write_request(&PROTOCOL, &mut wire, message.clone())).expect("fits");
        let read = block_on(codec.read_request(&PROTOCOL, &mut wire.as_slice())).expect("read");
        assert_eq!(read, message);

        let mut small = Codec::new(max - 1);
        let error = block_on(small.write_request(&PROTOCOL, &mut Vec::new(), message))
            .expect_err("one byte over");
        let found = Oversize::find(&error).expect("typed oversize");
        assert_eq!(
            (found.what, found.len, found.max),
            ("request", max, max - 1)
        );
        let error = block_on(small.read_request(&PROTOCOL, &mut wire.as_slice()))
            .expect_err("reader refuses too");
        assert!(Oversize::find(&error).is_some(), "{error}");
    }

    #[test]
    fn oversize_response_becomes_a_refusal() {
        let mut codec = Codec::new(64);
        let mut wire = Vec::new();
        block_on(codec.write_response(&PROTOCOL, &mut wire, WireResponse::Reply(vec![1_u8; 1000])))
            .expect("replaced, not failed");
        let read = block_on(codec.read_response(&PROTOCOL, &mut wire.as_slice())).expect("read");
        assert!(
            matches!(
                read,
                WireResponse::Refused(Refusal::ResponseTooLarge { len, max: 64 }) if len > 1000
            ),
            "{read:?}"
        );
    }

    #[test]
    fn a_request_without_a_valid_ticket_is_refused_after_sixteen_bytes() {
        let book = TicketBook::default();
        let peer = libp2p::PeerId::random();
        let ticket = book.issue(peer).expect("random");
        let mut codec = TicketedCodec::<Vec<u8>, WireResponse<Vec<u8>>>::new(1 << 20, book);
        let mut wire = Vec::new();
        let message = vec![7_u8; 1000];
        block_on(codec.write_request(
            &PROTOCOL,
            &mut wire,
            Ticketed {
                ticket,
                request: message.clone(),
            },
        ))
        .expect("fits");
        let read = block_on(codec.read_request(&PROTOCOL, &mut wire.as_slice())).expect("read");
        assert_eq!((read.ticket, read.request), (ticket, message));

        // A forged ticket in front of a large body: refused having read the ticket only.
        let mut forged = vec![0_u8; TICKET_BYTES];
        forged.extend(vec![0xab_u8; 64 * 1024]);
        let mut reader = forged.as_slice();
        let error = block_on(codec.read_request(&PROTOCOL, &mut reader)).expect_err("forged");
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            error.get_ref().is_some_and(|e| e.is::<NoTicket>()),
            "{error}"
        );
        assert_eq!(reader.len(), 64 * 1024, "the body was not read");
        // Too short to hold a ticket.
        let error =
            block_on(codec.read_request(&PROTOCOL, &mut &[1_u8, 2, 3][..])).expect_err("short");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut codec = Codec::new(64);
        let error = block_on(codec.read_request(&PROTOCOL, &mut &[0xff_u8, 0x00, 0x13][..]))
            .expect_err("not CBOR of a byte vector");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
