//! PSI frames on a byte stream. Each frame is `kind: u8 ‖ length: u32 (big-endian) ‖ body`;
//! the length is checked against [`FRAME_BYTES_MAX`] before the body is read, and every
//! body is decoded with its exact expected size.
//!
//! | kind | frame | body |
//! |---|---|---|
//! | 1 | `Hello` | `"WNPSI"` ‖ version `u8` ‖ role `u8` ‖ mode `u8` ‖ protocol `u8` (absent: ECDH) |
//! | 2 | `Begin` | item count of the stream that follows, `u64` |
//! | 3 | `Points` | count `u32` ‖ count × 32-byte compressed ristretto255 points |
//! | 4 | `End` | item count of the stream just sent, `u64` |
//! | 5 | `KeepAlive` | empty: the peer is computing |
//! | 6 | `Abort` | UTF-8 reason, at most [`ABORT_REASON_BYTES_MAX`] bytes |
//! | 7 | `Done` | empty: the receiver has everything |
//! | 8 | `Seed` | 32 random bytes, this party's share of the run's public randomness (KKRT) |
//! | 9 | `BaseOtSender` | the base-OT sender's point `A`, 32 bytes (KKRT) |
//! | 10 | `BaseOtReceiver` | [`CODE_BITS`] points `B_j`, 32 bytes each (KKRT) |
//! | 11 | `Table` | cuckoo bins `u64` ‖ the receiver's distinct identifiers `u64` (KKRT) |
//! | 12 | `Columns` | chunk index `u32` ‖ [`CODE_BITS`] × [`CHUNK_COLUMN_BYTES`](super::kkrt::params::CHUNK_COLUMN_BYTES) bytes (KKRT) |
//! | 13 | `Values` | count `u32` ‖ count × [`VALUE_BYTES`]-byte OPRF values (KKRT) |

use std::io::{self, Read, Write};

use super::error::PsiError;
use super::group::PointBytes;
use super::kkrt::params::{CODE_BITS, COLUMNS_FRAME_BYTES, VALUE_BYTES, VALUES_BATCH_MAX, Value};
use super::limits::{BATCH_POINTS_MAX, FRAME_BYTES_MAX, IO_TIMEOUT};

/// The protocol version in `Hello`; a peer with another version is refused.
pub const PROTOCOL_VERSION: u8 = 1;
const MAGIC: &[u8; 5] = b"WNPSI";
/// The longest `Abort` reason sent or accepted.
pub const ABORT_REASON_BYTES_MAX: usize = 1024;

/// Which side of the protocol a party plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Blinds its set and the receiver's; learns nothing but set sizes.
    Sender,
    /// Learns the intersection (or only its size).
    Receiver,
}

/// What the receiver learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The identifiers in both sets.
    Intersection,
    /// Only how many identifiers are in both sets: the sender shuffles the doubly-blinded
    /// points it returns, so the receiver cannot tell which of its rows matched.
    CardinalityOnly,
}

/// Which PSI protocol a run speaks; both parties must name the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// ECDH-PSI on ristretto255 ([`super::session`]): the simplest, and the only one with a
    /// cardinality-only mode.
    Ecdh,
    /// KKRT16 OPRF-based PSI on base OT and AES ([`super::kkrt`]): several times faster;
    /// intersection mode only.
    Kkrt,
}

impl Protocol {
    /// The protocol to use for `mode` when the caller does not choose: KKRT where it
    /// applies, ECDH for cardinality-only runs (KKRT's receiver would learn which rows match).
    pub fn default_for(mode: Mode) -> Protocol {
        match mode {
            Mode::Intersection => Protocol::Kkrt,
            Mode::CardinalityOnly => Protocol::Ecdh,
        }
    }

