//! KKRT PSI end to end over loopback TCP: against a plain set intersection at every size the
//! issue names, its transcript, and peers that vanish or misbehave at each phase. Expected
//! results come from how the inputs were built, never from the code under test.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::code::hash_item;
use super::params::{CODE_BITS, COLUMNS_FRAME_BYTES, HASHES};
use super::session::run_keys;
use crate::psi::error::PsiError;
use crate::psi::input::IdentifierList;
use crate::psi::progress::NoProgress;
use crate::psi::session::{ReceiverReport, SenderReport, run_receiver_rows_with, run_sender_with};
use crate::psi::wire::{Frame, Mode, PROTOCOL_VERSION, Protocol, Role, read_frame, write_frame};

fn random_items(rng: &mut ChaCha20Rng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let mut item = vec![0u8; 18];
            rng.fill_bytes(&mut item);
            item
        })
        .collect()
}

type Outcome = (
    Result<(ReceiverReport, Vec<u32>), PsiError>,
    Result<SenderReport, PsiError>,
);

/// Both roles of `protocol` over loopback TCP, the sender on its own thread.
fn run_pair(
    receiver_items: Vec<Vec<u8>>,
    sender_items: Vec<Vec<u8>>,
    receiver_protocol: Protocol,
    sender_protocol: Protocol,
) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let addr = listener.local_addr().expect("addr");
    let sender_list = IdentifierList::new(sender_items).expect("sender list");
    let sender = thread::spawn(move || {
        let stream = TcpStream::connect(addr).expect("connect");
        run_sender_with(
            stream,
            sender_list,
            sender_protocol,
            Mode::Intersection,
            &NoProgress,
        )
    });
    let (stream, _) = listener.accept().expect("accept");
    let mut receiver_list = IdentifierList::new(receiver_items).expect("receiver list");
    let receiver = run_receiver_rows_with(
        stream,
        &mut receiver_list,
        receiver_protocol,
        Mode::Intersection,
        &NoProgress,
    );
    (receiver, sender.join().expect("sender thread"))
}

/// The rows of `receiver` whose items `sender` holds, ascending.
fn plain_intersection(receiver: &[Vec<u8>], sender: &[Vec<u8>]) -> Vec<u32> {
    let held: HashSet<&Vec<u8>> = sender.iter().collect();
    let mut first_rows = Vec::new();
    let mut seen = HashSet::new();
    for (row, item) in receiver.iter().enumerate() {
        // Duplicates: the first row of each distinct item stands for it.
        if held.contains(item) && seen.insert(item) {
            first_rows.push(u32::try_from(row).expect("small"));
        }
    }
    first_rows
}

/// Receiver and sender sets with `overlap` shared items, duplicates in both, in random
/// order.
fn sets(
    seed: u64,
    n_receiver: usize,
    n_sender: usize,
    overlap: usize,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut receiver = random_items(&mut rng, n_receiver);
    let mut sender = random_items(&mut rng, n_sender);
    for k in 0..overlap {
        sender[k] = receiver[(k * 7) % n_receiver].clone();
    }
    // About 3 % duplicates on each side.
    for k in 0..n_receiver / 32 {
        let copy = receiver[k * 5 % n_receiver].clone();
        receiver.push(copy);
    }
    for k in 0..n_sender / 32 {
        let copy = sender[k * 3 % n_sender].clone();
        sender.push(copy);
    }
    for list in [&mut receiver, &mut sender] {
        for i in (1..list.len()).rev() {
            let j = usize::try_from(rng.next_u64() % (i as u64 + 1)).expect("fits");
            list.swap(i, j);
        }
    }
    (receiver, sender)
}

#[test]
fn equals_the_plain_intersection_at_every_size_and_overlap() {
    let mut cases = Vec::new();
    for n in [1usize, 2, 1000] {
        for percent in [0usize, 1, 50, 100] {
            cases.push((n, n, n * percent / 100));
        }
    }
    // Unequal sizes, both ways round.
    cases.extend([(10, 3000, 5), (3000, 10, 10), (1, 5000, 1), (4000, 1, 0)]);
    for (seed, (n_r, n_s, overlap)) in cases.into_iter().enumerate() {
        let (receiver, sender) = sets(seed as u64, n_r, n_s, overlap);
        let want = plain_intersection(&receiver, &sender);
        let (got, sender_report) = run_pair(
            receiver.clone(),
            sender.clone(),
            Protocol::Kkrt,
            Protocol::Kkrt,
        );
        let (report, rows) = got.expect("receiver");
        let sender_report = sender_report.expect("sender");
        assert_eq!(rows, want, "{n_r} × {n_s}, {overlap} shared");
        assert_eq!(report.intersection, want.len() as u64);
        let distinct = |l: &[Vec<u8>]| l.iter().collect::<HashSet<_>>().len() as u64;
        assert_eq!(report.own.distinct, distinct(&receiver));
        assert_eq!(report.peer_distinct, distinct(&sender));
        assert_eq!(sender_report.peer_distinct, distinct(&receiver));
        assert!(report.traffic.sent > 0 && report.traffic.received > 0);
        assert_eq!(report.traffic.sent, sender_report.traffic.received);
    }
}

