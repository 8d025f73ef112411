//! ECDH-PSI and KKRT-PSI against a plain set intersection, and their handling of bad input
//! and peers (KKRT's own wire faults and transcript: `weinong_mpc::psi::kkrt`'s tests).
//!
//! Every expected result is computed here from how the inputs were built (which cells are
//! valid, which are duplicates), never from the code under test.

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use weinong_mpc::psi::{self, IdentifierReader, Mode, NoProgress, Protocol, PsiError};

/// The `i`-th resident ID of a synthetic series: distinct for distinct `i`, always valid.
fn resident_id(i: u64) -> String {
    let (seq, day) = (i % 1000, i / 1000);
    let (year, month, dom) = (1920 + day / 336 % 80, day % 336 / 28 + 1, day % 28 + 1);
    let first17 = format!(
        "{:06}{year:04}{month:02}{dom:02}{seq:03}",
        310_101 + i / (1000 * 336 * 80)
    );
    let mut id = [0u8; 18];
    id[..17].copy_from_slice(first17.as_bytes());
    id[17] = weinong_keys::check_char(&id);
    String::from_utf8(id.to_vec()).expect("ASCII")
}

/// The same ID with a wrong check character.
fn corrupt(id: &str) -> String {
    let mut bytes = id.as_bytes().to_vec();
    bytes[17] = if bytes[17] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).expect("ASCII")
}

/// A party's file as built: its cells, and the normalised IDs that are valid.
struct Built {
    cells: Vec<String>,
    valid: Vec<String>,
    invalid: u64,
}

/// `ids` as cells, with about 10 % duplicates (some re-spelled: lower-case x, spaces),
/// about 5 % invalid cells, shuffled.
fn build(ids: &[String], rng: &mut impl Rng) -> Built {
    let mut cells: Vec<String> = ids.to_vec();
    for id in ids {
        if !rng.random_bool(0.1) {
            continue;
        }
        let respelled = if rng.random_bool(0.5) {
            format!("  {}  ", id.to_lowercase())
        } else {
            id.clone()
        };
        cells.push(respelled);
    }
    let mut invalid = 0;
    for id in ids {
        if !rng.random_bool(0.05) {
            continue;
        }
        cells.push(match invalid % 3 {
            0 => corrupt(id),
            1 => id[..17].to_owned(),
            _ => "not-an-id".to_owned(),
        });
        invalid += 1;
    }
    // Fisher-Yates with the seeded generator, so row order is arbitrary but reproducible.
    for i in (1..cells.len()).rev() {
        cells.swap(i, rng.random_range(0..=i));
    }
    Built {
        cells,
        valid: ids.to_vec(),
        invalid,
    }
}

fn write_csv(dir: &Path, name: &str, column: &str, cells: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    writeln!(f, "name,{column},district").expect("write");
    for (i, cell) in cells.iter().enumerate() {
        writeln!(f, "person {i},\"{cell}\",Xuhui").expect("write");
    }
    path
}

fn run_local(
    a: &Path,
    b: &Path,
    mode: Mode,
) -> Result<(Vec<String>, psi::ReceiverReport, psi::SenderReport), PsiError> {
    run_local_with(a, b, Protocol::default_for(mode), mode)
}

fn run_local_with(
    a: &Path,
    b: &Path,
    protocol: Protocol,
    mode: Mode,
) -> Result<(Vec<String>, psi::ReceiverReport, psi::SenderReport), PsiError> {
    let ra = IdentifierReader::open(a, "id")?;
    let rb = IdentifierReader::open(b, "id")?;
    let mut out = Vec::new();
    let (receiver, sender) = psi::run_local_with(ra, rb, protocol, mode, &mut out, &NoProgress)?;
    let text = String::from_utf8(out).expect("UTF-8 output");
    Ok((text.lines().map(str::to_owned).collect(), receiver, sender))
}

/// A receiver's input of the first `n` IDs of the series, and a loopback listener for its
/// peer.
fn receiver_setup(dir: &Path, n: u64) -> (PathBuf, TcpListener) {
    let ids: Vec<String> = (0..n).map(resident_id).collect();
    let a = write_csv(dir, "a.csv", "id", &ids);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    (a, listener)
}