    /// The protocol's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ecdh => "ecdh",
            Protocol::Kkrt => "kkrt",
        }
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ecdh" => Ok(Protocol::Ecdh),
            "kkrt" => Ok(Protocol::Kkrt),
            other => Err(format!(
                "unknown PSI protocol {other:?}; use \"ecdh\" or \"kkrt\""
            )),
        }
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Hello {
        version: u8,
        role: Role,
        mode: Mode,
        protocol: Protocol,
    },
    Begin {
        count: u64,
    },
    Points(Vec<PointBytes>),
    End {
        count: u64,
    },
    KeepAlive,
    Abort(String),
    Done,
    Seed([u8; 32]),
    BaseOtSender(PointBytes),
    BaseOtReceiver(Vec<PointBytes>),
    Table {
        bins: u64,
        distinct: u64,
    },
    Columns {
        chunk: u32,
        bytes: Vec<u8>,
    },
    Values(Vec<Value>),
}

impl Frame {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Frame::Hello { .. } => "Hello",
            Frame::Begin { .. } => "Begin",
            Frame::Points(_) => "Points",
            Frame::End { .. } => "End",
            Frame::KeepAlive => "KeepAlive",
            Frame::Abort(_) => "Abort",
            Frame::Done => "Done",
            Frame::Seed(_) => "Seed",
            Frame::BaseOtSender(_) => "BaseOtSender",
            Frame::BaseOtReceiver(_) => "BaseOtReceiver",
            Frame::Table { .. } => "Table",
            Frame::Columns { .. } => "Columns",
            Frame::Values(_) => "Values",
        }
    }
}

/// Write one frame. The caller flushes.
pub(crate) fn write_frame(w: &mut impl Write, frame: &Frame) -> io::Result<()> {
    let (kind, body): (u8, Vec<u8>) = match frame {
        Frame::Hello {
            version,
            role,
            mode,
            protocol,
        } => {
            let mut body = MAGIC.to_vec();
            body.extend([*version, role_byte(*role), mode_byte(*mode)]);
            // ECDH keeps the original 8-byte greeting, so older peers still understand it.
            if *protocol == Protocol::Kkrt {
                body.push(1);
            }
            (1, body)
        }
        Frame::Begin { count } => (2, count.to_be_bytes().to_vec()),
        Frame::Points(points) => {
            // Callers cut batches at BATCH_POINTS_MAX; a longer one is our bug.
            assert!(
                points.len() <= BATCH_POINTS_MAX,
                "batch of {} points",
                points.len()
            );
            let count = u32::try_from(points.len()).map_err(io::Error::other)?;
            let mut body = Vec::with_capacity(4 + 32 * points.len());
            body.extend(count.to_be_bytes());
            for p in points {
                body.extend_from_slice(p);
            }
            (3, body)
        }
        Frame::End { count } => (4, count.to_be_bytes().to_vec()),
        Frame::KeepAlive => (5, Vec::new()),
        Frame::Abort(reason) => {
            let mut end = reason.len().min(ABORT_REASON_BYTES_MAX);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            (6, reason.as_bytes()[..end].to_vec())
        }
        Frame::Done => (7, Vec::new()),
        Frame::Seed(seed) => (8, seed.to_vec()),
        Frame::BaseOtSender(point) => (9, point.to_vec()),
        Frame::BaseOtReceiver(points) => {
            // Always exactly CODE_BITS points; anything else is our bug.
            assert_eq!(points.len(), CODE_BITS, "base-OT points");
            (10, points.concat())
        }
        Frame::Table { bins, distinct } => {
            let mut body = bins.to_be_bytes().to_vec();
            body.extend(distinct.to_be_bytes());
            (11, body)
        }
        Frame::Columns { chunk, bytes } => {
            assert_eq!(bytes.len(), COLUMNS_FRAME_BYTES, "column chunk");
            let mut body = Vec::with_capacity(4 + bytes.len());
            body.extend(chunk.to_be_bytes());
            body.extend_from_slice(bytes);
            (12, body)
        }
        Frame::Values(values) => {
            assert!(
                values.len() <= VALUES_BATCH_MAX,
                "batch of {} values",
                values.len()
            );
            let count = u32::try_from(values.len()).map_err(io::Error::other)?;
            let mut body = Vec::with_capacity(4 + VALUE_BYTES * values.len());
            body.extend(count.to_be_bytes());
            for v in values {
                body.extend_from_slice(v);
            }
            (13, body)
        }
    };
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    w.write_all(&[kind])?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&body)
}