#[test]
fn equals_the_plain_intersection_at_2_pow_20() {
    let n = 1 << 20;
    let (receiver, sender) = sets(99, n, n, n / 2);
    let want = plain_intersection(&receiver, &sender);
    let (got, sender_report) = run_pair(receiver, sender, Protocol::Kkrt, Protocol::Kkrt);
    let (report, rows) = got.expect("receiver");
    sender_report.expect("sender");
    assert_eq!(rows.len(), want.len());
    assert_eq!(rows, want);
    assert_eq!(report.intersection, u64::try_from(n / 2).expect("fits"));
}

#[test]
fn empty_sets_give_an_empty_intersection() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let some = random_items(&mut rng, 50);
    for (r, s) in [
        (Vec::new(), some.clone()),
        (some, Vec::new()),
        (Vec::new(), Vec::new()),
    ] {
        let (got, sender) = run_pair(r, s, Protocol::Kkrt, Protocol::Kkrt);
        let (report, rows) = got.expect("receiver");
        sender.expect("sender");
        assert!(rows.is_empty());
        assert_eq!(report.intersection, 0);
    }
}

#[test]
fn protocols_and_modes_must_agree() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let items = random_items(&mut rng, 20);
    let (receiver, sender) = run_pair(items.clone(), items.clone(), Protocol::Kkrt, Protocol::Ecdh);
    for err in [receiver.expect_err("refused"), sender.expect_err("refused")] {
        let text = err.to_string();
        assert!(
            text.contains("protocol") || matches!(err, PsiError::PeerAborted { .. }),
            "{text}"
        );
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let list = IdentifierList::new(items).expect("list");
    let err = run_sender_with(
        TcpStream::connect(listener.local_addr().expect("addr")).expect("connect"),
        list,
        Protocol::Kkrt,
        Mode::CardinalityOnly,
        &NoProgress,
    )
    .expect_err("KKRT has no cardinality mode");
    assert!(matches!(err, PsiError::ModeNotSupported { .. }), "{err}");
    assert!(err.to_string().contains("--protocol ecdh"), "{err}");
}

/// A relay between receiver and sender that records both directions and, when `cut` is
/// given, closes both connections once that many bytes have passed from `cut.0`
/// (true: receiver → sender).
struct Relay {
    addr: std::net::SocketAddr,
    to_sender: Arc<Mutex<Vec<u8>>>,
    to_receiver: Arc<Mutex<Vec<u8>>>,
    handle: thread::JoinHandle<()>,
}

fn relay(sender_addr: std::net::SocketAddr, cut: Option<(bool, usize)>) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").expect("relay");
    let addr = listener.local_addr().expect("addr");
    let to_sender = Arc::new(Mutex::new(Vec::new()));
    let to_receiver = Arc::new(Mutex::new(Vec::new()));
    let (ts, tr) = (Arc::clone(&to_sender), Arc::clone(&to_receiver));
    let handle = thread::spawn(move || {
        let (from_receiver, _) = listener.accept().expect("accept");
        let to_sender_stream = TcpStream::connect(sender_addr).expect("connect");
        let pump = |mut from: TcpStream,
                    mut to: TcpStream,
                    log: Arc<Mutex<Vec<u8>>>,
                    limit: Option<usize>,
                    other: TcpStream| {
            thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut log = log.lock().expect("log");
                    let take = limit.map_or(n, |l| n.min(l.saturating_sub(log.len())));
                    log.extend_from_slice(&buf[..take]);
                    if to.write_all(&buf[..take]).is_err() || take < n {
                        // The cut: both connections die at once, mid-frame.
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = other.shutdown(Shutdown::Both);
                        return;
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            })
        };
        let limit =
            |towards_sender: bool| cut.and_then(|(dir, n)| (dir == towards_sender).then_some(n));
        let a = pump(
            from_receiver.try_clone().expect("clone"),
            to_sender_stream.try_clone().expect("clone"),
            ts,
            limit(true),
            to_sender_stream.try_clone().expect("clone"),
        );
        let b = pump(
            to_sender_stream.try_clone().expect("clone"),
            from_receiver.try_clone().expect("clone"),
            tr,
            limit(false),
            from_receiver.try_clone().expect("clone"),
        );
        let _ = a.join();
        let _ = b.join();
    });
    Relay {
        addr,
        to_sender,
        to_receiver,
        handle,
    }
}

