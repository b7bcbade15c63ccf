//! Slurm executor overhead (issue 13 point 6), against a bare `sbatch` + `squeue` loop on
//! the same cluster in the same run:
//! (a) latency of one trivial step: `baton run --headless` on a one-step workflow vs a
//!     loop that writes a job script, `sbatch`es it and polls `squeue` until the job is
//!     done, then reads its exit-code file;
//! (b) throughput of 100 trivial independent steps vs the same loop submitting 100 jobs
//!     and polling them with one `squeue` per interval.
//! The bare loop polls with baton's own policy (0.5 s, doubling while nothing changes up
//! to the executor's `poll`), so the difference is what baton adds: its process, store,
//! per-attempt files and bookkeeping. Alternating pairs; medians and their ratio.
//!
//!   cargo bench --bench slurm      # as root: it starts tests/slurm/cluster.sh
//!
//! Slurm's commands, baton's and the bare loop's, find the cluster through `SLURM_CONF`
//! (the path the script prints), never /etc/slurm.
//!
//! Not a criterion bench: one sample takes seconds and depends on the cluster's
//! scheduler, so the figure is a median over alternating pairs.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/error.rs"]
mod error;
use error::BenchError;

const BATON: &str = env!("CARGO_BIN_EXE_baton");
const POLL_MIN: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_secs(300);
/// The cluster's configuration, once started: every Slurm command's `SLURM_CONF`.
static CONF: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// `program` with the cluster's `SLURM_CONF` in its environment.
fn slurm(program: &str) -> Command {
    let mut c = Command::new(program);
    if let Some(conf) = CONF.get() {
        c.env("SLURM_CONF", conf);
    }
    c
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The cluster answers (started by `tests/slurm/cluster.sh start`, as root); its
/// configuration noted in [`CONF`].
fn cluster_up() -> Result<(), BenchError> {
    if !have("sbatch") {
        return Err(BenchError::Missing {
            what: "Slurm",
            install: "apt-get install slurmctld slurmd slurm-client munge",
        });
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slurm/cluster.sh");
    let out = Command::new(script)
        .arg("start")
        .output()
        .map_err(BenchError::io("run tests/slurm/cluster.sh"))?;
    let conf = BenchError::checked("tests/slurm/cluster.sh start", out)?;
    let conf = conf.trim().lines().last().unwrap_or("");
    let _ = CONF.set(PathBuf::from(conf));
    Ok(())
}

fn workflow(steps: usize, workdir: &Path) -> String {
    let mut w = format!(
        "name = \"slurm-bench\"\nmax_parallel = {steps}\n\n[executors.cluster]\ntype = \"slurm\"\npoll = \"{}ms\"\nworkdir = \"{}\"\n",
        POLL_MAX.as_millis(),
        workdir.display()
    );
    for i in 0..steps {
        w.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nexecutor = \"cluster\"\nrun = \"true\"\n"
        ));
    }
    w
}

/// One `baton run --headless` to the end; its wall time.
fn baton(dir: &Path, file: &str, sample: usize) -> Duration {
    let db = dir.join(format!("db-{sample}")).join("baton.db");
    let start = Instant::now();
    let status = slurm(BATON)
        .args(["run", file, "--headless", "--db"])
        .arg(&db)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("run baton");
    let took = start.elapsed();
    assert!(status.success(), "baton run failed: {status}");
    took
}

fn run_ok(program: &str, args: &[String]) -> String {
    let out = slurm(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The bare loop: `jobs` scripts written, `sbatch`ed one by one, polled with one `squeue`
/// per interval until every job is in a final state, then every exit-code file read.
fn bare(dir: &Path, jobs: usize) -> Duration {
    // A name per sample: `squeue --states=all` keeps finished jobs listed for a while.
    static SAMPLE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let sample = SAMPLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("bare-{}-{sample}", std::process::id());
    let work = dir.join(&name);
    let start = Instant::now();
    std::fs::create_dir_all(&work).expect("workdir");
    let mut codes: Vec<PathBuf> = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let code = work.join(format!("{i}.exitcode"));
        let script = work.join(format!("{i}.sh"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsh -c true\nrc=$?\necho \"$rc\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\nexit \"$rc\"\n",
                code.display()
            ),
        )
        .expect("script");
        run_ok(
            "sbatch",
            &[
                "--parsable".into(),
                format!("--job-name={name}"),
                format!("--output={}", work.join(format!("{i}.log")).display()),
                format!("--chdir={}", work.display()),
                script.display().to_string(),
            ],
        );
        codes.push(code);
    }
    let mut interval = POLL_MIN;
    let mut last = String::new();
    loop {
        let out = run_ok(
            "squeue",
            &[
                "--noheader".into(),
                format!("--name={name}"),
                "--states=all".into(),
                "--format=%i|%T".into(),
            ],
        );
        let done = out
            .lines()
            .filter(|l| {
                l.ends_with("|COMPLETED") || l.ends_with("|FAILED") || l.ends_with("|CANCELLED")
            })
            .count();
        if done == jobs {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "bare loop: jobs did not finish");
        interval = if out != last {
            POLL_MIN
        } else {
            (interval * 2).clamp(POLL_MIN, POLL_MAX)
        };
        last = out;
        std::thread::sleep(interval);
    }
    for code in &codes {
        // The shared filesystem may lag the scheduler: a bounded wait, as baton does.
        let t = Instant::now();
        while !code.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "no exit code file");
            std::thread::sleep(Duration::from_millis(10));
        }
        let rc = std::fs::read_to_string(code).expect("exit code");
        assert_eq!(rc.trim(), "0");
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / v.len().max(1) as u32
}

fn compare(dir: &Path, label: &str, steps: usize, pairs: usize) {
    let file = format!("w{steps}.toml");
    std::fs::write(dir.join(&file), workflow(steps, &dir.join("work"))).expect("workflow");
    // One warm-up of each: page cache, slurmctld's first-job costs.
    bare(dir, steps);
    baton(dir, &file, 1000 + steps);
    let (mut b, mut l) = (Vec::new(), Vec::new());
    for k in 0..pairs {
        if k % 2 == 0 {
            l.push(bare(dir, steps));
            b.push(baton(dir, &file, k));
        } else {
            b.push(baton(dir, &file, k));
            l.push(bare(dir, steps));
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // Both sides see a job's end only at a poll, so one sample lands on either side of
    // a 0.5 s tick: the mean is the fair figure, the median is shown beside it.
    for (what, fb, fl) in [
        ("mean", mean(&b), mean(&l)),
        ("median", median(b.clone()), median(l.clone())),
    ] {
        println!(
            "{label}, {what}: baton {:.0} ms, bare loop {:.0} ms, ratio {:.3}, added {:+.0} ms ({:+.1} ms per step)",
            ms(fb),
            ms(fl),
            fb.as_secs_f64() / fl.as_secs_f64(),
            ms(fb) - ms(fl),
            (ms(fb) - ms(fl)) / steps as f64
        );
    }
    println!(
        "  baton samples: {:?}\n  bare samples:  {:?}",
        b.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
        l.iter().map(|d| ms(*d).round()).collect::<Vec<_>>()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    if let Err(why) = cluster_up() {
        println!("slurm bench SKIPPED: {why}");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("baton-slurm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    compare(&tmp, "one trivial step (latency)", 1, 20);
    compare(&tmp, "100 trivial steps (throughput)", 100, 9);
    let _ = std::fs::remove_dir_all(&tmp);
}
