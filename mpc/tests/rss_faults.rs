//! Bad input and misbehaving peers: every party ends with a typed error, none hangs and
//! none panics. Covers a length mismatch between parties, a peer that closes mid-session,
//! malformed, replayed and forged frames (in-process and TCP), and a silent peer.

use std::sync::mpsc;
use std::time::Duration;

use weinong_mpc::transport::local::{LocalFrame, LocalTransport};
use weinong_mpc::transport::tcp::TcpTransport;
use weinong_mpc::{
    MpcError, Party, PartyId, PartySecrets, Peer, RevealTo, RunOptions, SessionId, Transport,
    TransportKind, run_three_each, run_three_with,
};

const SHORT: Duration = Duration::from_millis(400);

fn options(transport: TransportKind) -> RunOptions {
    RunOptions {
        transport,
        recv_timeout: Duration::from_secs(5),
    }
}

fn assert_all_failed<T: std::fmt::Debug>(results: &[Result<T, MpcError>; 3]) {
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_err(), "P{i} should have failed but returned {r:?}");
    }
}

/// P1 believes the batch has one more element than P0 and P2 do.
#[test]
fn length_mismatch_between_parties_fails_every_party() {
    for transport in [TransportKind::InProcess, TransportKind::LoopbackTcp] {
        let results = run_three_with(&options(transport), |p| {
            let n = if p.id() == PartyId::P1 { 11 } else { 10 };
            let values = vec![3u64; n];
            let x = p.input(
                PartyId::P0,
                (p.id() == PartyId::P0).then_some(&values[..]),
                n,
            )?;
            let y = p.mul(&x, &x)?;
            p.reveal(&y, RevealTo::All)
        })
        .expect("setup");
        assert_all_failed(&results);
        assert!(
            matches!(
                results[1],
                Err(MpcError::FrameLength {
                    peer: PartyId::P0,
                    expected: 11,
                    found: 10
                })
            ),
            "{:?}",
            results[1]
        );
    }
}

#[test]
fn local_operand_length_mismatch_is_a_typed_error() {
    let results = run_three_each(|p| {
        let x = p.public(&[1, 2, 3]);
        let y = p.public(&[1, 2]);
        let sum = x.add(&y);
        let product = p.mul(&x, &y);
        let cmp = p.lt(&x, &y);
        let c = p.lt_const(&x, 2)?;
        let pick = p.select(&c, &x, &y);
        Ok((sum.is_err(), product.is_err(), cmp.is_err(), pick.is_err()))
    })
    .expect("setup");
    for r in results {
        assert_eq!(
            r.expect("local checks need no peer"),
            (true, true, true, true)
        );
    }
    // The owner must pass its values, the others must not.
    let results = run_three_each(|p| p.input(PartyId::P2, None, 4)).expect("setup");
    assert!(matches!(results[2], Err(MpcError::InputOwnership { .. })));
}

/// P2 leaves right after the inputs; the others are in a multiplication round.
#[test]
fn peer_closing_mid_session_fails_the_others() {
    for transport in [TransportKind::InProcess, TransportKind::LoopbackTcp] {
        let results = run_three_with(&options(transport), |p| {
            let values = vec![5u64; 1000];
            let x = p.input(
                PartyId::P0,
                (p.id() == PartyId::P0).then_some(&values[..]),
                1000,
            )?;
            if p.id() == PartyId::P2 {
                return Err(MpcError::Setup {
                    reason: "P2 stops on purpose".into(),
                });
            }
            let y = p.mul(&x, &x)?;
            let c = p.lt_const(&y, 7)?;
            p.reveal_bits(&c, RevealTo::All)
        })
        .expect("setup");
        assert_all_failed(&results);
        for r in &results[..2] {
            assert!(matches!(r, Err(MpcError::PeerClosed { .. })), "{r:?}");
        }
    }
}

fn honest(party: Party, n: usize) -> Result<Vec<u64>, MpcError> {
    let mut party = party;
    let x = party.public(&vec![9u64; n]);
    let y = party.mul(&x, &x)?;
    Ok(party.reveal(&y, RevealTo::All)?.unwrap_or_default())
}

/// P0 sends P2 a frame a correct party never sends; P1 and P2 run honestly.
fn local_fault(bad: LocalFrame) -> [Result<Vec<u64>, MpcError>; 2] {
    let session = SessionId::random().expect("random");
    let secrets = PartySecrets::deal().expect("random");
    let [mut t0, t1, t2] = LocalTransport::triple(Duration::from_secs(5));
    std::thread::scope(|s| {
        let h1 = s.spawn(|| honest(Party::new(&session, &secrets[1], Box::new(t1)), 8));
        let h2 = s.spawn(|| honest(Party::new(&session, &secrets[2], Box::new(t2)), 8));
        t0.send_raw(Peer::Prev, bad).expect("queued");
        // P0 keeps its ends open until the others finish, so their errors come from the
        // bad frame and not from P0 going away.
        let out = [h1.join().expect("no panic"), h2.join().expect("no panic")];
        drop(t0);
        out
    })
}

/// Whether an error is the one a fault case expects.
type IsExpected = fn(&MpcError) -> bool;

