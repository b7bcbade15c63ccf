//! Steps elsewhere against their bare commands, in the same run (issue 46 point 5):
//! (a) per-step overhead of the SSH executor over bare `ssh HOST true`: a chain of
//!     `SSH_CHAIN` steps (each needs the one before) on one host, against as many bare
//!     `ssh` calls one after another, both through a shared connection (ControlMaster,
//!     warmed before the pairs: baton's own, and the bare side's);
//! (b) per-step overhead of the batch executor over `qsub -sync y` (a private Grid
//!     Engine cell) and `sbatch --wait` (the Slurm test cluster): a chain of `CHAIN`
//!     steps against `CHAIN` bare submissions of the same job script one after another;
//! (c) 100 short steps (`sleep SPREAD_SLEEP`: time on the host, not CPU here) over two
//!     SSH hosts of one label against the same on one host, each host running
//!     `PER_HOST` steps at once (`max_parallel` = `PER_HOST` × hosts): the two-host run
//!     against half the one-host run.
//! Alternating pairs; means and medians, and their ratios; one `RESULT` line per ratio
//! (the median's), with the load average of the machine.
//!
//!   tests/ssh/hosts.sh start; tests/sge/cell.sh start; tests/slurm/cluster.sh start
//!   cargo bench --bench remote          # (as root; a part whose daemons are missing
//!                                       #  is skipped with the reason)
//!   BATON_BENCH_ONLY=ssh|sge|slurm|spread cargo bench --bench remote
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/daemons.rs"]
mod daemons;
#[path = "support/error.rs"]
mod error;
#[path = "support/load.rs"]
mod load;

const BATON: &str = env!("CARGO_BIN_EXE_baton");
/// Steps in a chain (b).
const CHAIN: usize = 10;
/// Steps in a chain (a): enough that baton's own start (its store, the plan) weighs
/// little per step.
const SSH_CHAIN: usize = 30;
/// Steps (c) runs, how many a host runs at once, and each one's `sleep`. Both hosts are
/// sshds on this machine: each step's login on them costs CPU here (~0.1–0.2 s with a
/// shell that reads an rc file), so a host's slots are few and the step sleeps long
/// enough that the run is bound by the hosts' slots, not by this machine's cores.
const SPREAD_STEPS: usize = 100;
const PER_HOST: usize = 2;
const SPREAD_SLEEP: &str = "0.5";

/// `KEY=VALUE` lines of the SGE cell's environment file.
fn cell_vars(file: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / v.len().max(1) as u32
}