/// Read one frame; `phase` names what this party was doing, for errors.
pub(crate) fn read_frame(r: &mut impl Read, phase: &'static str) -> Result<Frame, PsiError> {
    let mut header = [0u8; 5];
    r.read_exact(&mut header).map_err(|e| io_error(e, phase))?;
    let [kind, l0, l1, l2, l3] = header;
    let len = u32::from_be_bytes([l0, l1, l2, l3]);
    let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
    if len_usize > FRAME_BYTES_MAX {
        return Err(PsiError::FrameTooLarge {
            len: u64::from(len),
            max: FRAME_BYTES_MAX,
        });
    }
    let mut body = vec![0u8; len_usize];
    r.read_exact(&mut body).map_err(|e| io_error(e, phase))?;
    decode(kind, body, phase)
}

fn decode(kind: u8, body: Vec<u8>, phase: &'static str) -> Result<Frame, PsiError> {
    let bad = |reason: String| PsiError::Protocol { phase, reason };
    let exact = |want: usize, name: &str| {
        if body.len() == want {
            Ok(())
        } else {
            Err(bad(format!(
                "{name} frame of {} bytes, expected {want}",
                body.len()
            )))
        }
    };
    let u64_body = |body: &[u8]| -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(body);
        u64::from_be_bytes(b)
    };
    match kind {
        1 => {
            if body.len() != 8 && body.len() != 9 {
                return Err(bad(format!(
                    "Hello frame of {} bytes, expected 8 or 9",
                    body.len()
                )));
            }
            if &body[..5] != MAGIC {
                return Err(bad(
                    "the peer does not speak Weinong PSI (bad greeting)".to_owned()
                ));
            }
            let role = match body[6] {
                0 => Role::Sender,
                1 => Role::Receiver,
                other => return Err(bad(format!("unknown role {other}"))),
            };
            let mode = match body[7] {
                0 => Mode::Intersection,
                1 => Mode::CardinalityOnly,
                other => return Err(bad(format!("unknown mode {other}"))),
            };
            let protocol = match body.get(8) {
                None => Protocol::Ecdh,
                Some(1) => Protocol::Kkrt,
                Some(other) => return Err(bad(format!("unknown PSI protocol {other}"))),
            };
            Ok(Frame::Hello {
                version: body[5],
                role,
                mode,
                protocol,
            })
        }
        2 => exact(8, "Begin").map(|()| Frame::Begin {
            count: u64_body(&body),
        }),
        3 => {
            if body.len() < 4 {
                return Err(bad("Points frame without a count".to_owned()));
            }
            let count = usize::try_from(u32::from_be_bytes([body[0], body[1], body[2], body[3]]))
                .unwrap_or(usize::MAX);
            if count > BATCH_POINTS_MAX {
                return Err(bad(format!(
                    "Points frame of {count} points, at most {BATCH_POINTS_MAX} allowed"
                )));
            }
            exact(4 + 32 * count, "Points")?;
            let points = body[4..]
                .chunks_exact(32)
                .map(|c| {
                    let mut p = [0u8; 32];
                    p.copy_from_slice(c);
                    p
                })
                .collect();
            Ok(Frame::Points(points))
        }
        4 => exact(8, "End").map(|()| Frame::End {
            count: u64_body(&body),
        }),
        5 => exact(0, "KeepAlive").map(|()| Frame::KeepAlive),
        6 => {
            if body.len() > ABORT_REASON_BYTES_MAX {
                return Err(bad("Abort reason too long".to_owned()));
            }
            Ok(Frame::Abort(String::from_utf8_lossy(&body).into_owned()))
        }
        7 => exact(0, "Done").map(|()| Frame::Done),
        8 => exact(32, "Seed").map(|()| Frame::Seed(array32(&body))),
        9 => exact(32, "BaseOtSender").map(|()| Frame::BaseOtSender(array32(&body))),
        10 => exact(32 * CODE_BITS, "BaseOtReceiver")
            .map(|()| Frame::BaseOtReceiver(body.chunks_exact(32).map(array32).collect())),
        11 => exact(16, "Table").map(|()| Frame::Table {
            bins: u64_body(&body[..8]),
            distinct: u64_body(&body[8..]),
        }),
        12 => {
            exact(4 + COLUMNS_FRAME_BYTES, "Columns")?;
            Ok(Frame::Columns {
                chunk: u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                bytes: body[4..].to_vec(),
            })
        }
        13 => {
            if body.len() < 4 {
                return Err(bad("Values frame without a count".to_owned()));
            }
            let count = usize::try_from(u32::from_be_bytes([body[0], body[1], body[2], body[3]]))
                .unwrap_or(usize::MAX);
            if count > VALUES_BATCH_MAX {
                return Err(bad(format!(
                    "Values frame of {count} values, at most {VALUES_BATCH_MAX} allowed"
                )));
            }
            exact(4 + VALUE_BYTES * count, "Values")?;
            let values = body[4..]
                .chunks_exact(VALUE_BYTES)
                .map(|c| {
                    let mut v = [0u8; VALUE_BYTES];
                    v.copy_from_slice(c);
                    v
                })
                .collect();
            Ok(Frame::Values(values))
        }
        other => Err(bad(format!("unknown frame kind {other}"))),
    }
}