#[test]
fn malformed_local_frames_give_typed_errors() {
    // (what is wrong, the frame P0 sends, the error P2 must report); P1 must fail too.
    let cases: [(&str, LocalFrame, IsExpected); 2] = [
        (
            "too short: P2 expects 8 words from P0",
            LocalFrame {
                seq: 0,
                words: vec![1; 7],
            },
            |e| {
                matches!(
                    e,
                    MpcError::FrameLength {
                        peer: PartyId::P0,
                        expected: 8,
                        found: 7
                    }
                )
            },
        ),
        (
            "a replayed or skipped sequence number",
            LocalFrame {
                seq: 5,
                words: vec![1; 8],
            },
            |e| {
                matches!(
                    e,
                    MpcError::OutOfOrder {
                        expected: 0,
                        found: 5,
                        ..
                    }
                )
            },
        ),
    ];
    for (what, frame, expected) in cases {
        let r = local_fault(frame);
        assert!(r[1].as_ref().is_err_and(expected), "{what}: {:?}", r[1]);
        assert!(r[0].is_err(), "{what}: {:?}", r[0]);
    }
}

/// The same over TCP, where P0 writes raw bytes onto its authenticated link to P2.
fn tcp_fault(bad: Vec<u8>) -> [Result<Vec<u64>, MpcError>; 2] {
    let session = SessionId::random().expect("random");
    let secrets = PartySecrets::deal().expect("random");
    let [mut t0, t1, t2] =
        TcpTransport::loopback_triple(&session, &secrets, Duration::from_secs(5))
            .expect("loopback");
    std::thread::scope(|s| {
        let h1 = s.spawn(|| honest(Party::new(&session, &secrets[1], Box::new(t1)), 8));
        let h2 = s.spawn(|| honest(Party::new(&session, &secrets[2], Box::new(t2)), 8));
        t0.send_raw_bytes(Peer::Prev, bad).expect("queued");
        drop(t0);
        [h1.join().expect("no panic"), h2.join().expect("no panic")]
    })
}

fn frame(seq: u64, words: u64, body: &[u8], tag: [u8; 32]) -> Vec<u8> {
    let mut f = b"WNMP\x01\0\0\0".to_vec();
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(&words.to_le_bytes());
    f.extend_from_slice(body);
    f.extend_from_slice(&tag);
    f
}

#[test]
fn malformed_tcp_frames_give_typed_errors() {
    let r = tcp_fault(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
    assert!(
        matches!(
            r[1],
            Err(MpcError::Malformed {
                peer: PartyId::P0,
                ..
            })
        ),
        "{:?}",
        r[1]
    );
    assert!(r[0].is_err());
    // Well-formed header, forged tag.
    let r = tcp_fault(frame(0, 8, &[0u8; 64], [0u8; 32]));
    assert!(
        matches!(r[1], Err(MpcError::BadTag { peer: PartyId::P0 })),
        "{:?}",
        r[1]
    );
    assert!(r[0].is_err());
    // An absurd length is refused before any body is read.
    let r = tcp_fault(frame(0, u64::MAX / 8, &[], [0u8; 32]));
    assert!(
        matches!(r[1], Err(MpcError::Malformed { .. })),
        "{:?}",
        r[1]
    );
    // Truncated mid-frame, then the connection closes.
    let r = tcp_fault(frame(0, 8, &[0u8; 64], [0u8; 32])[..30].to_vec());
    assert!(
        matches!(r[1], Err(MpcError::PeerClosed { .. })),
        "{:?}",
        r[1]
    );
}

#[test]
fn tcp_session_with_wrong_pair_secret_is_refused() {
    let session = SessionId::random().expect("random");
    let mut secrets = PartySecrets::deal().expect("random");
    // P1 holds a different secret for its link with P0 than P0 does.
    secrets[1].with_prev = weinong_mpc::PairSecret::random().expect("random");
    let err = TcpTransport::loopback_triple(&session, &secrets, SHORT).err();
    assert!(
        matches!(err, Some(MpcError::BadTag { peer: PartyId::P0 })),
        "{err:?}"
    );
}

/// P2 keeps its transport open but never answers: the others time out instead of hanging.
#[test]
fn silent_peer_times_out() {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let done_rx = std::sync::Mutex::new(done_rx);
    let options = RunOptions {
        transport: TransportKind::InProcess,
        recv_timeout: SHORT,
    };
    let results = run_three_with(&options, |p| {
        if p.id() == PartyId::P2 {
            // Hold the transport open until both others have given up (bounded wait).
            let rx = done_rx.lock().expect("not poisoned");
            for _ in 0..2 {
                rx.recv_timeout(Duration::from_secs(20)).ok();
            }
            return Ok(Vec::new());
        }
        let x = p.public(&[1, 2, 3]);
        let out = p.mul(&x, &x).and_then(|y| p.reveal(&y, RevealTo::All));
        done_tx.send(()).ok();
        out.map(|v| v.unwrap_or_default())
    })
    .expect("setup");
    for r in &results[..2] {
        assert!(
            matches!(
                r,
                Err(MpcError::Timeout { .. }) | Err(MpcError::PeerClosed { .. })
            ),
            "{r:?}"
        );
    }
    assert!(
        matches!(
            results[1],
            Err(MpcError::Timeout {
                peer: PartyId::P2,
                ..
            })
        ),
        "{:?}",
        results[1]
    );
}

#[test]
fn transports_report_their_party() {
    let [a, b, c] = LocalTransport::triple(SHORT);
    assert_eq!([a.party(), b.party(), c.party()], PartyId::ALL);
}

/// Parties that disagree on the comparison chunk length fail with a typed error.
#[test]
fn chunk_length_mismatch_is_a_typed_error() {
    let results = run_three_each(|p| {
        p.set_chunk_len(if p.id() == PartyId::P2 { 128 } else { 64 })?;
        let x = p.public(&vec![5u64; 300]);
        let bits = p.lt_const(&x, 9)?;
        p.reveal_bits(&bits, RevealTo::All)
    })
    .expect("setup");
    assert_all_failed(&results);
    let bad = run_three_each(|p| p.set_chunk_len(100)).expect("setup");
    assert!(bad.iter().all(|r| r.is_err()));
}
