//! Services (`service = true`) with real processes and real probes: a python3 HTTP
//! server and python3 TCP listeners on free loopback ports, a `run` probe; readiness
//! before dependants, the whole group stopped after them, a readiness timeout, a
//! liveness failure that restarts, and a crash then resume that starts the service
//! again before its dependant runs again.
use crate::helpers::*;
use baton::workflow::{ProbeCheck, load_str};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn with_port(text: &str, port: u16) -> String {
    text.replace("PORT", &port.to_string())
}

fn run_headless(env: &Env, wf: &str) -> (i32, String, String) {
    let child = env.spawn(&["run", wf, "--headless"]);
    let out = wait_child(child, 90);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// The position of the first line containing `needle`.
fn line_of(stdout: &str, needle: &str) -> usize {
    stdout
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stdout}"))
}

fn pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn errors_of<'a>(show: &'a Value, step: &str) -> Vec<&'a Value> {
    show["errors"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["step"] == step).collect())
        .unwrap_or_default()
}

const HTTP: &str = r#"
name = "svc-http"

[[step]]
id = "web"
service = true
run = "python3 -m http.server PORT --bind 127.0.0.1"
ready = { http = "http://127.0.0.1:PORT/", interval = "100ms", timeout = "20s" }
live = { http = "http://127.0.0.1:PORT/marker.txt", interval = "200ms", failures = 3 }

[[step]]
id = "fetch"
needs = ["web"]
run = '''sleep 1; python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:PORT/marker.txt").read().decode().strip())' > fetched.txt'''
"#;

#[test]
fn an_http_service_is_ready_before_its_dependant_and_stopped_after_it() {
    let env = Env::new();
    let port = free_port();
    std::fs::write(env.path().join("marker.txt"), "served by the service\n").unwrap();
    env.workflow("http.toml", &with_port(HTTP, port));
    let (code, stdout, stderr) = run_headless(&env, "http.toml");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let fetched = std::fs::read_to_string(env.path().join("fetched.txt")).unwrap();
    assert_eq!(fetched.trim(), "served by the service");

    // Ready (a new state, on its own line) before the dependant ran; stopped after.
    let ready = line_of(&stdout, "web ready: http http://127.0.0.1");
    assert!(stdout.lines().nth(ready).unwrap().contains("got HTTP 200"));
    assert!(ready < line_of(&stdout, "fetch running"));
    let stopping = line_of(&stdout, "web stopping: no step needs it any more");
    assert!(line_of(&stdout, "fetch succeeded") < stopping);
    assert!(stopping < line_of(&stdout, "web succeeded: stopped by baton"));

    let show = env.show(&run_id_of(&stdout));
    assert_eq!(step_field(&show, "web", "state"), "succeeded");
    assert_eq!(step_field(&show, "fetch", "state"), "succeeded");
    // The liveness probe checked while `fetch` ran, and passed.
    let probe = step_field(&show, "web", "probe");
    assert_eq!(probe["probe"], "live", "{probe}");
    assert_eq!(probe["ok"], true);
    assert_eq!(probe["detail"], "HTTP 200 OK");
    assert_eq!(
        probe["check"],
        format!("http http://127.0.0.1:{port}/marker.txt")
    );
    assert!(show["errors"].as_array().unwrap().is_empty(), "{show:#}");
    // The server is gone with the run.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

const TCP: &str = r#"
name = "svc-tcp"

[[step]]
id = "db"
service = true
run = '''python3 -c '
import socket, time
time.sleep(1.0)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", PORT))
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(c.recv(64).upper())
    c.close()
' '''
ready = { tcp = "127.0.0.1:PORT", interval = "100ms", timeout = "20s" }

[[step]]
id = "client"
needs = ["db"]
run = '''python3 -c '
import socket
c = socket.create_connection(("127.0.0.1", PORT), 2)
c.sendall(b"hello")
print(c.recv(64).decode())
' > reply.txt'''
"#;

#[test]
fn a_tcp_service_that_listens_late_is_waited_for() {
    let env = Env::new();
    let port = free_port();
    env.workflow("tcp.toml", &with_port(TCP, port));
    let (code, stdout, stderr) = run_headless(&env, "tcp.toml");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(env.path().join("reply.txt"))
            .unwrap()
            .trim(),
        "HELLO"
    );
    // It was not ready at first: the failed check is on record, once.
    let refused = format!("db ready probe failed: tcp 127.0.0.1:{port} got connection refused");
    assert_eq!(stdout.matches(&refused).count(), 1, "{stdout}");
    assert!(line_of(&stdout, &refused) < line_of(&stdout, "db ready: tcp"));
    assert!(line_of(&stdout, "db ready: tcp") < line_of(&stdout, "client running"));
    let show = env.show(&run_id_of(&stdout));
    assert_eq!(step_field(&show, "db", "probe")["detail"], "connected");
}