/// Runs `party` on another thread as the peer that connects to `listener`, over the `id`
/// column of `input`.
fn spawn_peer<T: Send + 'static>(
    listener: &TcpListener,
    input: &Path,
    party: impl FnOnce(TcpStream, IdentifierReader) -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let addr = listener.local_addr().expect("addr").to_string();
    let input = input.to_path_buf();
    std::thread::spawn(move || {
        let reader = IdentifierReader::open(&input, "id").expect("open");
        party(psi::connect(&addr).expect("connect"), reader)
    })
}

/// Accepts one local peer on `listener` and runs the receiver side over the `id` column of
/// `input`, in intersection mode: the half of a networked run the tests drive themselves.
fn receive_from_peer(
    listener: &TcpListener,
    input: &Path,
) -> Result<psi::ReceiverReport, PsiError> {
    let stream = psi::accept_from(
        listener,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Duration::from_secs(10),
    )
    .expect("accept");
    let input = IdentifierReader::open(input, "id").expect("open");
    receive(stream, input)
}

/// The receiver side over `stream`, in intersection mode, its output discarded.
fn receive(stream: TcpStream, input: IdentifierReader) -> Result<psi::ReceiverReport, PsiError> {
    psi::run_receiver(
        stream,
        input,
        Mode::Intersection,
        &mut Vec::new(),
        &NoProgress,
    )
}

#[test]
fn equals_plain_intersection_at_0_1_50_100_percent_overlap() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5053_4920);
    let n = 700u64;
    for percent in [0u64, 1, 50, 100] {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = n * percent / 100;
        // Random disjoint index ranges, then `shared` of B's replaced by A's.
        let base_a = rng.random_range(0..1_000_000u64);
        let ids_a: Vec<String> = (base_a..base_a + n).map(resident_id).collect();
        let ids_b: Vec<String> = (0..n)
            .map(|k| {
                if k < shared {
                    resident_id(base_a + k * 3 % n)
                } else {
                    resident_id(5_000_000 + base_a + k)
                }
            })
            .collect();
        let a = build(&ids_a, &mut rng);
        let b = build(&ids_b, &mut rng);
        let path_a = write_csv(dir.path(), "a.csv", "id", &a.cells);
        let path_b = write_csv(dir.path(), "b.csv", "id", &b.cells);

        for protocol in [Protocol::Ecdh, Protocol::Kkrt] {
            let (lines, receiver, sender) =
                run_local_with(&path_a, &path_b, protocol, Mode::Intersection).expect("PSI runs");
            let set_a: HashSet<&String> = a.valid.iter().collect();
            let expected: BTreeSet<&String> =
                b.valid.iter().filter(|id| set_a.contains(id)).collect();
            assert_eq!(lines[0], "id", "header names the column");
            let got: BTreeSet<&String> = lines[1..].iter().collect();
            assert_eq!(
                got.len(),
                lines.len() - 1,
                "each identifier once, at {percent} %"
            );
            assert_eq!(
                got, expected,
                "{protocol:?} intersection at {percent} % overlap"
            );
            assert_eq!(
                receiver.intersection,
                u64::try_from(expected.len()).expect("fits")
            );
            // Distinct sets were exchanged, invalid rows counted and skipped.
            let rows_a = u64::try_from(a.cells.len()).expect("fits");
            assert_eq!(
                (receiver.own.rows, receiver.own.invalid),
                (rows_a, a.invalid)
            );
            assert_eq!(receiver.own.valid, rows_a - a.invalid);
            assert_eq!(receiver.own.distinct, n);
            assert_eq!(
                (
                    sender.own.distinct,
                    receiver.peer_distinct,
                    sender.peer_distinct
                ),
                (n, n, n)
            );
            assert_eq!(sender.own.invalid, b.invalid);
            assert_eq!(
                receiver.own.invalid_rows.len(),
                usize::try_from(a.invalid.min(20)).expect("fits")
            );
        }
        let set_a: HashSet<&String> = a.valid.iter().collect();
        let expected: BTreeSet<&String> = b.valid.iter().filter(|id| set_a.contains(id)).collect();

        let (lines, receiver, _) =
            run_local(&path_a, &path_b, Mode::CardinalityOnly).expect("PSI-CA runs");
        assert_eq!(
            lines,
            vec!["intersection_size".to_owned(), expected.len().to_string()]
        );
        assert_eq!(
            receiver.intersection,
            u64::try_from(expected.len()).expect("fits")
        );
    }
}