/// Runs a KKRT pair through a relay.
fn run_relayed(
    receiver_items: Vec<Vec<u8>>,
    sender_items: Vec<Vec<u8>>,
    cut: Option<(bool, usize)>,
) -> (Outcome, Vec<u8>, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let relay = relay(listener.local_addr().expect("addr"), cut);
    let sender_list = IdentifierList::new(sender_items).expect("list");
    let sender = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        run_sender_with(
            stream,
            sender_list,
            Protocol::Kkrt,
            Mode::Intersection,
            &NoProgress,
        )
    });
    let mut receiver_list = IdentifierList::new(receiver_items).expect("list");
    let receiver = run_receiver_rows_with(
        TcpStream::connect(relay.addr).expect("connect"),
        &mut receiver_list,
        Protocol::Kkrt,
        Mode::Intersection,
        &NoProgress,
    );
    let sender = sender.join().expect("sender thread");
    relay.handle.join().expect("relay");
    let to_sender = relay.to_sender.lock().expect("log").clone();
    let to_receiver = relay.to_receiver.lock().expect("log").clone();
    ((receiver, sender), to_sender, to_receiver)
}

fn frames(mut bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        out.push(read_frame(&mut bytes, "transcript").expect("a well-formed transcript"));
    }
    out
}

/// The whole wire in both directions: no identifier in any form, no item hash, and no
/// OPRF value from the receiver; only the frames the protocol names, in their numbers.
#[test]
fn the_transcript_holds_no_identifier_item_hash_or_receiver_value() {
    let (receiver_items, sender_items) = sets(31, 3000, 2000, 1000);
    let ((receiver, sender), to_sender, to_receiver) =
        run_relayed(receiver_items.clone(), sender_items.clone(), None);
    let (report, _) = receiver.expect("receiver");
    sender.expect("sender");
    assert_eq!(report.intersection, 1000);

    let up = frames(&to_sender);
    let down = frames(&to_receiver);
    let seed_of = |fs: &[Frame]| {
        fs.iter()
            .find_map(|f| match f {
                Frame::Seed(s) => Some(*s),
                _ => None,
            })
            .expect("a seed")
    };
    let keys = run_keys(&seed_of(&up), &seed_of(&down));
    // Every 16-byte window of each direction: an identifier (its first 16 bytes) or an
    // item hash anywhere on the wire would be among them.
    let windows = |wire: &[u8]| -> HashSet<[u8; 16]> {
        wire.windows(16)
            .map(|w| {
                let mut a = [0u8; 16];
                a.copy_from_slice(w);
                a
            })
            .collect()
    };
    let (up_windows, down_windows) = (windows(&to_sender), windows(&to_receiver));
    for item in receiver_items.iter().chain(&sender_items) {
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&item[..16]);
        let key = hash_item(&keys.item_salt, item).key;
        for seen in [&up_windows, &down_windows] {
            assert!(!seen.contains(&prefix), "an identifier crossed the wire");
            assert!(!seen.contains(&key), "an item hash crossed the wire");
        }
    }
    // Receiver → sender: greeting, seed, A, table, columns; never a value.
    for f in &up {
        assert!(
            matches!(
                f,
                Frame::Hello { .. }
                    | Frame::Seed(_)
                    | Frame::BaseOtSender(_)
                    | Frame::Table { .. }
                    | Frame::Begin { .. }
                    | Frame::Columns { .. }
                    | Frame::End { .. }
                    | Frame::KeepAlive
                    | Frame::Done
            ),
            "the receiver sent a {} frame",
            f.name()
        );
    }
    // Sender → receiver: exactly three values per distinct sender element.
    let values: usize = down
        .iter()
        .map(|f| match f {
            Frame::Values(v) => v.len(),
            _ => 0,
        })
        .sum();
    let distinct_sender = sender_items.iter().collect::<HashSet<_>>().len();
    assert_eq!(values, HASHES * distinct_sender);
}

