//! Feature loading speed: features of 100,000 synthetic subjects (a district's periodic
//! re-assessment) from an SQLite store, per department; criterion prints subjects/s.
//!
//! `cargo bench -p weinong-connectors --bench features` (set `WEINONG_BENCH_PEOPLE` for
//! another population size). Setup (synthesis and import) is not measured.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

async fn setup(dir: &Path, people: u64) -> (Store, Vec<SubjectPseudonym>) {
    let data = dir.join("data");
    synthesize(&SynthConfig {
        people,
        seed: SEED,
        dirt: 0.0,
        out: data.clone(),
    })
    .expect("synthesize");
    let store = Store::open(&format!("sqlite://{}", dir.join("node.db").display()))
        .await
        .expect("open store");
    let secrets = synthetic_secrets(SEED);
    for d in Department::ALL {
        let mapping = mapping_file(d).map_or_else(Mapping::default, |m| {
            Mapping::load(&data.join(m)).expect("mapping")
        });
        import_file(
            &store,
            d,
            &data.join(input_file(d)),
            &mapping,
            &secrets,
            &ImportOptions::default(),
        )
        .await
        .expect("import");
    }
    let mut r = csv::Reader::from_path(data.join("truth").join("civil.csv")).expect("truth");
    let subjects = r
        .records()
        .map(|rec| {
            rec.expect("record")[0]
                .parse::<SubjectPseudonym>()
                .expect("pseudonym")
        })
        .collect();
    (store, subjects)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let people = people();
    let (store, subjects) = rt.block_on(setup(dir.path(), people));
    let mut g = c.benchmark_group("features");
    g.sample_size(10);
    g.throughput(Throughput::Elements(people));
    for d in Department::ALL {
        g.bench_function(format!("sqlite/{d}/{people}"), |b| {
            b.iter(|| {
                rt.block_on(load_features(&store, d, &subjects, AS_OF))
                    .expect("features")
            });
        });
    }
    g.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, bench);
criterion_main!(benches);
