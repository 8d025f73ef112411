//! Feature loading speed: features of 100,000 synthetic subjects (a district's periodic
//! re-assessment) from an SQLite store, per department; criterion prints subjects/s.
//!
//! `cargo bench -p weinong-connectors --bench features` (set `WEINONG_BENCH_PEOPLE` for
//! another population size; with `WEINONG_BENCH_PG_URL` set, the same on a scratch
//! PostgreSQL database). Setup (synthesis and import) is not measured.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weinong_connectors::store::{create_scratch_database, drop_scratch_database};
use weinong_connectors::synth::{AS_OF, input_file, mapping_file, synthetic_secrets};
use weinong_connectors::{
    Department, ImportOptions, Mapping, Store, SynthConfig, import_file, load_features, synthesize,
};
use weinong_keys::SubjectPseudonym;

const SEED: u64 = 31;

fn people() -> u64 {
    std::env::var("WEINONG_BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn synth(data: &Path, people: u64) -> Vec<SubjectPseudonym> {
    synthesize(&SynthConfig {
        people,
        seed: SEED,
        dirt: 0.0,
        out: data.to_path_buf(),
    })
    .expect("synthesize");
    let mut r = csv::Reader::from_path(data.join("truth").join("civil.csv")).expect("truth");
    r.records()
        .map(|rec| {
            rec.expect("record")[0]
                .parse::<SubjectPseudonym>()
                .expect("pseudonym")
        })
        .collect()
}

async fn import(store: &Store, data: &Path) {
    let secrets = synthetic_secrets(SEED);
    for d in Department::ALL {
        let mapping = mapping_file(d).map_or_else(Mapping::default, |m| {
            Mapping::load(&data.join(m)).expect("mapping")
        });
        import_file(
            store,
            d,
            &data.join(input_file(d)),
            &mapping,
            &secrets,
            &ImportOptions::default(),
        )
        .await
        .expect("import");
    }
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
