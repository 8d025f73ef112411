//! Per-operation costs of ECDH-PSI on this machine: hash to ristretto255, blinding a batch
//! of identifiers (hash + scalar multiplication + batched encode) and reblinding a batch
//! of peer points (decode + scalar multiplication + batched encode), per point, on one
//! core and on all cores. `weinong bench psi` measures the whole protocol.
//!
//!     cargo bench -p weinong-mpc --bench psi_ops

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use curve25519_dalek::scalar::Scalar;
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

criterion_group!(benches, per_op);
criterion_main!(benches);