#[test]
fn intersection_follows_receiver_input_order_and_normalises() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids: Vec<String> = (0..40).map(|i| resident_id(i * 13)).collect();
    // The receiver spells some IDs with a lower-case x or spaces; output is normalised.
    let cells_a: Vec<String> = ids
        .iter()
        .rev()
        .map(|id| format!(" {} ", id.to_lowercase()))
        .collect();
    let cells_b: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let a = write_csv(dir.path(), "a.csv", "id", &cells_a);
    let b = write_csv(dir.path(), "b.csv", "id", &cells_b);
    let expected: Vec<String> = ids
        .iter()
        .rev()
        .filter(|id| cells_b.contains(id))
        .cloned()
        .collect();
    for protocol in [Protocol::Ecdh, Protocol::Kkrt] {
        let (lines, _, _) = run_local_with(&a, &b, protocol, Mode::Intersection).expect("PSI runs");
        assert_eq!(lines[1..], expected[..], "{protocol:?}");
    }
}

#[test]
fn bad_inputs_are_named_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write_csv(
        dir.path(),
        "good.csv",
        "id",
        &[resident_id(1), resident_id(2)],
    );

    let err = IdentifierReader::open(&good, "sfzh")
        .err()
        .expect("no such column");
    assert!(
        matches!(&err, PsiError::MissingColumn { column, found, .. } if column == "sfzh" && found.contains(&"id".to_owned()))
    );
    assert!(err.to_string().contains("no column \"sfzh\""), "{err}");

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(
        IdentifierReader::open(&empty, "id"),
        Err(PsiError::EmptyInput { .. })
    ));

    let missing = dir.path().join("absent.csv");
    assert!(matches!(
        IdentifierReader::open(&missing, "id"),
        Err(PsiError::InputRead { .. })
    ));

    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, b"name,id\n").expect("write");
    assert!(matches!(
        run_local(&header_only, &good, Mode::Intersection),
        Err(PsiError::NoRows { .. })
    ));

    let all_invalid = write_csv(
        dir.path(),
        "invalid.csv",
        "id",
        &[corrupt(&resident_id(3)), "x".to_owned()],
    );
    assert!(matches!(
        run_local(&all_invalid, &good, Mode::Intersection),
        Err(PsiError::NoValidIdentifiers { invalid: 2, .. })
    ));

    // Line 4 has an extra field.
    let malformed = dir.path().join("malformed.csv");
    std::fs::write(
        &malformed,
        format!(
            "name,id\na,{}\nb,{}\nc,{},extra\n",
            resident_id(4),
            resident_id(5),
            resident_id(6)
        ),
    )
    .expect("write");
    let err =
        run_local(&malformed, &good, Mode::Intersection).expect_err("malformed receiver input");
    assert!(
        matches!(&err, PsiError::MalformedRow { line: 4, .. }),
        "{err}"
    );
    assert!(
        !err.to_string().contains(&resident_id(6)),
        "errors never quote the row"
    );
    // The same file at the sender: the receiver is told why the sender stopped.
    let err = run_local(&good, &malformed, Mode::Intersection).expect_err("malformed sender input");
    match &err {
        PsiError::PeerAborted { reason } => assert!(
            reason.contains("line 4") && reason.contains("malformed"),
            "{reason}"
        ),
        other => panic!("expected PeerAborted, got {other}"),
    }
}

/// A receiver whose peer greets, announces points, sends some and vanishes.
#[test]
fn peer_disconnect_mid_stream_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, listener) = receiver_setup(dir.path(), 50);
    let addr = listener.local_addr().expect("addr");
    let fake_sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        let mut frames = Vec::new();
        // Hello (kind 1): "WNPSI", version 1, role sender (0), mode intersection (0).
        frames.extend([1u8, 0, 0, 0, 8]);
        frames.extend(b"WNPSI\x01\x00\x00");
        // Begin (kind 2): 10 points announced; then one Points frame (kind 3) with 1 point.
        frames.extend([2u8, 0, 0, 0, 8]);
        frames.extend(10u64.to_be_bytes());
        frames.extend([3u8, 0, 0, 0, 36, 0, 0, 0, 1]);
        frames.extend(curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.to_bytes());
        s.write_all(&frames).expect("write");
        // Dropping the socket is the disconnect.
    });
    let err = receive_from_peer(&listener, &a).expect_err("disconnect");
    fake_sender.join().expect("fake sender");
    assert!(matches!(err, PsiError::PeerClosed { .. }), "{err}");
    assert!(err.to_string().contains("disconnected"), "{err}");
}

