//! One subject of each model evaluated under TFHE on every device this build can use: the
//! CPU worker pool and, built with the `gpu` feature on a machine with a CUDA device, the
//! GPU. Same keys and the same encrypted inputs on both, in one run; the results are
//! decrypted and checked against the plaintext backend, then the medians and the GPU/CPU
//! ratio are printed.
//!
//!     cargo bench -p weinong-mpc --features fhe --bench fhe_eval -- [--runs N] [--threads T]
//!
//! (`weinong bench fhe` adds key sizes and per-kind timings for the CPU build.)

use std::time::{Duration, Instant};

use weinong_mpc::fhe::{Device, Evaluator, Plan, RequesterKeys, encrypt_inputs};
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{ADMISSION_V1, Backend, PERIODIC_V1, Plaintext, compile};

fn main() {
    let mut runs = 3usize;
    let mut threads = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--runs" => runs = value("--runs").max(1),
            "--threads" => threads = value("--threads"),
            // cargo bench passes `--bench`; criterion-style filters are not used here.
            _ => {}
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut devices = vec![Device::Cpu];
    if Device::available() != Device::Cpu {
        devices.push(Device::available());
    }
    println!(
        "FHE evaluation per subject on {}; {} worker threads, {cores} cores, {runs} runs",
        devices
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(" and "),
        if threads == 0 { cores } else { threads },
    );

    let started = Instant::now();
    let requester = RequesterKeys::generate();
    let encryption = requester.encryption_key();
    let evaluation = requester.evaluation_key();
    println!("keygen {:.2} s", started.elapsed().as_secs_f64());
    let evaluators: Vec<(Device, Evaluator)> = devices
        .iter()
        .map(|&device| {
            let started = Instant::now();
            let evaluator = Evaluator::on(device, &evaluation, threads).expect("evaluator starts");
            println!(
                "{} evaluator start (server key decompression, workers) {:.2} s",
                device.name(),
                started.elapsed().as_secs_f64()
            );
            (device, evaluator)
        })
        .collect();

    for source in [ADMISSION_V1, PERIODIC_V1] {
        let model = compile(source).expect("built-in model compiles");
        let plan = Plan::new(&model);
        let mut medians = Vec::new();
        for (device, evaluator) in &evaluators {
            let mut times = Vec::new();
            for run in 0..runs {
                let batch = random_batch(&model, 1, 7_000 + run as u64).expect("sample");
                let expected = Plaintext.evaluate(&model, &batch).expect("plaintext runs");
                let lists: Vec<_> = model
                    .holders()
                    .into_iter()
                    .map(|holder| {
                        let values: Vec<i64> = Plan::holder_inputs(&model, holder)
                            .iter()
                            .map(|i| batch.column(*i)[0])
                            .collect();
                        let bytes = encrypt_inputs(&model, &plan, holder, &values, &encryption)
                            .expect("inputs encrypt");
                        (holder, bytes)
                    })
                    .collect();
                let borrowed: Vec<_> = lists.iter().map(|(h, b)| (*h, b.as_slice())).collect();
                let started = Instant::now();
                let (outputs, report) = evaluator
                    .evaluate(&model, &plan, &borrowed)
                    .expect("evaluation of valid inputs");
                let wire = outputs.to_bytes().expect("outputs serialize");
                let took = started.elapsed();
                let got = requester
                    .decrypt_outputs(&plan, &wire)
                    .expect("outputs decrypt");
                for (index, value) in got.iter().enumerate() {
                    assert_eq!(
                        *value,
                        expected.column(index)[0],
                        "{} on {}: output {index} differs from the plaintext backend",
                        model.name(),
                        device.name()
                    );
                }
                println!(
                    "  {} {} run {run}: {:.3} s (expansion {:.3} s, IR {:.3} s); equals plaintext",
                    model.name(),
                    device.name(),
                    took.as_secs_f64(),
                    report.expand.as_secs_f64(),
                    report.evaluate.as_secs_f64()
                );
                times.push(took);
            }
            times.sort();
            let median = times[times.len() / 2];
            medians.push((*device, median));
        }
        let line: Vec<String> = medians
            .iter()
            .map(|(d, t)| format!("{} {:.3} s", d.name(), t.as_secs_f64()))
            .collect();
        print!("{}: one subject, median: {}", model.name(), line.join(", "));
        if let [(_, cpu), (_, other)] = medians.as_slice() {
            print!("; cpu/gpu = {:.1}x", ratio(*cpu, *other));
        }
        println!();
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
