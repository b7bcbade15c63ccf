//! A store on another host against a local one, in the same run (issue 59 point 5):
//! (a) a gate opened on the store, from the engine's line saying so to the gate in the
//!     console's Waiting list (`ConsoleLink::waiting`): over `ssh HOST baton link`
//!     (`session::link_client`, the real sshd hosts of tests/ssh/hosts.sh) against the
//!     session's service on a local store, in-process, as `baton tui` has it;
//! (b) an approval sent from the console's link to the gated step's process start (the
//!     step writes its start time, ns), the same two ways;
//! (c) idle CPU of one console over 3 (empty) stores for `IDLE` seconds, the 3 links
//!     joined as `baton tui --store A --store B --store C` joins them (`session::desk`):
//!     this process (the 3 clients, the join, their ssh), plus the 3 `baton link`s on
//!     the hosts, against 3 local services in this process joined the same way; the
//!     terminal's drawing is the same either way and is not counted. The sshd sessions
//!     on the hosts are not counted either.
//! Alternating pairs; medians and their ratios; one `RESULT` line per ratio, with the
//! machine's load average.
//!
//!   cargo bench --bench fleet        # as root (the sshd hosts); skipped with why otherwise
use baton::config::RemoteStore;
use baton::link::{ConsoleLink, ConsoleRequest};
use baton::model::Command as Cmd;
use baton::session::{Service, Stop, link_client};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

#[path = "support/daemons.rs"]
mod daemons;
#[path = "support/error.rs"]
mod error;
use error::BenchError;
#[path = "support/load.rs"]
mod load;