fn array32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(bytes);
    out
}

fn role_byte(role: Role) -> u8 {
    match role {
        Role::Sender => 0,
        Role::Receiver => 1,
    }
}

fn mode_byte(mode: Mode) -> u8 {
    match mode {
        Mode::Intersection => 0,
        Mode::CardinalityOnly => 1,
    }
}

/// Map an I/O error on the peer connection to what it means for the protocol.
pub(crate) fn io_error(e: io::Error, phase: &'static str) -> PsiError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::NotConnected => PsiError::PeerClosed { phase },
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => PsiError::Timeout {
            phase,
            waited_ms: u64::try_from(IO_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
        },
        _ => PsiError::Network { phase, source: e },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_round_trips() {
        let frames = [
            Frame::Hello {
                version: PROTOCOL_VERSION,
                role: Role::Receiver,
                mode: Mode::CardinalityOnly,
                protocol: Protocol::Ecdh,
            },
            Frame::Hello {
                version: PROTOCOL_VERSION,
                role: Role::Sender,
                mode: Mode::Intersection,
                protocol: Protocol::Kkrt,
            },
            Frame::Begin { count: 7 },
            Frame::Points(vec![[1u8; 32], [2u8; 32]]),
            Frame::End { count: 2 },
            Frame::KeepAlive,
            Frame::Abort("input has no column \"id\"".to_owned()),
            Frame::Done,
            Frame::Seed([9u8; 32]),
            Frame::BaseOtSender([3u8; 32]),
            Frame::BaseOtReceiver(vec![[4u8; 32]; CODE_BITS]),
            Frame::Table {
                bins: 2048,
                distinct: 1000,
            },
            Frame::Columns {
                chunk: 3,
                bytes: vec![0xA5; COLUMNS_FRAME_BYTES],
            },
            Frame::Values(vec![[7u8; VALUE_BYTES]; 3]),
        ];
        let mut buf = Vec::new();
        for f in &frames {
            write_frame(&mut buf, f).expect("write to a Vec");
        }
        let mut r = buf.as_slice();
        for f in &frames {
            assert_eq!(&read_frame(&mut r, "test").expect("decode"), f);
        }
        assert!(matches!(
            read_frame(&mut r, "test"),
            Err(PsiError::PeerClosed { .. })
        ));
    }

    #[test]
    fn oversized_and_inconsistent_frames_are_refused() {
        let mut huge = vec![3u8];
        huge.extend(u32::MAX.to_be_bytes());
        assert!(matches!(
            read_frame(&mut huge.as_slice(), "t"),
            Err(PsiError::FrameTooLarge { .. })
        ));
        // A Points frame whose count disagrees with its length.
        let mut lying = vec![3u8];
        lying.extend(36u32.to_be_bytes());
        lying.extend(2u32.to_be_bytes());
        lying.extend([0u8; 32]);
        assert!(matches!(
            read_frame(&mut lying.as_slice(), "t"),
            Err(PsiError::Protocol { .. })
        ));
        let mut unknown = vec![9u8];
        unknown.extend(0u32.to_be_bytes());
        assert!(matches!(
            read_frame(&mut unknown.as_slice(), "t"),
            Err(PsiError::Protocol { .. })
        ));
    }
}
