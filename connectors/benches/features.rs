//! Feature loading speed: features of 100,000 synthetic subjects (a district's periodic
//! re-assessment) from an SQLite store, per department; criterion prints subjects/s.
//!
//! `cargo bench -p weinong-connectors --bench features` (set `WEINONG_BENCH_PEOPLE` for
//! another population size; with `WEINONG_BENCH_PG_URL` set, the same on a scratch
//! PostgreSQL database). Setup (synthesis and import) is not measured.

// The integration tests' helpers: synthesis, import and truth reading, done the same way.
#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weinong_connectors::store::{create_scratch_database, drop_scratch_database};
use weinong_connectors::synth::{AS_OF, synthetic_secrets};
use weinong_connectors::{Department, Store, load_features};
use weinong_keys::SubjectPseudonym;

const SEED: u64 = 31;

fn people() -> u64 {
    std::env::var("WEINONG_BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn synth(data: &Path, people: u64) -> Vec<SubjectPseudonym> {
    common::synth(data, people, SEED, 0.0);
    common::truth_subjects(data)
}

async fn import(store: &Store, data: &Path) {
    common::import_all(store, data, &synthetic_secrets(SEED)).await;
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let people = people();
    let data = dir.path().join("data");
    let subjects = synth(&data, people);
    let mut stores = Vec::new();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    stores.push((
        "sqlite",
        rt.block_on(Store::open(&url)).expect("open"),
        None,
    ));
    if let Ok(admin) = std::env::var("WEINONG_BENCH_PG_URL") {
        let (url, name) = rt
            .block_on(create_scratch_database(&admin, "weinong_bench"))
            .expect("scratch database");
        let store = rt.block_on(Store::open(&url)).expect("open");
        stores.push(("postgres", store, Some((admin, name))));
    }
    let mut g = c.benchmark_group("features");
    g.sample_size(10);
    g.throughput(Throughput::Elements(people));
    for (backend, store, _) in &stores {
        rt.block_on(import(store, &data));
        for d in Department::ALL {
            g.bench_function(format!("{backend}/{d}/{people}"), |b| {
                b.iter(|| {
                    rt.block_on(load_features(store, d, &subjects, AS_OF))
                        .expect("features")
                });
            });
        }
    }
    g.finish();
    for (_, store, scratch) in stores {
        rt.block_on(store.close());
        if let Some((admin, name)) = scratch {
            rt.block_on(drop_scratch_database(&admin, &name))
                .expect("drop scratch database");
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
