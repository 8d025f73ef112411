//! Per-operation costs of ECDH-PSI on this machine: hash to ristretto255, blinding a batch
//! of identifiers (hash + scalar multiplication + batched encode) and reblinding a batch
//! of peer points (decode + scalar multiplication + batched encode), per point, on one
//! core and on all cores; and the pieces of KKRT16 PSI: the bit-matrix transpose of one
//! column chunk, one OT-extension chunk on each side, 512 base OTs, the pseudorandom code and
//! the output hash. `weinong bench psi` measures the whole protocols.
//!
//!     cargo bench -p weinong-mpc --bench psi_ops

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use curve25519_dalek::scalar::Scalar;
use weinong_mpc::psi::kkrt::base_ot::{OtSender, receive};
use weinong_mpc::psi::kkrt::code::{Code, hash_item, value};
use weinong_mpc::psi::kkrt::ot_ext::{ExtReceiver, ExtSender};
use weinong_mpc::psi::kkrt::params::{
    CHUNK_BINS, CODE_BITS, CODE_BYTES, CODE_WORDS, COLUMNS_FRAME_BYTES,
};
use weinong_mpc::psi::kkrt::transpose::transpose;
use weinong_mpc::psi::{BlindingKey, hash_to_group};

fn ids(n: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("31010419{:02}0101{:04}", 30 + i % 60, i % 10_000).into_bytes())
        .collect()
}

fn per_op(c: &mut Criterion) {
    let batch = ids(4096);
    let key = BlindingKey::generate().expect("randomness");
    let peer = BlindingKey::generate()
        .expect("randomness")
        .blind_identifiers(&batch);
    let mut group = c.benchmark_group("psi");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hash_to_group", |b| {
        b.iter(|| hash_to_group(black_box(b"310104193001010012")))
    });
    let point = hash_to_group(b"310104193001010012");
    let scalar = Scalar::from(0x1234_5678_9abc_def0u64);
    group.bench_function("scalar_mul", |b| {
        b.iter(|| black_box(point) * black_box(scalar))
    });
    group.bench_function("compress", |b| b.iter(|| black_box(point).compress()));
    let encoded = point.compress();
    group.bench_function("decompress", |b| b.iter(|| black_box(encoded).decompress()));
    group.finish();

    let mut group = c.benchmark_group("psi_batch_4096");
    group.throughput(Throughput::Elements(4096));
    group.sample_size(10);
    for threads in [1usize, 0] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let label = if threads == 1 { "1_core" } else { "all_cores" };
        group.bench_function(format!("blind_identifiers/{label}"), |b| {
            b.iter(|| pool.install(|| key.blind_identifiers(black_box(&batch))))
        });
        group.bench_function(format!("reblind/{label}"), |b| {
            b.iter(|| pool.install(|| key.reblind(black_box(&peer), 0).expect("valid")))
        });
    }
    group.finish();
}

fn kkrt(c: &mut Criterion) {
    let mut group = c.benchmark_group("kkrt");
    group.sample_size(10);
    let matrix = vec![0x5Au8; CHUNK_BINS * CODE_BYTES];
    let mut out = vec![0u8; CHUNK_BINS * CODE_BYTES];
    group.throughput(Throughput::Elements(CHUNK_BINS as u64));
    group.bench_function("transpose_2048x512", |b| {
        b.iter(|| transpose(black_box(&matrix), CHUNK_BINS, CODE_BITS, &mut out))
    });
    let ot = OtSender::new().expect("randomness");
    let choices: Vec<bool> = (0..CODE_BITS).map(|i| i % 2 == 0).collect();
    let (points, chosen) = receive(&ot.message(), &choices).expect("receive");
    let keys = ot.keys(&points).expect("keys");
    let mut receiver = ExtReceiver::new(&keys);
    let mut sender = ExtSender::new(&chosen, &choices);
    let codewords = vec![[7u64; CODE_WORDS]; CHUNK_BINS];
    let mut u = vec![0u8; COLUMNS_FRAME_BYTES];
    let mut rows = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
    group.bench_function("ot_ext_chunk_receiver", |b| {
        b.iter(|| receiver.chunk(black_box(&codewords), &mut u, &mut rows))
    });
    group.bench_function("ot_ext_chunk_sender", |b| {
        b.iter(|| sender.chunk(black_box(&u), &mut rows))
    });
    group.throughput(Throughput::Elements(CODE_BITS as u64));
    group.bench_function("base_ots_512", |b| {
        b.iter(|| {
            let ot = OtSender::new().expect("randomness");
            let (points, _) = receive(&ot.message(), &choices).expect("receive");
            ot.keys(&points).expect("keys")
        })
    });
    group.throughput(Throughput::Elements(1));
    let code = Code::new([3; 16]);
    let item = hash_item(&[1; 32], b"310104193001010012");
    group.bench_function("hash_item", |b| {
        b.iter(|| hash_item(black_box(&[1; 32]), black_box(b"310104193001010012")))
    });
    group.bench_function("encode", |b| {
        b.iter(|| code.encode(black_box(&item.key), 1))
    });
    group.bench_function("value", |b| {
        b.iter(|| value(black_box(9), black_box(&rows[0])))
    });
    group.finish();
}

criterion_group!(benches, per_op, kkrt);
criterion_main!(benches);
