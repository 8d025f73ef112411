//! PSI frames on a byte stream. Each frame is `kind: u8 ‖ length: u32 (big-endian) ‖ body`;
//! the length is checked against [`FRAME_BYTES_MAX`] before the body is read, and every
//! body is decoded with its exact expected size.
//!
//! | kind | frame | body |
//! |---|---|---|
//! | 1 | `Hello` | `"WNPSI"` ‖ version `u8` ‖ role `u8` ‖ mode `u8` |
//! | 2 | `Begin` | point count of the stream that follows, `u64` |
//! | 3 | `Points` | count `u32` ‖ count × 32-byte compressed ristretto255 points |
//! | 4 | `End` | point count of the stream just sent, `u64` |
//! | 5 | `KeepAlive` | empty: the peer is computing |
//! | 6 | `Abort` | UTF-8 reason, at most [`ABORT_REASON_BYTES_MAX`] bytes |
//! | 7 | `Done` | empty: the receiver has everything |

use std::io::{self, Read, Write};

use super::error::PsiError;
use super::group::PointBytes;
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

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Hello { version: u8, role: Role, mode: Mode },
    Begin { count: u64 },
    Points(Vec<PointBytes>),
    End { count: u64 },
    KeepAlive,
    Abort(String),
    Done,
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
        } => {
            let mut body = MAGIC.to_vec();
            body.extend([*version, role_byte(*role), mode_byte(*mode)]);
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
            exact(8, "Hello")?;
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
            Ok(Frame::Hello {
                version: body[5],
                role,
                mode,
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
        other => Err(bad(format!("unknown frame kind {other}"))),
    }
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
            },
            Frame::Begin { count: 7 },
            Frame::Points(vec![[1u8; 32], [2u8; 32]]),
            Frame::End { count: 2 },
            Frame::KeepAlive,
            Frame::Abort("input has no column \"id\"".to_owned()),
            Frame::Done,
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
