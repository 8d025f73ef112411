//! Criterion benchmarks of the GM primitives. `weinong bench crypto` prints the same
//! figures beside `openssl speed` measured in the same run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weinong_keys::{DataKey, KeyPair, PreparedPublicKey, sm3_digest};

fn sm2(c: &mut Criterion) {
    let key = KeyPair::generate();
    let msg = [7u8; 64];
    let sig = key.sign(&msg);
    let prepared = PreparedPublicKey::new(key.public_key());
    let mut g = c.benchmark_group("sm2");
    g.bench_function("sign", |b| b.iter(|| key.sign(&msg)));
    g.bench_function("verify", |b| b.iter(|| key.public_key().verify(&msg, &sig)));
    g.bench_function("verify_prepared", |b| {
        b.iter(|| prepared.verify(&msg, &sig))
    });
    g.finish();
}

fn symmetric(c: &mut Criterion) {
    let data = vec![0x5au8; 1 << 16];
    let key = DataKey::generate().expect("rng");
    let mut g = c.benchmark_group("symmetric");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("sm3_64KiB", |b| b.iter(|| sm3_digest(&data)));
    g.bench_function("sm4_gcm_seal_64KiB", |b| b.iter(|| key.seal(b"", &data)));
    g.finish();
}

criterion_group!(benches, sm2, symmetric);
criterion_main!(benches);
