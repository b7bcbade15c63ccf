//! Two builds of one criterion bench in the same run: `BATON_BENCH_BASE=<the other
//! build's executable of this bench>` makes this process run that executable and its own,
//! alternately (`BATON_BENCH_PAIRS` rounds, default 5), each round a whole criterion run
//! with its own output directory, and print each benchmark's median of the rounds'
//! medians, the ratio of the two and the ratio per round. A slow spell of a shared
//! machine then hits both builds, as in `engine`'s rounds. The other build's bench may
//! be older code: only its benchmark names must match, and criterion's own
//! `estimates.json` is what is read from both.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::load::load;

/// Set on the rounds' own runs, so that they measure instead of pairing again.
const CHILD: &str = "BATON_BENCH_PAIRED_ROUND";

/// Runs the paired rounds when `BATON_BENCH_BASE` is set (and this is not a round
/// itself); returns whether it did, so that `main` measures only otherwise.
pub(crate) fn run(bench: &str) -> bool {
    let Some(base) = std::env::var_os("BATON_BENCH_BASE") else {
        return false;
    };
    if std::env::var_os(CHILD).is_some() {
        return false;
    }
    // `cargo test --benches` runs benches without `--bench`: nothing to pair then.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return true;
    }
    let pairs: usize = std::env::var("BATON_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5usize)
        .max(3);
    let this = std::env::current_exe().expect("this bench's executable");
    let builds = [("base", PathBuf::from(base)), ("this", this)];
    let out = tempfile::tempdir().expect("tempdir");
    // name -> build -> the rounds' medians (ns)
    let mut medians: BTreeMap<String, [Vec<f64>; 2]> = BTreeMap::new();
    println!(
        "{bench}: {pairs} alternating rounds, {} against {}; load at the start: {}",
        builds[1].1.display(),
        builds[0].1.display(),
        load()
    );
    for round in 0..pairs {
        // Alternate which build goes first.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for b in order {
            let (label, exe) = &builds[b];
            let home = out.path().join(format!("{label}-{round}"));
            let status = Command::new(exe)
                .args(&args)
                .env(CHILD, "1")
                .env_remove("BATON_BENCH_BASE")
                .env("CRITERION_HOME", &home)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run a round");
            assert!(status.success(), "{} failed: {status}", exe.display());
            for (name, ns) in estimates(&home) {
                medians.entry(name).or_default()[b].push(ns);
            }
        }
        println!("  round {} of {pairs} done (load {})", round + 1, load());
    }
    println!("\nsummary (median of the rounds' criterion medians; ratio = this / base):");
    for (name, [base, this]) in &medians {
        if base.len() != this.len() || base.is_empty() {
            println!("  {name}: not measured by both builds");
            continue;
        }
        let per_round: Vec<String> = this
            .iter()
            .zip(base)
            .map(|(t, b)| format!("{:.2}", t / b))
            .collect();
        let (b, t) = (median(base), median(this));
        println!(
            "  {name}: this {} base {} ratio {:.2} (per round {})",
            show(t),
            show(b),
            t / b,
            per_round.join(" ")
        );
    }
    println!("load at the end: {}", load());
    true
}

/// Each benchmark's median (ns) from one criterion run's output directory.
fn estimates(home: &Path) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(home)
        .into_iter()
        .filter_map(Result::ok)
    {
        let dir = entry.path();
        if !(dir.ends_with("new") && dir.join("estimates.json").is_file()) {
            continue;
        }
        let read = |f: &str| -> Option<serde_json::Value> {
            serde_json::from_str(&std::fs::read_to_string(dir.join(f)).ok()?).ok()
        };
        let (Some(id), Some(est)) = (read("benchmark.json"), read("estimates.json")) else {
            continue;
        };
        let name = id["full_id"].as_str().unwrap_or("?").to_string();
        if let Some(ns) = est["median"]["point_estimate"].as_f64() {
            found.push((name, ns));
        }
    }
    found
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn show(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.3} s", n / 1e9),
        n if n >= 1e6 => format!("{:.3} ms", n / 1e6),
        n => format!("{:.1} µs", n / 1e3),
    }
}
