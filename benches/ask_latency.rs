//! `baton ask` latency through the real binaries (issue 44 point 6): an asker runs as
//! another OS account (`nobody`, on a group store: nobody approves their own ask), a
//! `baton tui` (in tmux, on its Waiting tab) runs as this one.
//!
//! - ask → console: from starting `baton ask` to the console's screen showing its
//!   prompt (tmux `capture-pane` polled every 2 ms; each capture costs ~1 ms of that);
//! - decision → exit: from the answer's call (`session::ask::answer`, in this
//!   process: the commit and the wake-up) to the asker's exit, with the asker woken
//!   through its socket (the default) and, as the baseline in the same run, polling
//!   only (`BATON_NO_WAKE`).
//!
//!   cargo bench --bench ask_latency        (as root: it runs the asker as nobody)
//!
//! Targets: ask → console under 200 ms; decision → exit under 50 ms median.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/error.rs"]
mod error;
use error::BenchError;

const SAMPLES: usize = 20;
const BATON: &str = env!("CARGO_BIN_EXE_baton");

fn sh(cmd: &mut Command) -> Result<String, BenchError> {
    let out = cmd
        .output()
        .map_err(BenchError::io(format!("run {cmd:?}")))?;
    BenchError::checked(&format!("{cmd:?}"), out)
}

fn screen(session: &str) -> String {
    sh(Command::new("tmux").args(["capture-pane", "-p", "-t", session])).unwrap_or_default()
}

fn spawn_asker(db: &Path, prompt: &str, wake: bool) -> Result<Child, BenchError> {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BATON])
        .args(["ask", "--prompt", prompt, "--timeout", "60s"])
        .env("BATON_DB", db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !wake {
        c.env("BATON_NO_WAKE", "1");
    }
    c.spawn()
        .map_err(BenchError::io("start baton ask as nobody"))
}

/// The open ask's id once the store has it.
fn ask_id(store: &baton::store::Store, deadline: Instant) -> Result<String, BenchError> {
    loop {
        if let Some(a) = store.open_asks()?.pop() {
            return Ok(a.id);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Late {
                what: "the ask did not reach the store".into(),
                secs: 10,
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One sample: (ask → console, decision → exit) in milliseconds.
fn once(db: &Path, session: &str, n: usize, wake: bool) -> Result<(f64, f64), BenchError> {
    let prompt = format!("bench ask {n} {wake}");
    let t0 = Instant::now();
    let mut asker = spawn_asker(db, &prompt, wake)?;
    let deadline = t0 + Duration::from_secs(10);
    let shown = loop {
        if screen(session).contains(&prompt) {
            break t0.elapsed();
        }
        if Instant::now() > deadline {
            return Err(BenchError::Late {
                what: format!("the console did not show `{prompt}`"),
                secs: 10,
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut store = baton::store::Store::open(db)?;
    let id = ask_id(&store, deadline)?;
    let me = baton::session::os_account()?;
    let approve = baton::model::Command::Approve {
        step: id.clone(),
        operator: me,
        reason: Some("bench".into()),
        signature: None,
        inputs: Default::default(),
    };
    let t1 = Instant::now();
    baton::session::ask::answer(&mut store, &id, &approve)?;
    let status = asker.wait().map_err(BenchError::io("wait for baton ask"))?;
    let exit = t1.elapsed();
    if !status.success() {
        return Err(BenchError::Failed {
            command: "baton ask".into(),
            said: format!("it exited {status}"),
        });
    }
    Ok((shown.as_secs_f64() * 1e3, exit.as_secs_f64() * 1e3))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (quantile(&v, 0.5), quantile(&v, 0.95))
}

fn setup(dir: &Path) -> Result<std::path::PathBuf, BenchError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
        .map_err(BenchError::io("open the temporary directory to nobody"))?;
    let db = dir.join("state").join("baton.db");
    sh(Command::new(BATON)
        .args(["store", "init", "--group", "nogroup", "--db"])
        .arg(&db))?;
    Ok(db)
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "ask_latency: run as root (the asker runs as nobody: nobody approves their own ask)"
        );
        std::process::exit(1);
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot make a temp dir: {e}");
            std::process::exit(1);
        }
    };
    let db = match setup(dir.path()) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("ask_latency: {e}");
            std::process::exit(1);
        }
    };
    let session = format!("ask-bench-{}", std::process::id());
    let tui = format!("BATON_DB='{}' '{BATON}' tui", db.display());
    let started = sh(Command::new("tmux").args([
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "40",
        "-s",
        &session,
        &tui,
    ]));
    let result = started.and_then(|_| {
        let ready = Instant::now() + Duration::from_secs(10);
        while !screen(&session).contains("6 Waiting") {
            if Instant::now() > ready {
                return Err(BenchError::Late {
                    what: "the console did not draw its Waiting tab".into(),
                    secs: 10,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        sh(Command::new("tmux").args(["send-keys", "-t", &session, "6"]))?;
        let mut rows = Vec::new();
        for wake in [true, false] {
            let mut shown = Vec::new();
            let mut exit = Vec::new();
            for n in 0..SAMPLES {
                let (s, e) = once(&db, &session, n, wake)?;
                shown.push(s);
                exit.push(e);
            }
            rows.push((wake, stats(shown), stats(exit)));
        }
        Ok(rows)
    });
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    let rows = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ask_latency: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "baton ask, {SAMPLES} samples each, real binaries (asker as nobody, console in tmux):"
    );
    for (wake, (s50, s95), (e50, e95)) in &rows {
        let label = if *wake {
            "woken (socket)"
        } else {
            "polling only"
        };
        println!(
            "  {label:<16} ask → console median {s50:6.1} ms p95 {s95:6.1} ms   decision → exit median {e50:6.1} ms p95 {e95:6.1} ms"
        );
    }
    let (_, (s50, _), (e50, _)) = rows[0];
    let (_, _, (b50, _)) = rows[1];
    println!(
        "  decision → exit, polling / woken: {:.1}x; targets ask → console < 200 ms: {}, decision → exit median < 50 ms: {}",
        b50 / e50.max(0.001),
        if s50 < 200.0 { "met" } else { "NOT met" },
        if e50 < 50.0 { "met" } else { "NOT met" }
    );
}
