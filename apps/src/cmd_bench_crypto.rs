//! `weinong bench crypto`: SM2/SM3/SM4 speed here beside `openssl speed` in the same run.
//!
//! Both sides run on one core for about the same time. OpenSSL 3.0 has no SM4-GCM in
//! `speed`, so SM4-GCM is set beside OpenSSL's SM4-CTR, the encryption half of GCM.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use weinong_keys::{DataKey, KeyPair, PreparedPublicKey, sm3_digest};

use crate::Outcome;

#[derive(Args)]
pub struct BenchCryptoArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 2)]
    seconds: u64,
}

/// Operations per second of `f`, run for about `secs`.
fn rate(secs: u64, mut f: impl FnMut()) -> f64 {
    for _ in 0..10 {
        f();
    }
    let budget = Duration::from_secs(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// OpenSSL's machine-readable `speed` output for one algorithm; `None` if openssl is missing.
fn openssl_speed(secs: u64, args: &[&str]) -> Option<String> {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", &secs.to_string()])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `+F7:…:sign/s:verify/s` → (sign/s, verify/s).
fn parse_sm2(text: &str) -> Option<(f64, f64)> {
    let line = text
        .lines()
        .find(|l| l.starts_with("+F7:") && l.contains("SM2"))?;
    let f: Vec<&str> = line.split(':').collect();
    Some((f.get(4)?.parse().ok()?, f.get(5)?.parse().ok()?))
}

/// `+F:…:NAME:bytes_per_sec` → MB/s.
fn parse_bytes(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("+F:"))?;
    let v: f64 = line.rsplit(':').next()?.parse().ok()?;
    Some(v / 1e6)
}

fn row(name: &str, unit: &str, ours: f64, peer: Option<f64>, peer_name: &str) {
    match peer {
        Some(p) => println!(
            "{name:<28} {ours:>12.0} {unit:<9} openssl {peer_name:<12} {p:>10.0} {unit:<9} ratio {:.2}x",
            ours / p
        ),
        None => println!(
            "{name:<28} {ours:>12.0} {unit:<9} openssl {peer_name}: not measured (openssl missing)"
        ),
    }
}

pub fn bench_crypto(args: BenchCryptoArgs) -> Result<Outcome> {
    let s = args.seconds.max(1);
    let key = KeyPair::generate();
    let msg = [0x42u8; 64];
    let sig = key.sign(&msg);
    let prepared = PreparedPublicKey::new(key.public_key());
    prepared
        .verify(&msg, &sig)
        .context("self-check of the prepared verifier failed")?;

    let sign = rate(s, || {
        black_box(key.sign(black_box(&msg)));
    });
    let verify = rate(s, || {
        black_box(key.public_key().verify(black_box(&msg), &sig)).ok();
    });
    let verify_prepared = rate(s, || {
        black_box(prepared.verify(black_box(&msg), &sig)).ok();
    });
    let block = vec![0x5au8; 16 * 1024];
    let sm3 = rate(s, || {
        black_box(sm3_digest(black_box(&block)));
    }) * block.len() as f64
        / 1e6;
    let dk = DataKey::generate()?;
    let sm4 = rate(s, || {
        black_box(dk.seal(b"", black_box(&block))).ok();
    }) * block.len() as f64
        / 1e6;

    let ossl_sm2 = openssl_speed(s, &["sm2"]).as_deref().and_then(parse_sm2);
    let ossl_sm3 = openssl_speed(s, &["-bytes", "16384", "-evp", "sm3"])
        .as_deref()
        .and_then(parse_bytes);
    let ossl_sm4 = openssl_speed(s, &["-bytes", "16384", "-evp", "sm4-ctr"])
        .as_deref()
        .and_then(parse_bytes);

    println!("weinong bench crypto: one core, {s} s per figure, 64-byte messages, 16 KiB blocks");
    row("SM2 sign", "ops/s", sign, ossl_sm2.map(|x| x.0), "sm2 sign");
    row(
        "SM2 verify (sm2 crate)",
        "ops/s",
        verify,
        ossl_sm2.map(|x| x.1),
        "sm2 verify",
    );
    row(
        "SM2 verify (prepared key)",
        "ops/s",
        verify_prepared,
        ossl_sm2.map(|x| x.1),
        "sm2 verify",
    );
    row("SM3", "MB/s", sm3, ossl_sm3, "sm3");
    row("SM4-GCM seal", "MB/s", sm4, ossl_sm4, "sm4-ctr");
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openssl_machine_readable_output() {
        let sm2 = "+DTP:256:sign:CurveSM2:1\n+R10:3836:256:CurveSM2:0.96\n+F7:0:256:CurveSM2:3995.833333:4215.151515\n";
        assert_eq!(parse_sm2(sm2), Some((3995.833333, 4215.151515)));
        assert_eq!(
            parse_bytes("+H:16384\n+F:25:sm3:391442474.23\n"),
            Some(391.44247423)
        );
        assert_eq!(parse_sm2("garbage"), None);
    }
}