#[test]
fn mismatched_peers_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, listener) = receiver_setup(dir.path(), 20);
    // Two receivers: each must say the other is not a sender.
    let other = spawn_peer(&listener, &a, receive);
    let err = receive_from_peer(&listener, &a).expect_err("refused");
    let other_err = other.join().expect("thread").expect_err("refused too");
    for e in [&err, &other_err] {
        let text = e.to_string();
        assert!(
            text.contains("also a Receiver") || matches!(e, PsiError::PeerAborted { .. }),
            "{text}"
        );
    }

    // Modes must agree.
    let sender = spawn_peer(&listener, &a, |stream, input| {
        psi::run_sender(stream, input, Mode::CardinalityOnly, &NoProgress)
    });
    let err = receive_from_peer(&listener, &a).expect_err("refused");
    assert!(sender.join().expect("thread").is_err());
    let text = err.to_string();
    assert!(
        text.contains("CardinalityOnly") || text.contains("Intersection"),
        "{text}"
    );
}

/// More rows than one input chunk (2^16) and many point batches: row numbers and batch
/// offsets must carry across chunk and frame boundaries.
#[test]
fn crosses_input_chunks_and_frame_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows_a = weinong_mpc::psi::limits::INPUT_CHUNK_ROWS as u64 + 3_000;
    let ids_a: Vec<String> = (0..rows_a).map(resident_id).collect();
    // Shared IDs spread over the whole receiver file, including its last rows.
    let ids_b: Vec<String> = (0..4_000u64)
        .map(|k| {
            if k % 2 == 0 {
                resident_id(k * 17 % rows_a)
            } else {
                resident_id(10_000_000 + k)
            }
        })
        .collect();
    let a = write_csv(dir.path(), "a.csv", "id", &ids_a);
    let b = write_csv(dir.path(), "b.csv", "id", &ids_b);
    let in_b: HashSet<&String> = ids_b.iter().collect();
    let expected: Vec<&String> = ids_a.iter().filter(|id| in_b.contains(id)).collect();
    assert_eq!(expected.len(), 2_000);
    for protocol in [Protocol::Ecdh, Protocol::Kkrt] {
        let (lines, receiver, _) =
            run_local_with(&a, &b, protocol, Mode::Intersection).expect("PSI runs");
        assert_eq!(
            lines[1..].iter().collect::<Vec<_>>(),
            expected,
            "{protocol:?}: all matches, in receiver order"
        );
        assert_eq!(receiver.own.rows, rows_a);
    }
}

