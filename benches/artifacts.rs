//! Artifacts on the local executor (issue 60 point 3, the part built): `baton run
//! --headless` of two steps, the first keeping a file as an artifact (copied into the
//! store, hashed as it is copied, synced, renamed) and the second handed it (copied
//! from the store, checked, renamed), against the same bytes moved by hand: two `cp`
//! of the file (out of the step's directory and back to the reader's), in one process
//! run as the baseline, alternately, in pairs. And the engine's peak memory (max RSS
//! from `wait4`) for a small and a large file: a streamed copy does not grow with it.
//!
//!   cargo bench --bench artifacts        (BATON_ARTIFACT_MIB=1024 by default; 3 pairs)
//!
//! The figures go to docs/performance/artifacts.md between its markers, every run.
use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[path = "support/peak.rs"]
mod peak;
use peak::peak_mib;

const BEGIN: &str = "<!-- benches/artifacts.rs writes from here -->";
const END: &str = "<!-- to here -->";

const WF: &str = r#"name = "artifacts-bench"

[[step]]
id = "make"
run = "true"
artifacts = { data = "out/data.bin" }

[[step]]
id = "read"
needs = ["make"]
uses_artifacts = ["make.data"]
run = "true"
"#;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mib: u64 = std::env::var("BATON_ARTIFACT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let pairs: usize = std::env::var("BATON_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let work = dir.path();
    std::fs::create_dir_all(work.join("out")).expect("mkdir");
    std::fs::write(work.join("wf.toml"), WF).expect("write");
    let file = work.join("out/data.bin");
    sh(&format!(
        "head -c {}M /dev/urandom > {}",
        mib,
        file.display()
    ));
    println!("artifact: {mib} MiB of random bytes; {pairs} alternating pairs");
    let mut ratios = Vec::new();
    let mut times = Vec::new();
    for round in 0..pairs {
        let by_hand = || {
            let t = Instant::now();
            sh(&format!(
                "cp {f} {d}/kept && cp {d}/kept {d}/handed && rm {d}/kept {d}/handed",
                f = file.display(),
                d = work.display()
            ));
            t.elapsed().as_secs_f64()
        };
        let baton = || {
            let t = Instant::now();
            let (code, _) = peak_mib(work, &["run", "wf.toml", "--headless"]);
            assert_eq!(code, 0, "the run failed");
            let s = t.elapsed().as_secs_f64();
            clear(work);
            s
        };
        let (b, a) = if round % 2 == 0 {
            let a = by_hand();
            (baton(), a)
        } else {
            let b = baton();
            (b, by_hand())
        };
        println!(
            "round {round}: baton {b:.2} s, two cp {a:.2} s, ratio (cp / baton) {:.2}",
            a / b
        );
        ratios.push(a / b);
        times.push((b, a));
    }
    let small = peak_of(work, 16);
    let large = peak_of(work, mib);
    println!("peak RSS of the engine: {small:.1} MiB with 16 MiB, {large:.1} MiB with {mib} MiB");
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    record(mib, &times, median, (small, large));
}

/// The engine's peak RSS moving a file of `mib` MiB.
fn peak_of(work: &Path, mib: u64) -> f64 {
    let file = work.join("out/data.bin");
    sh(&format!("head -c {mib}M /dev/zero > {}", file.display()));
    let (code, peak) = peak_mib(work, &["run", "wf.toml", "--headless"]);
    assert_eq!(code, 0, "the run failed");
    clear(work);
    peak
}

/// A fresh store for the next run (its contents and copies would stay otherwise).
fn clear(work: &Path) {
    let _ = std::fs::remove_dir_all(work.join("artifacts"));
    for f in ["bench.db", "bench.db-wal", "bench.db-shm"] {
        let _ = std::fs::remove_file(work.join(f));
    }
}

fn sh(script: &str) {
    let ok = Command::new("sh")
        .args(["-c", script])
        .status()
        .expect("sh")
        .success();
    assert!(ok, "{script} failed");
}

fn record(mib: u64, times: &[(f64, f64)], median: f64, (small, large): (f64, f64)) {
    let mut t = format!(
        "| round | `baton run` (keep + hand {mib} MiB) | two `cp` | ratio (cp / baton) |\n|---|---|---|---|\n"
    );
    for (n, (b, a)) in times.iter().enumerate() {
        t.push_str(&format!("| {n} | {b:.2} s | {a:.2} s | {:.2} |\n", a / b));
    }
    t.push_str(&format!(
        "\nMedian ratio: **{median:.2}** (0.8 or more wanted).\n\nPeak RSS of `baton run --headless`: {small:.1} MiB moving 16 MiB, {large:.1} MiB moving {mib} MiB."
    ));
    peak::record("performance/artifacts.md", BEGIN, END, &t);
}