const NEVER_READY: &str = r#"
name = "svc-timeout"

[[step]]
id = "svc"
service = true
run = 'echo $$ > svc.pid; sleep 60 & echo $! > child.pid; wait'
ready = { tcp = "127.0.0.1:PORT", interval = "100ms", timeout = "1s" }

[[step]]
id = "use"
needs = ["svc"]
run = "touch used"
"#;

#[test]
fn a_readiness_timeout_fails_the_service_and_stops_its_whole_group() {
    let env = Env::new();
    let port = free_port();
    env.workflow("never.toml", &with_port(NEVER_READY, port));
    let (code, stdout, stderr) = run_headless(&env, "never.toml");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(!env.path().join("used").exists(), "the dependant never ran");
    let show = env.show(&run_id_of(&stdout));
    assert_eq!(step_field(&show, "svc", "state"), "failed");
    assert_eq!(step_field(&show, "use", "state"), "upstream_failed");
    let errors = errors_of(&show, "svc");
    let e = errors
        .iter()
        .find(|e| e["kind"] == "probe_failed")
        .unwrap_or_else(|| panic!("{show:#}"));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("not ready within 1.0s: readiness probe tcp 127.0.0.1:"),
        "{e}"
    );
    assert_eq!(e["context"]["probe"], "ready");
    assert_eq!(e["context"]["got"], "connection refused");
    assert_eq!(
        e["context"]["check"],
        format!("tcp 127.0.0.1:{port}").as_str()
    );
    // The shell and the sleep it started went with the group.
    for file in ["svc.pid", "child.pid"] {
        for pid in pids(&env.path().join(file)) {
            wait_until(&format!("{file} {pid} to end"), secs(10), || {
                !process_alive(pid)
            });
        }
    }
}

/// A TCP listener that, on its first start, stops answering after a second but keeps
/// running: only its liveness probe can tell.
const FLAKY_LISTENER: &str = r#"
import os, socket, sys, time
port = int(sys.argv[1])
first = not os.path.exists("starts")
with open("starts", "a") as f:
    f.write("%d\n" % os.getpid())
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen()
s.settimeout(0.05)
stop_at = time.time() + 1.0
while True:
    if first and time.time() > stop_at:
        s.close()
        time.sleep(120)
    try:
        c, _ = s.accept()
        c.close()
    except socket.timeout:
        pass
"#;

const FLAKY: &str = r#"
name = "svc-flaky"

[[step]]
id = "svc"
service = true
run = "python3 listener.py PORT"
ready = { tcp = "127.0.0.1:PORT", interval = "100ms", timeout = "20s" }
live = { tcp = "127.0.0.1:PORT", interval = "200ms", failures = 2 }
restart = { attempts = 1, delay = "200ms" }

[[step]]
id = "work"
needs = ["svc"]
# Waits (bounded) until the service was started a second time.
run = 'for i in $(seq 200); do [ "$(wc -l < starts)" -ge 2 ] && exit 0; sleep 0.1; done; exit 1'
"#;

#[test]
fn a_failing_liveness_probe_restarts_the_service() {
    let env = Env::new();
    let port = free_port();
    std::fs::write(env.path().join("listener.py"), FLAKY_LISTENER).unwrap();
    env.workflow("flaky.toml", &with_port(FLAKY, port));
    let (code, stdout, stderr) = run_headless(&env, "flaky.toml");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("svc live probe failed (2 in a row): tcp 127.0.0.1:"),
        "{stdout}"
    );
    let show = env.show(&run_id_of(&stdout));
    assert_eq!(step_field(&show, "svc", "state"), "succeeded");
    assert_eq!(step_field(&show, "svc", "attempts"), 2);
    assert_eq!(step_field(&show, "work", "attempts"), 1, "it ran through");
    let errors = errors_of(&show, "svc");
    let e = errors
        .iter()
        .find(|e| e["kind"] == "probe_failed")
        .unwrap_or_else(|| panic!("{show:#}"));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("liveness probe failed 2 times in a row: tcp 127.0.0.1:")
    );
    assert_eq!(e["context"]["failures"], "2");
    assert_eq!(e["open"], false, "closed once the service succeeded");
    // The first process, which had stopped answering, was stopped.
    for pid in pids(&env.path().join("starts")) {
        wait_until(&format!("listener {pid} to end"), secs(10), || {
            !process_alive(pid)
        });
    }
}

const RUN_PROBE: &str = r#"
name = "svc-run-probe"

[[step]]
id = "svc"
service = true
run = "sleep 0.5; touch up.flag; exec sleep 60"
ready = { run = "test -f up.flag", interval = "100ms", timeout = "20s" }

[[step]]
id = "check"
needs = ["svc"]
run = "test -f up.flag"
"#;