/// Cut the connection at points inside every phase, in either direction: both parties end
/// with a typed error, promptly, and nothing panics.
#[test]
fn a_peer_vanishing_at_any_phase_is_an_error_on_both_sides() {
    let (receiver_items, sender_items) = sets(41, 2500, 2500, 100);
    // Receiver → sender: inside the greeting, the seed, A, the table, the first and a
    // later column chunk. Sender → receiver: the greeting, the base-OT answer, the values.
    let cuts = [
        (true, 3),
        (true, 20),
        (true, 60),
        (true, 90),
        (true, 5000),
        (true, 2 * COLUMNS_FRAME_BYTES + 100),
        (false, 10),
        (false, 60),
        (false, 2000),
        (false, 32 * CODE_BITS + 5000),
    ];
    for (towards_sender, at) in cuts {
        let started = Instant::now();
        let ((receiver, sender), _, _) = run_relayed(
            receiver_items.clone(),
            sender_items.clone(),
            Some((towards_sender, at)),
        );
        let r = receiver.expect_err("receiver must fail");
        let s = sender.expect_err("sender must fail");
        for e in [&r, &s] {
            assert!(
                matches!(
                    e,
                    PsiError::PeerClosed { .. }
                        | PsiError::Network { .. }
                        | PsiError::PeerAborted { .. }
                        | PsiError::Protocol { .. }
                ),
                "cut {towards_sender}/{at}: {e}"
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "cut {at}: too slow"
        );
    }
}

/// A fake peer that speaks the greeting correctly and then misbehaves.
fn fake_receiver_then(bad: Vec<Frame>, raw_tail: Vec<u8>) -> PsiError {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let list = IdentifierList::new(random_items(&mut rng, 30)).expect("list");
    let sender = thread::spawn(move || {
        run_sender_with(
            TcpStream::connect(addr).expect("connect"),
            list,
            Protocol::Kkrt,
            Mode::Intersection,
            &NoProgress,
        )
    });
    let (mut stream, _) = listener.accept().expect("accept");
    let mut out = Vec::new();
    let hello = Frame::Hello {
        version: PROTOCOL_VERSION,
        role: Role::Receiver,
        mode: Mode::Intersection,
        protocol: Protocol::Kkrt,
    };
    for f in [hello].iter().chain(&bad) {
        write_frame(&mut out, f).expect("encode");
    }
    out.extend(raw_tail);
    stream.write_all(&out).expect("write");
    let _ = stream.shutdown(Shutdown::Write);
    // Drain what the sender says until it closes.
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink);
    sender
        .join()
        .expect("sender thread")
        .expect_err("the sender must refuse")
}

#[test]
fn truncated_oversized_and_mismatched_frames_are_refused() {
    let base_ot_a = curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.to_bytes();
    let start = vec![Frame::Seed([1; 32]), Frame::BaseOtSender(base_ot_a)];
    // Oversized: a header announcing 4 GiB.
    let mut oversized = vec![12u8];
    oversized.extend(u32::MAX.to_be_bytes());
    let e = fake_receiver_then(start.clone(), oversized);
    assert!(matches!(e, PsiError::FrameTooLarge { .. }), "{e}");
    // Truncated: a Table frame cut after its header.
    let e = fake_receiver_then(start.clone(), vec![11, 0, 0, 0, 16, 0, 0]);
    assert!(matches!(e, PsiError::PeerClosed { .. }), "{e}");
    // Mismatched parameters: a table far too small for the announced set.
    let mut bad_table = start.clone();
    bad_table.push(Frame::Table {
        bins: 100,
        distinct: 1_000_000,
    });
    let e = fake_receiver_then(bad_table, Vec::new());
    assert!(e.to_string().contains("bins"), "{e}");
    // A Columns frame of the wrong length.
    let mut short_columns = start.clone();
    short_columns.push(Frame::Table {
        bins: 2048,
        distinct: 10,
    });
    short_columns.push(Frame::Begin { count: 1 });
    let mut raw = vec![12u8];
    raw.extend(100u32.to_be_bytes());
    raw.extend([0u8; 100]);
    let e = fake_receiver_then(short_columns, raw);
    assert!(matches!(e, PsiError::Protocol { .. }), "{e}");
    // The base-OT point is not a point.
    let e = fake_receiver_then(
        vec![Frame::Seed([1; 32]), Frame::BaseOtSender([0xFF; 32])],
        Vec::new(),
    );
    assert!(matches!(e, PsiError::InvalidPoint { .. }), "{e}");
}
