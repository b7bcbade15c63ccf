//! Artifacts between two SSH hosts (issue 60 point 3): `baton run --headless` of two
//! steps, the first on `baton-h2` keeping a file as an artifact (read back over the
//! host's shared connection, hashed, written into the store, synced, renamed), the
//! second on `baton-h3` handed it (sent ahead into its working directory over that
//! host's shared connection as the bytes come back, hashed there, renamed, and held as
//! it is when the reader starts: `engine::send_ahead`), against a plain `scp` of the same file
//! over the same connections, the same two hops (host → this machine → host, as baton
//! routes every artifact through its store), alternately, in pairs. The connections
//! are warmed before the pairs (baton's own control sockets, which `scp` reuses). And
//! the engine's peak memory (max RSS from `wait4`) for a small and a large file.
//!
//!   cargo bench --bench artifacts_ssh   (as root: tests/ssh/hosts.sh starts the hosts;
//!                                        BATON_ARTIFACT_MIB=1024 by default; 3 pairs)
//!
//! The figures go to docs/performance/artifacts.md between its markers, every run.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/daemons.rs"]
mod daemons;
#[path = "support/error.rs"]
mod error;
#[path = "support/peak.rs"]
#[allow(dead_code)]
mod peak;

const BEGIN: &str = "<!-- benches/artifacts_ssh.rs writes from here -->";
const END: &str = "<!-- to here (ssh) -->";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mib: u64 = env_or("BATON_ARTIFACT_MIB", 1024);
    let pairs: usize = env_or("BATON_BENCH_PAIRS", 3);
    let config = match start_hosts() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let work = dir.path();
    // Short: a control socket's path must fit a Unix socket's 108 bytes.
    let tmp = tempfile::tempdir().expect("tmp");
    let b = Bench::new(work, &config, tmp.path());
    std::fs::create_dir_all(work.join("h2/out")).expect("mkdir");
    std::fs::create_dir_all(work.join("h3")).expect("mkdir");
    let file = work.join("h2/out/data.bin");
    sh(&format!("head -c {mib}M /dev/urandom > {}", file.display()));
    // Warm: the shared connections exist before the first pair.
    let (code, _) = b.baton_peak();
    assert_eq!(code, 0, "the warm-up run failed");
    b.clear();
    println!("artifact: {mib} MiB of random bytes; {pairs} alternating pairs");
    let mut times = Vec::new();
    for round in 0..pairs {
        let load = load();
        let (t, s) = if round % 2 == 0 {
            let s = b.scp(&file);
            (b.baton(), s)
        } else {
            let t = b.baton();
            (t, b.scp(&file))
        };
        println!(
            "round {round} (load {load}): baton {t:.2} s, scp {:.2} s + {:.2} s, ratio (scp / baton) {:.2}",
            s.0,
            s.1,
            (s.0 + s.1) / t
        );
        times.push(Round {
            baton: t,
            scp: s,
            load,
        });
    }
    sh(&format!("head -c 16M /dev/urandom > {}", file.display()));
    let small = b.peak();
    sh(&format!("head -c {mib}M /dev/urandom > {}", file.display()));
    let large = b.peak();
    println!("peak RSS of the engine: {small:.1} MiB with 16 MiB, {large:.1} MiB with {mib} MiB");
    b.close();
    record(mib, &times, (small, large));
}

/// One pair: baton's seconds, the two `scp`s' seconds, and the machine's load average
/// (1 minute) as it started.
struct Round {
    baton: f64,
    scp: (f64, f64),
    load: String,
}

/// The 1-minute load average (`/proc/loadavg`), as the pair starts: the machine is
/// shared, and a figure means little without it.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Each command starts with nothing of the one before pending on the disk: the files
/// it removed freed and (on a file system mounted `discard`, as this project's
/// machines are) trimmed. Untimed. Without it the next `fsync` (baton's first commit;
/// `scp` never syncs) waits for the previous command's 2 GiB to be trimmed: measured
/// at 1.2 s of a `baton run`.
fn settle() {
    let _ = Command::new("sync").status();
}

/// tests/ssh/hosts.sh, for this process: the hosts stop once it has exited.
fn start_hosts() -> Result<String, error::BenchError> {
    daemons::start("ssh/hosts.sh")
}

struct Bench {
    work: PathBuf,
    config: String,
    /// The bench's own `TMPDIR`: baton's control sockets, which `scp` reuses.
    tmp: PathBuf,
}