#[test]
fn a_run_probe_is_a_command_that_exits_zero() {
    let env = Env::new();
    env.workflow("run.toml", RUN_PROBE);
    let (code, stdout, stderr) = run_headless(&env, "run.toml");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("svc ready probe failed: run test -f up.flag got exit 1"),
        "{stdout}"
    );
    assert!(stdout.contains("svc ready: run test -f up.flag got exit 0"));
}

const RESUMED: &str = r#"
name = "svc-resume"

[[step]]
id = "web"
service = true
run = "echo $$ >> web.pids; exec python3 -m http.server PORT --bind 127.0.0.1"
ready = { http = "http://127.0.0.1:PORT/", interval = "100ms", timeout = "20s" }

[[step]]
id = "client"
needs = ["web"]
run = 'for i in $(seq 600); do [ -f go ] && exec python3 -c "import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:PORT/\")"; sleep 0.1; done; exit 1'
"#;

#[test]
fn resume_after_a_crash_starts_the_service_again_before_its_dependant() {
    let env = Env::new();
    let port = free_port();
    env.workflow("resume.toml", &with_port(RESUMED, port));
    let mut engine = env.spawn(&["run", "resume.toml", "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "client", "running", 30);
    assert_eq!(step_field(&env.show(&run), "web", "state"), "ready");
    // The engine dies without a word: its service and dependant outlive it.
    engine.kill().unwrap();
    let _ = engine.wait();
    let first = pids(&env.path().join("web.pids"));
    assert_eq!(first.len(), 1);

    let resumed = env.spawn(&["resume", &run, "--headless"]);
    wait_until("the service to be started again", secs(30), || {
        pids(&env.path().join("web.pids")).len() == 2
    });
    wait_until("client's second attempt", secs(30), || {
        let show = env.show(&run);
        step_field(&show, "client", "attempts") == 2
            && step_field(&show, "client", "state") == "running"
    });
    // The old server went before the new one could listen on its port.
    assert!(!process_alive(first[0]));
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = wait_child(resumed, 60);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let waits = line_of(
        &stdout,
        "client pending: resumed: waits for `web` to be ready",
    );
    let ready = line_of(&stdout, "web ready (attempt 2): http");
    assert!(waits < ready && ready < line_of(&stdout, "client running"));
    let show = env.show(&run);
    assert_eq!(step_field(&show, "web", "state"), "succeeded");
    assert_eq!(step_field(&show, "web", "attempts"), 2);
    assert_eq!(step_field(&show, "client", "state"), "succeeded");
}

#[test]
fn the_services_example_runs_with_python3_alone() {
    let env = Env::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/services.toml");
    std::fs::copy(&example, env.path().join("services.toml")).unwrap();
    let (code, stdout, stderr) = run_headless(&env, "services.toml");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("web ready: http http://127.0.0.1:8765/ got HTTP 200"));
    assert!(stdout.contains("echo ready: tcp 127.0.0.1:8766 got connected"));
    let show = env.show(&run_id_of(&stdout));
    for s in ["site", "web", "echo", "fetch", "ping", "report"] {
        assert_eq!(step_field(&show, s, "state"), "succeeded", "{s}");
    }
}

#[test]
fn a_service_loads_with_its_defaults() {
    let plan = load_str(
        r#"
name = "defaults"
[defaults]
timeout = "5m"
retry = { attempts = 4 }
cache = true

[[step]]
id = "db"
service = true
run = "postgres"
ready = { tcp = "localhost:5432" }
live = { http = "http://[::1]:8080/health" }
restart = { attempts = 2 }

[[step]]
id = "app"
needs = ["db"]
run = "./app"
"#,
        Path::new("/w/defaults.toml"),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let db = &plan.steps[0];
    let spec = db.service.as_ref().expect("a service");
    let ready = spec.ready.as_ref().unwrap();
    assert!(
        matches!(&ready.check, ProbeCheck::Tcp { addr, .. } if addr.to_string() == "127.0.0.1:5432")
    );
    assert_eq!(
        (ready.interval, ready.timeout),
        (Duration::from_secs(1), Duration::from_secs(60))
    );
    let live = spec.live.as_ref().unwrap();
    assert_eq!((live.interval, live.failures), (Duration::from_secs(10), 3));
    assert!(
        matches!(&live.check, ProbeCheck::Http { host, path, .. } if host == "[::1]:8080" && path == "/health")
    );
    // `restart` is its retry; `[defaults]` timeout, retry and cache are for steps that end.
    assert_eq!(db.retry.attempts, 3);
    assert_eq!(db.timeout, None);
    assert!(db.cache.is_none());
    let app = &plan.steps[1];
    assert_eq!(app.retry.attempts, 4);
    assert!(app.cache.is_some() && app.service.is_none());
}
