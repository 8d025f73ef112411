//! The transcript test: run the two roles through a recording TCP proxy and check that
//! neither direction of the wire, nor anything the sender outputs, holds any input
//! identifier in plain text (raw or normalised) or its unblinded hash point `H(id)`.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use weinong_mpc::psi::{self, IdentifierReader, Mode, NoProgress, hash_to_group};

/// The `i`-th ID of the transcript series (valid GB 11643 check character); the PSI CLI
/// tests of `weinong` use the same series.
fn resident_id(i: u64) -> String {
    let (year, month, day) = (1930 + i / 336 % 80, i % 336 / 28 + 1, i % 28 + 1);
    let seq = i / 26_880 % 1000;
    let first17 = format!("310104{year:04}{month:02}{day:02}{seq:03}");
    let mut id = [0u8; 18];
    id[..17].copy_from_slice(first17.as_bytes());
    id[17] = weinong_keys::check_char(&id);
    String::from_utf8(id.to_vec()).expect("ASCII")
}

/// Copy `from` to `to`, appending every byte to `log`, until `from` closes.
fn pump(mut from: TcpStream, mut to: TcpStream, log: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                log.lock().expect("log").extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    // Pass the close on; the other side may already be gone.
    let _ = to.shutdown(Shutdown::Write);
}

/// Every `width`-byte window of `bytes`.
fn windows(bytes: &[u8], width: usize) -> HashSet<Vec<u8>> {
    bytes.windows(width).map(<[u8]>::to_vec).collect()
}

fn write_csv(path: &Path, ids: &[String]) {
    let mut text = String::from("id\n");
    for id in ids {
        // Lower-case x and padding: the raw cell differs from the normalised ID.
        text.push_str(&format!(" {} \n", id.to_lowercase()));
    }
    std::fs::write(path, text).expect("write");
}

fn run_through_proxy(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let receiver_ids: Vec<String> = (0..400).map(resident_id).collect();
    let sender_ids: Vec<String> = (200..600).map(resident_id).collect();
    let (path_a, path_b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_csv(&path_a, &receiver_ids);
    write_csv(&path_b, &sender_ids);

    let receiver_listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let receiver_addr = receiver_listener.local_addr().expect("addr");
    let proxy_listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy_addr = proxy_listener.local_addr().expect("addr").to_string();
    let to_receiver = Arc::new(Mutex::new(Vec::new()));
    let to_sender = Arc::new(Mutex::new(Vec::new()));

    let proxy = {
        let (to_receiver, to_sender) = (to_receiver.clone(), to_sender.clone());
        thread::spawn(move || {
            let (from_sender, _) = proxy_listener.accept().expect("accept the sender");
            let towards_receiver =
                TcpStream::connect(receiver_addr).expect("connect to the receiver");
            let a = {
                let (f, t) = (
                    from_sender.try_clone().expect("clone"),
                    towards_receiver.try_clone().expect("clone"),
                );
                thread::spawn(move || pump(f, t, to_receiver))
            };
            pump(towards_receiver, from_sender, to_sender);
            a.join().expect("pump");
        })
    };
    let sender = thread::spawn(move || {
        let input = IdentifierReader::open(&path_b, "id").expect("open");
        psi::run_sender(
            psi::connect(&proxy_addr).expect("connect"),
            input,
            mode,
            &NoProgress,
        )
    });
    let stream = psi::accept_from(
        &receiver_listener,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Duration::from_secs(10),
    )
    .expect("accept");
    let mut out = Vec::new();
    let receiver = psi::run_receiver(
        stream,
        IdentifierReader::open(&path_a, "id").expect("open"),
        mode,
        &mut out,
        &NoProgress,
    )
    .expect("receiver");
    let sender = sender.join().expect("sender thread").expect("sender");
    proxy.join().expect("proxy");

    assert_eq!(receiver.intersection, 200, "the run itself is right");
    let sender_output = format!("{sender:?}");
    let wire_to_receiver = to_receiver.lock().expect("log").clone();
    let wire_to_sender = to_sender.lock().expect("log").clone();
    // Sizes: 3 streams of 400 points (sender's set, receiver's set, the set returned).
    assert!(
        wire_to_receiver.len() >= 800 * 32 && wire_to_sender.len() >= 400 * 32,
        "the proxy saw the run"
    );
    assert!(
        wire_to_receiver.starts_with(&[1, 0, 0, 0, 8]),
        "the proxy saw the frames"
    );

    for (name, bytes) in [
        ("sender → receiver", &wire_to_receiver),
        ("receiver → sender", &wire_to_sender),
        ("sender output", &sender_output.into_bytes()),
    ] {
        let text_windows = windows(bytes, 18);
        let raw_windows = windows(bytes, 20);
        let point_windows = windows(bytes, 32);
        for id in receiver_ids.iter().chain(&sender_ids) {
            assert!(
                !text_windows.contains(id.as_bytes()),
                "{name} holds an identifier in plain text"
            );
            assert!(
                !text_windows.contains(id.to_lowercase().as_bytes()),
                "{name} holds a raw identifier cell"
            );
            assert!(
                !raw_windows.contains(format!(" {} ", id.to_lowercase()).as_bytes()),
                "{name} holds a raw cell"
            );
            let hash_point = hash_to_group(id.as_bytes()).compress().to_bytes();
            assert!(
                !point_windows.contains(&hash_point[..]),
                "{name} holds an unblinded hash point"
            );
        }
    }
}

#[test]
fn wire_and_sender_output_hold_no_identifier_or_hash_point() {
    run_through_proxy(Mode::Intersection);
}

#[test]
fn cardinality_mode_transcript_holds_no_identifier_or_hash_point() {
    run_through_proxy(Mode::CardinalityOnly);
}

/// The check above must be able to fail: a transcript that does carry `H(id)` is caught.
#[test]
fn the_transcript_check_detects_an_unblinded_point() {
    let id = resident_id(7);
    let mut fake = vec![3u8, 0, 0, 0, 36, 0, 0, 0, 1];
    fake.extend(hash_to_group(id.as_bytes()).compress().to_bytes());
    assert!(windows(&fake, 32).contains(&hash_to_group(id.as_bytes()).compress().to_bytes()[..]));
}