impl Bench {
    fn new(work: &Path, config: &str, tmp: &Path) -> Bench {
        let ex = |name: &str, host: &str| {
            format!(
                "[executors.{name}]\ntype = \"ssh\"\nhost = \"{host}\"\nssh_config = \"{config}\"\nworkdir = \"{}\"\n",
                work.join("remote").display()
            )
        };
        let wf = format!(
            "name = \"artifacts-ssh-bench\"\n{}{}\n[[step]]\nid = \"make\"\nexecutor = \"h2\"\ndir = \"h2\"\nrun = \"true\"\nartifacts = {{ data = \"out/data.bin\" }}\n\n[[step]]\nid = \"read\"\nexecutor = \"h3\"\ndir = \"h3\"\nneeds = [\"make\"]\nuses_artifacts = [\"make.data\"]\nrun = \"true\"\n",
            ex("h2", "baton-h2"),
            ex("h3", "baton-h3")
        );
        std::fs::write(work.join("wf.toml"), wf).expect("write");
        Bench {
            work: work.to_path_buf(),
            config: config.to_string(),
            tmp: tmp.to_path_buf(),
        }
    }

    /// `baton run --headless`: its exit code and max RSS in MiB (`wait4`).
    // The child is reaped by wait4, which also gives its rusage; `Child::wait` cannot.
    #[allow(clippy::zombie_processes)]
    fn baton_peak(&self) -> (i32, f64) {
        let child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["run", "wf.toml", "--headless"])
            .current_dir(&self.work)
            .env("BATON_DB", self.work.join("bench.db"))
            .env("TMPDIR", &self.tmp)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run baton");
        let (code, mib) = peak::reap(&child);
        if code != 0 {
            // Its headless lines say why (a few lines: the pipe held them).
            let mut said = String::new();
            if let Some(mut out) = child.stdout {
                let _ = std::io::Read::read_to_string(&mut out, &mut said);
            }
            println!("baton run failed:\n{said}");
        }
        (code, mib)
    }

    fn baton(&self) -> f64 {
        let t = Instant::now();
        let (code, _) = self.baton_peak();
        assert_eq!(code, 0, "the run failed");
        let s = t.elapsed().as_secs_f64();
        self.clear();
        s
    }

    fn peak(&self) -> f64 {
        let (code, peak) = self.baton_peak();
        assert_eq!(code, 0, "the run failed");
        self.clear();
        peak
    }

    /// The control socket options baton's `ssh` uses (`exec::ssh`), for `scp`.
    fn ssh_opts(&self) -> Vec<String> {
        let uid = unsafe { libc::getuid() };
        vec![
            "-F".into(),
            self.config.clone(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPath={}/baton-ssh-{uid}/%C", self.tmp.display()),
            "-o".into(),
            "ControlPersist=120".into(),
        ]
    }

    /// Two `scp`: host h2 → here, here → host h3; each hop's seconds.
    fn scp(&self, file: &Path) -> (f64, f64) {
        let here = self.work.join("scp.bin");
        let there = self.work.join("h3/scp.bin");
        let hop = |from: String, to: String| {
            let t = Instant::now();
            let ok = Command::new("scp")
                .args(self.ssh_opts())
                .args(["-q", &from, &to])
                .status()
                .expect("scp")
                .success();
            assert!(ok, "scp {from} {to} failed");
            t.elapsed().as_secs_f64()
        };
        let a = hop(
            format!("baton-h2:{}", file.display()),
            here.display().to_string(),
        );
        let b = hop(
            here.display().to_string(),
            format!("baton-h3:{}", there.display()),
        );
        let _ = std::fs::remove_file(&here);
        let _ = std::fs::remove_file(&there);
        settle();
        (a, b)
    }

    /// A fresh store and no handed copy on h3 for the next run.
    fn clear(&self) {
        let _ = std::fs::remove_dir_all(self.work.join("artifacts"));
        let _ = std::fs::remove_dir_all(self.work.join("h3/.baton-artifacts"));
        let _ = std::fs::remove_dir_all(self.work.join("remote"));
        for f in ["bench.db", "bench.db-wal", "bench.db-shm"] {
            let _ = std::fs::remove_file(self.work.join(f));
        }
        settle();
    }

    /// The shared connections end with the bench.
    fn close(&self) {
        for host in ["baton-h2", "baton-h3"] {
            let _ = Command::new("ssh")
                .args(self.ssh_opts())
                .args(["-O", "exit", host])
                .stderr(Stdio::null())
                .status();
        }
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

fn record(mib: u64, times: &[Round], (small, large): (f64, f64)) {
    let mut t = format!(
        "| round | load (1 min) | `baton run` (h2 → store and h3, {mib} MiB) | `scp` h2 → here | `scp` here → h3 | ratio (scp / baton) |\n|---|---|---|---|---|---|\n"
    );
    let mut ratios = Vec::new();
    for (n, r) in times.iter().enumerate() {
        let (b, (x, y)) = (r.baton, r.scp);
        let ratio = (x + y) / b;
        ratios.push(ratio);
        t.push_str(&format!(
            "| {n} | {} | {b:.2} s | {x:.2} s | {y:.2} s | {ratio:.2} |\n",
            r.load
        ));
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    t.push_str(&format!(
        "\nMedian ratio: **{median:.2}** (0.8 or more wanted).\n\nPeak RSS of `baton run --headless`: {small:.1} MiB moving 16 MiB, {large:.1} MiB moving {mib} MiB."
    ));
    peak::record("performance/artifacts.md", BEGIN, END, &t);
}