/// In-memory lists (a node's predicate results: 32-byte pseudonyms) over the same protocol:
/// the receiver's matched rows are exactly its items that the sender holds, including an
/// empty side, and cardinality mode reveals no rows.
#[test]
fn identifier_lists_match_the_plain_intersection() {
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let universe: Vec<Vec<u8>> = (0..3000)
        .map(|_| {
            let mut p = vec![0u8; 32];
            rng.fill_bytes(&mut p);
            p
        })
        .collect();
    let cases: [(usize, usize, usize); 4] =
        [(0, 2000, 1000), (1000, 3000, 500), (0, 0, 0), (0, 800, 0)];
    for (lo, hi, receiver_len) in cases {
        let sender_items: Vec<Vec<u8>> = universe[lo..hi].to_vec();
        let receiver_items: Vec<Vec<u8>> = universe
            .iter()
            .step_by(3)
            .take(receiver_len)
            .cloned()
            .collect();
        let held: HashSet<&Vec<u8>> = sender_items.iter().collect();
        let expected: Vec<u32> = receiver_items
            .iter()
            .enumerate()
            .filter(|(_, item)| held.contains(item))
            .map(|(i, _)| u32::try_from(i).expect("small"))
            .collect();
        for mode in [Mode::Intersection, Mode::CardinalityOnly] {
            let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
            let addr = listener.local_addr().expect("addr");
            let sender_list = psi::IdentifierList::new(sender_items.clone()).expect("list");
            let sender = std::thread::spawn(move || {
                psi::run_sender(
                    TcpStream::connect(addr).expect("connect"),
                    sender_list,
                    mode,
                    &NoProgress,
                )
            });
            let (stream, _) = listener.accept().expect("accept");
            let mut receiver_list = psi::IdentifierList::new(receiver_items.clone()).expect("list");
            let (report, rows) =
                psi::run_receiver_rows(stream, &mut receiver_list, mode, &NoProgress)
                    .expect("receiver");
            sender.join().expect("sender thread").expect("sender");
            assert_eq!(
                report.intersection,
                expected.len() as u64,
                "{lo}..{hi} {mode:?}"
            );
            match mode {
                Mode::Intersection => assert_eq!(rows, expected, "{lo}..{hi}"),
                Mode::CardinalityOnly => assert!(rows.is_empty()),
            }
        }
    }
    assert!(psi::IdentifierList::new(vec![Vec::new()]).is_err());
    assert!(psi::IdentifierList::new(vec![vec![0u8; 65]]).is_err());
}

/// The sender's whole view of a run: every byte the receiver sends, recorded by a relay
/// between them. It must hold none of the receiver's identifiers, neither raw nor as its
/// unblinded group point `H(x)` (which the sender could compute from a guess), so the
/// sender learns nothing of the receiver's set but its size.
#[test]
fn the_sender_receives_no_identifier_of_the_receiver() {
    use std::io::Read as _;
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    let receiver_items: Vec<Vec<u8>> = (0..2000)
        .map(|_| {
            let mut p = vec![0u8; 32];
            rng.fill_bytes(&mut p);
            p
        })
        .collect();
    // The sender holds half of them, so matches happen.
    let sender_items: Vec<Vec<u8>> = receiver_items.iter().step_by(2).cloned().collect();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let relay_listener = TcpListener::bind("127.0.0.1:0").expect("relay");
    let (sender_addr, relay_addr) = (
        listener.local_addr().expect("addr"),
        relay_listener.local_addr().expect("addr"),
    );
    let sender_list = psi::IdentifierList::new(sender_items).expect("list");
    let sender = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        psi::run_sender(stream, sender_list, Mode::Intersection, &NoProgress)
    });
    // The relay: receiver -> sender bytes are recorded; sender -> receiver passed on.
    let relay = std::thread::spawn(move || {
        let (from_receiver, _) = relay_listener.accept().expect("accept");
        let to_sender = TcpStream::connect(sender_addr).expect("connect");
        let (mut r1, mut w1) = (
            from_receiver.try_clone().expect("clone"),
            to_sender.try_clone().expect("clone"),
        );
        let back = std::thread::spawn(move || {
            let (mut r2, mut w2) = (to_sender, from_receiver);
            let _ = std::io::copy(&mut r2, &mut w2);
            let _ = w2.shutdown(std::net::Shutdown::Write);
        });
        let mut seen = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match r1.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    if w1.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = w1.shutdown(std::net::Shutdown::Write);
        let _ = back.join();
        seen
    });
    let mut receiver_list = psi::IdentifierList::new(receiver_items.clone()).expect("list");
    let (report, rows) = psi::run_receiver_rows(
        TcpStream::connect(relay_addr).expect("connect"),
        &mut receiver_list,
        Mode::Intersection,
        &NoProgress,
    )
    .expect("receiver");
    sender.join().expect("thread").expect("sender");
    let seen = relay.join().expect("relay");
    assert_eq!(report.intersection, 1000);
    assert_eq!(rows.len(), 1000);
    // The receiver sent its 2,000 blinded points (64 KiB) and frames around them.
    assert!(seen.len() > 2000 * 32, "{} bytes", seen.len());
    for item in &receiver_items {
        let unblinded = psi::hash_to_group(item).compress().to_bytes();
        for needle in [item.as_slice(), unblinded.as_slice()] {
            assert!(
                !seen.windows(32).any(|w| w == needle),
                "the sender's transcript holds a receiver identifier or its hash point"
            );
        }
    }
}