/// One `baton run --headless` of `file` to its end; its wall time.
fn baton(dir: &Path, file: &Path, vars: &[(String, String)]) -> Duration {
    static SAMPLE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SAMPLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let db = dir.join(format!("db-{n}")).join("baton.db");
    let start = Instant::now();
    let out = Command::new(BATON)
        .args(["run"])
        .arg(file)
        .args(["--headless", "--db"])
        .arg(&db)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run baton");
    let took = start.elapsed();
    if !out.status.success() {
        // What went wrong, from the run's own record.
        let show = Command::new(BATON)
            .args(["show", "--db"])
            .arg(&db)
            .arg(
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or(""),
            )
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        panic!(
            "baton run failed: {}\n{}\n{}\n{show}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    took
}

/// `times` runs of a command, one after another; their wall time.
fn bare(program: &str, args: &[String], vars: &[(String, String)], times: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..times {
        let out = Command::new(program)
            .args(args)
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    start.elapsed()
}

/// Alternating pairs of `a` (baton) and `b` (the baseline): prints means, medians and
/// ratios per step.
fn compare(
    label: &str,
    per: usize,
    pairs: usize,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) {
    // One warm-up each: page cache, connections, the scheduler's first job.
    a();
    b();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for k in 0..pairs {
        if k % 2 == 0 {
            ys.push(b());
            xs.push(a());
        } else {
            xs.push(a());
            ys.push(b());
        }
    }
    for (what, x, y) in [
        ("mean", mean(&xs), mean(&ys)),
        ("median", median(xs.clone()), median(ys.clone())),
    ] {
        println!(
            "{label}, {what} of {pairs} pairs: baton {:.0} ms, bare {:.0} ms, ratio {:.3} ({:+.1} ms per step)",
            ms(x),
            ms(y),
            x.as_secs_f64() / y.as_secs_f64(),
            (ms(x) - ms(y)) / per as f64
        );
    }
    println!(
        "  baton: {:?}\n  bare:  {:?}\n  load: {}",
        xs.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
        ys.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
        load::load()
    );
    let (x, y) = (median(xs), median(ys));
    println!(
        "RESULT {label}: ratio {:.3} (median of {pairs} pairs: baton {:.0} ms, baseline {:.0} ms, {:+.1} ms per step; load {})",
        x.as_secs_f64() / y.as_secs_f64(),
        ms(x),
        ms(y),
        (ms(x) - ms(y)) / per as f64,
        load::load()
    );
}

/// A chain of `n` steps on `executor`, each needing the one before.
fn chain(name: &str, head: &str, n: usize, run: &str) -> String {
    let mut w = format!("name = \"{name}\"\n{head}\n");
    for i in 0..n {
        w.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nexecutor = \"x\"\nrun = '{run}'\n"
        ));
        if i > 0 {
            w.push_str(&format!("needs = [\"s{}\"]\n", i - 1));
        }
    }
    w
}

fn ssh_part(dir: &Path, pairs: usize) {
    let config = match daemons::start("ssh/hosts.sh") {
        Ok(c) => c,
        Err(why) => return println!("ssh SKIPPED: {why}"),
    };
    let head = |host: &str, name: &str| {
        format!(
            "[executors.{name}]\ntype = \"ssh\"\nhost = \"{host}\"\nssh_config = \"{config}\"\nworkdir = \"{}\"\nlabels = [\"gpu\"]\n",
            dir.join("remote").display()
        )
    };
    let wf = dir.join("ssh-chain.toml");
    std::fs::write(
        &wf,
        chain("ssh-chain", &head("baton-h2", "x"), SSH_CHAIN, "true"),
    )
    .unwrap();
    let mux = std::env::temp_dir().join(format!("baton-bench-mux-{}", std::process::id()));
    let shared: Vec<String> = [
        "-F",
        &config,
        "-o",
        "ControlMaster=auto",
        "-o",
        &format!("ControlPath={}-%C", mux.display()),
        "-o",
        "ControlPersist=120",
        "-T",
        "baton-h2",
        "true",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // `compare`'s warm-up run of each side opens its master connection.
    compare(
        &format!(
            "ssh: {SSH_CHAIN} chained `true` steps vs `ssh HOST true`, both over a warm shared connection"
        ),
        SSH_CHAIN,
        pairs,
        || baton(dir, &wf, &[]),
        || bare("ssh", &shared, &[], SSH_CHAIN),
    );
}

fn spread_part(dir: &Path, pairs: usize) {
    let config = match daemons::start("ssh/hosts.sh") {
        Ok(c) => c,
        Err(why) => return println!("spread SKIPPED: {why}"),
    };
    let exec = |host: &str, name: &str| {
        format!(
            "[executors.{name}]\ntype = \"ssh\"\nhost = \"{host}\"\nssh_config = \"{config}\"\nworkdir = \"{}\"\nlabels = [\"gpu\"]\n",
            dir.join("remote").display()
        )
    };
    let steps = |hosts: &[(&str, &str)]| {
        let mut w = format!(
            "name = \"spread\"\nmax_parallel = {}\n",
            PER_HOST * hosts.len()
        );
        for (host, name) in hosts {
            w.push_str(&exec(host, name));
        }
        for i in 0..SPREAD_STEPS {
            w.push_str(&format!(
                "\n[[step]]\nid = \"s{i}\"\nrequires = [\"gpu\"]\nrun = 'sleep {SPREAD_SLEEP}'\n"
            ));
        }
        w
    };
    let one = dir.join("spread-one.toml");
    let two = dir.join("spread-two.toml");
    std::fs::write(&one, steps(&[("baton-h2", "h2")])).unwrap();
    std::fs::write(&two, steps(&[("baton-h2", "h2"), ("baton-h3", "h3")])).unwrap();
    // baton on two hosts against half of baton on one: the one-host run is the baseline.
    compare(
        &format!(
            "spread: {SPREAD_STEPS} `sleep {SPREAD_SLEEP}` steps, {PER_HOST} at once per host: two hosts vs half of one host"
        ),
        SPREAD_STEPS,
        pairs,
        || baton(dir, &two, &[]),
        || baton(dir, &one, &[]) / 2,
    );
}

/// The job script both sides submit: what baton's own script does for `true`.
fn job_script(dir: &Path) -> PathBuf {
    let s = dir.join("bare.sh");
    std::fs::write(
        &s,
        "#!/bin/sh\nd=$(mktemp -d)\nsh -c true\nrc=$?\necho \"$rc\" > \"$d/exitcode\"\nrm -rf \"$d\"\nexit \"$rc\"\n",
    )
    .unwrap();
    s
}

fn sge_part(dir: &Path, pairs: usize) {
    let file = match daemons::start("sge/cell.sh") {
        Ok(f) => f,
        Err(why) => return println!("sge SKIPPED: {why}"),
    };
    let vars = cell_vars(&file);
    let head = format!(
        "[executors.x]\ntype = \"batch\"\nsubmit = [\"qsub\", \"-terse\", \"-N\", \"{{name}}\", \"-o\", \"{{log}}\", \"-j\", \"y\", \"{{script}}\"]\nstatus = [\"sh\", \"-c\", \"qstat | awk -v id=\\\"$1\\\" '$1 == id {{{{ print $5 }}}}'\", \"sh\", \"{{job_id}}\"]\ncancel = [\"qdel\", \"{{job_id}}\"]\npoll = \"1s\"\nworkdir = \"{}\"\n",
        dir.join("sge-jobs").display()
    );
    let wf = dir.join("sge-chain.toml");
    std::fs::write(&wf, chain("sge-chain", &head, CHAIN, "true")).unwrap();
    let s = job_script(dir);
    let args: Vec<String> = vec![
        "-sync".into(),
        "y".into(),
        "-o".into(),
        "/dev/null".into(),
        "-j".into(),
        "y".into(),
        s.display().to_string(),
    ];
    compare(
        &format!("sge: {CHAIN} chained `true` steps vs `qsub -sync y`"),
        CHAIN,
        pairs,
        || baton(dir, &wf, &vars),
        || bare("qsub", &args, &vars, CHAIN),
    );
}

fn slurm_part(dir: &Path, pairs: usize) {
    // Slurm's commands find the cluster through SLURM_CONF, never /etc/slurm.
    let vars = match daemons::start("slurm/cluster.sh") {
        Ok(conf) => vec![("SLURM_CONF".to_string(), conf)],
        Err(why) => return println!("slurm SKIPPED: {why}"),
    };
    let head = format!(
        "[executors.x]\ntype = \"batch\"\nsubmit = [\"sbatch\", \"--parsable\", \"--job-name={{name}}\", \"--output={{log}}\", \"{{script}}\"]\nstatus = [\"squeue\", \"--noheader\", \"--jobs={{job_id}}\", \"--states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED\", \"--format=%T\"]\ncancel = [\"scancel\", \"{{job_id}}\"]\npoll = \"1s\"\nworkdir = \"{}\"\n",
        dir.join("slurm-jobs").display()
    );
    let wf = dir.join("slurm-chain.toml");
    std::fs::write(&wf, chain("slurm-chain", &head, CHAIN, "true")).unwrap();
    let s = job_script(dir);
    let args: Vec<String> = vec![
        "--wait".into(),
        "--output=/dev/null".into(),
        s.display().to_string(),
    ];
    compare(
        &format!("slurm: {CHAIN} chained `true` steps vs `sbatch --wait`"),
        CHAIN,
        pairs,
        || baton(dir, &wf, &vars),
        || bare("sbatch", &args, &vars, CHAIN),
    );
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let only = std::env::var("BATON_BENCH_ONLY").ok();
    let pairs: usize = std::env::var("BATON_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let tmp = std::env::temp_dir().join(format!("baton-remote-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    println!("remote bench; load at the start: {}", load::load());
    type Part = fn(&Path, usize);
    let parts: [(&str, Part); 4] = [
        ("ssh", ssh_part),
        ("sge", sge_part),
        ("slurm", slurm_part),
        ("spread", spread_part),
    ];
    for (name, part) in parts {
        if only.as_deref().is_none_or(|o| o == name) {
            part(&tmp, pairs);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