const BATON: &str = env!("CARGO_BIN_EXE_baton");
const PAIRS: usize = 7;
const IDLE: Duration = Duration::from_secs(10);
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() {
    // `cargo test --benches` runs benches without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let hosts = match start_hosts() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // The shared connections' sockets in the bench's own directory.
    // SAFETY: before any thread is started.
    unsafe { std::env::set_var("TMPDIR", dir.path()) };
    let rt = baton::session::runtime().expect("a runtime");
    let (mut gate, mut approve) = (Vec::new(), Vec::new());
    for i in 0..PAIRS {
        for remote in [i % 2 == 0, i % 2 != 0] {
            let store = dir.path().join(format!("s{i}-{remote}.db"));
            let (g, a) = rt.block_on(one(&store, remote.then_some(&hosts), dir.path()));
            gate.push((remote, g));
            approve.push((remote, a));
        }
    }
    report("gate shown in the console", &gate);
    report("approval to the step's start", &approve);
    let local = rt.block_on(idle(dir.path(), None));
    let remote = rt.block_on(idle(dir.path(), Some(&hosts)));
    println!(
        "idle CPU over 3 stores for {}s: remote {:.2}% of a core, local {:.2}%",
        IDLE.as_secs(),
        remote * 100.0,
        local * 100.0
    );
    println!(
        "RESULT fleet idle_cpu_3_stores remote={:.4} local={:.4} load={}",
        remote,
        local,
        load::load()
    );
    // The links' processes and the shared connections of the bench's directory end
    // with it.
    let me = std::process::id();
    for pid in ours(dir.path()).into_iter().filter(|p| *p != me) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// The sshd hosts' ssh config: `tests/ssh/hosts.sh start PID`, stopped when this
/// process exits.
fn start_hosts() -> Result<PathBuf, BenchError> {
    let config = daemons::start("ssh/hosts.sh")?;
    if config.is_empty() {
        return Err(BenchError::Unread {
            what: "tests/ssh/hosts.sh gave no ssh config",
            seen: config,
        });
    }
    Ok(PathBuf::from(config))
}

fn remote_store(hosts: &Path, host: &str, db: &Path) -> RemoteStore {
    RemoteStore {
        host: host.into(),
        db: Some(db.display().to_string()),
        program: BATON.into(),
        ssh_config: Some(hosts.to_path_buf()),
    }
}

/// The console's link to `db`: over ssh (`hosts`) or the local service.
async fn link(
    db: &Path,
    hosts: Option<&Path>,
    host: &str,
) -> (ConsoleLink, Option<oneshot::Sender<Stop>>) {
    match hosts {
        Some(h) => {
            let l = link_client::connect("bench", &remote_store(h, host, db), VERSION, false)
                .await
                .expect("the remote link");
            (l, None)
        }
        None => {
            let (service, l) = Service::new(db, "root", Vec::new()).expect("a service");
            let (tx, rx) = oneshot::channel();
            tokio::spawn(service.serve(rx));
            (l, Some(tx))
        }
    }
}

/// One gate on a fresh store: (a) and (b), in ms.
async fn one(db: &Path, hosts: Option<&PathBuf>, dir: &Path) -> (f64, f64) {
    let init = Command::new(BATON)
        .args(["store", "init", "--db"])
        .arg(db)
        .output();
    assert!(init.is_ok_and(|o| o.status.success()), "store init");
    let (link, stop) = link(db, hosts.map(PathBuf::as_path), "baton-h2").await;
    let mark = db.with_extension("started");
    let wf = db.with_extension("toml");
    std::fs::write(
        &wf,
        format!(
            "name = \"bench\"\n[[step]]\nid = \"deploy\"\nrun = 'date +%s%N > {}'\ngate = {{ prompt = \"go?\" }}\n",
            mark.display()
        ),
    )
    .expect("the workflow");
    let mut engine = tokio::process::Command::new(BATON)
        .args(["run", "--headless", "--db"])
        .arg(db)
        .arg(&wf)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the engine");
    let mut lines = {
        use tokio::io::AsyncBufReadExt;
        tokio::io::BufReader::new(engine.stdout.take().expect("its stdout")).lines()
    };
    while let Ok(Some(l)) = lines.next_line().await {
        if l.contains("deploy gate:") {
            break;
        }
    }
    let opened = Instant::now();
    let mut waiting = link.waiting.clone();
    let run = loop {
        if let Some(w) = waiting.borrow_and_update().first() {
            break w.run_id.clone();
        }
        waiting.changed().await.expect("the link");
    };
    let shown = opened.elapsed();
    let (tx, rx) = oneshot::channel();
    let sent = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    link.requests
        .send(ConsoleRequest::Command {
            run_id: Some(run),
            command: Cmd::Approve {
                step: "deploy".into(),
                operator: "root".into(),
                reason: Some("bench".into()),
                signature: None,
                inputs: Default::default(),
            },
            reply: tx,
        })
        .await
        .expect("the request");
    let _ = rx.await;
    let started = loop {
        if let Some(ns) = std::fs::read_to_string(&mark)
            .ok()
            .and_then(|s| s.trim().parse::<u128>().ok())
        {
            break ns;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let _ = engine.wait().await;
    if let Some(stop) = stop {
        let _ = stop.send(Stop {
            signal: None,
            detach: false,
            cancel: false,
        });
    }
    drop(link);
    (
        shown.as_secs_f64() * 1000.0,
        started.saturating_sub(sent) as f64 / 1e6,
    )
}

/// CPU seconds of a process so far (utime + stime).
fn cpu(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some(rest) = s.rfind(')').map(|i| &s[i + 2..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|u| u.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// The processes whose command line or environment mention `dir`, and this one, with
/// its children.
fn ours(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let me = std::process::id();
    let mut out = vec![me];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let read = |f: &str| std::fs::read(format!("/proc/{pid}/{f}")).unwrap_or_default();
        let mentions = |b: Vec<u8>| String::from_utf8_lossy(&b).contains(&needle);
        if mentions(read("cmdline")) || mentions(read("environ")) {
            out.push(pid);
        }
    }
    out
}

/// (c): idle CPU (cores) of links to 3 stores (new, empty).
async fn idle(dir: &Path, hosts: Option<&PathBuf>) -> f64 {
    let (mut members, mut stops) = (Vec::new(), Vec::new());
    for (i, host) in ["baton-h2", "baton-h3", "baton-h2"].iter().enumerate() {
        let db = dir.join(format!("idle{i}-{}.db", hosts.is_some()));
        let init = Command::new(BATON)
            .args(["store", "init", "--db"])
            .arg(&db)
            .output();
        assert!(init.is_ok_and(|o| o.status.success()), "store init");
        let (l, stop) = link(&db, hosts.map(PathBuf::as_path), host).await;
        members.push(l);
        stops.push(stop);
    }
    // One console over the three, as `baton tui --store A --store B --store C` joins
    // them (`session::desk`), its values watched as the console watches them.
    let mut desk = baton::session::desk::join(members);
    let watching = tokio::spawn(async move {
        loop {
            tokio::select! {
                r = desk.runs.changed() => if r.is_err() { break },
                r = desk.waiting.changed() => if r.is_err() { break },
                r = desk.view.changed() => if r.is_err() { break },
                r = desk.desk.changed() => if r.is_err() { break },
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let procs = ours(dir);
    let before: f64 = procs.iter().map(|p| cpu(*p)).sum();
    let t = Instant::now();
    tokio::time::sleep(IDLE).await;
    let used: f64 = procs.iter().map(|p| cpu(*p)).sum::<f64>() - before;
    watching.abort();
    for s in stops.into_iter().flatten() {
        let _ = s.send(Stop {
            signal: None,
            detach: false,
            cancel: false,
        });
    }
    used / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report(what: &str, pairs: &[(bool, f64)]) {
    let side = |r: bool| median(pairs.iter().filter(|p| p.0 == r).map(|p| p.1).collect());
    let (remote, local) = (side(true), side(false));
    println!(
        "{what}: remote {remote:.1} ms, local {local:.1} ms (medians of {PAIRS}), ratio {:.2}",
        remote / local
    );
    println!(
        "RESULT fleet {} remote_ms={remote:.1} local_ms={local:.1} ratio={:.2} load={}",
        what.replace(' ', "_"),
        remote / local,
        load::load()
    );
}
