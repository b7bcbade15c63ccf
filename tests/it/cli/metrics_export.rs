//! Issue 15: `baton metrics` (checked by Prometheus's own `promtool`), the file and
//! the `/metrics` endpoint of `baton run`, and the golden signals in `show`/`runs --json`.
use crate::helpers::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const OK: &str = r#"
name = "ok"
[[step]]
id = "build"
run = 'echo version=1.2.3 >> "$BATON_OUTPUT"'
[[step]]
id = "test"
needs = ["build"]
run = "true"
"#;

/// `flaky` fails its first attempt and passes its second; `broken` always fails.
const FLAKY: &str = r#"
name = "flaky"
[[step]]
id = "prepare"
run = "true"
[[step]]
id = "flaky"
needs = ["prepare"]
run = 'test "$BATON_ATTEMPT" -ge 2'
retry = { attempts = 2, delay = "50ms" }
[[step]]
id = "broken"
needs = ["flaky"]
run = "exit 3"
"#;

const GATED: &str = r#"
name = "gated"
[[step]]
id = "build"
run = "true"
[[step]]
id = "deploy"
needs = ["build"]
run = "true"
gate = { prompt = "Ship it?" }
"#;

/// `promtool` from the Debian package `prometheus`. Missing, the test fails and says
/// how to get it (CI installs it): a metrics check that silently skips checks nothing.
fn promtool() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "promtool is missing: install the Debian package `prometheus` \
             (apt-get install prometheus); .ci/run installs it when run as root"
        )
    })
}

/// `promtool check metrics` on `text`: its exit code and everything it printed.
fn promtool_check(text: &str) -> (i32, String) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = wait_child(child, 30);
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", text_of(&out.stdout), text_of(&out.stderr)),
    )
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn metrics(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["metrics"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    assert!(
        out.status.success(),
        "baton metrics failed: {}",
        text_of(&out.stderr)
    );
    text_of(&out.stdout)
}

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let (s, v) = l.rsplit_once(' ')?;
        (s == series).then(|| v.parse().ok())?
    })
}

fn run_headless(env: &Env, file: &str, wf: &str, extra: &[&str]) -> (i32, String) {
    let path = env.workflow(file, wf);
    let mut args = vec!["run", path.to_str().unwrap(), "--headless"];
    args.extend_from_slice(extra);
    let out = wait_child(env.spawn(&args), 60);
    let id = run_id_of(&text_of(&out.stdout));
    (out.status.code().unwrap_or(-1), id)
}

/// Start a gated run in the background and wait for its gate.
fn start_gated(env: &Env, extra: &[&str]) -> (std::process::Child, String) {
    let path = env.workflow("gated.toml", GATED);
    let mut args = vec!["run", path.to_str().unwrap(), "--headless"];
    args.extend_from_slice(extra);
    let child = env.spawn(&args);
    let id = wait_run_of(env, "gated");
    env.wait_step(&id, "deploy", "waiting_approval", 30);
    (child, id)
}

/// The id of the first run of `workflow` to appear (earlier runs of others may exist).
fn wait_run_of(env: &Env, workflow: &str) -> String {
    wait_until(&format!("a run of {workflow}"), secs(30), || {
        let out = env.run(&["runs", "--json", "--workflow", workflow]);
        let runs = serde_json::from_slice::<Value>(&out.stdout).ok()?;
        runs[0]["id"].as_str().map(str::to_string)
    })
}

fn approve(env: &Env, id: &str) {
    let out = env.run(&["approve", id, "deploy", "--reason", "ok"]);
    assert!(out.status.success(), "{}", text_of(&out.stderr));
}

#[test]
fn metrics_after_real_runs_pass_promtool_and_count_what_happened() {
    let env = Env::new();
    assert_eq!(run_headless(&env, "ok.toml", OK, &[]).0, 0);
    let (code, flaky_id) = run_headless(&env, "flaky.toml", FLAKY, &[]);
    assert_eq!(code, 1);
    let (child, gated_id) = start_gated(&env, &[]);
    approve(&env, &gated_id);
    assert!(wait_child(child, 60).status.success());

    let text = metrics(&env, &[]);
    let (code, lint) = promtool_check(&text);
    assert_eq!(code, 0, "promtool: {lint}\n{text}");
    assert_eq!(lint.trim(), "", "promtool has complaints:\n{text}");

    let s = |series: &str| sample(&text, series);
    assert_eq!(
        s(r#"baton_runs{workflow="ok",state="succeeded"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"baton_runs{workflow="flaky",state="failed"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"baton_runs{workflow="flaky",state="running"}"#),
        Some(0.0)
    );
    assert_eq!(
        s(r#"baton_steps{workflow="ok",state="succeeded"}"#),
        Some(2.0)
    );
    assert_eq!(
        s(r#"baton_steps{workflow="flaky",state="failed"}"#),
        Some(1.0)
    );
    // prepare 1, flaky 2, broken 1.
    assert_eq!(
        s(r#"baton_step_attempts_started_total{workflow="flaky"}"#),
        Some(4.0)
    );
    assert_eq!(
        s(r#"baton_step_attempts_finished_total{workflow="flaky",outcome="failed"}"#),
        Some(2.0)
    );
    assert_eq!(
        s(r#"baton_step_attempts_finished_total{workflow="flaky",outcome="succeeded"}"#),
        Some(2.0)
    );
    let errors: f64 = text
        .lines()
        .filter(|l| l.starts_with(r#"baton_errors_total{workflow="flaky",kind="exit_nonzero""#))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert_eq!(errors, 2.0, "{text}");
    assert_eq!(
        s(r#"baton_step_duration_seconds_count{workflow="flaky"}"#),
        Some(4.0)
    );
    assert_eq!(
        s(r#"baton_step_duration_seconds_bucket{workflow="flaky",le="+Inf"}"#),
        Some(4.0)
    );
    assert_eq!(
        s(r#"baton_gate_wait_seconds_count{workflow="gated",decision="approved"}"#),
        Some(1.0)
    );
    // Quality: prepare 1, flaky 0.5 (after a retry), broken 0 → 0.5.
    assert_eq!(
        s(&format!(
            r#"baton_run_quality_ratio{{workflow="flaky",run="{flaky_id}"}}"#
        )),
        Some(0.5)
    );
    assert!(
        s(&format!(
            r#"baton_run_health{{workflow="gated",run="{gated_id}"}}"#
        ))
        .is_some()
    );
    // Finished runs have no queue.
    assert!(!text.contains("baton_run_queue_depth{"), "{text}");

    // One run alone.
    let one = metrics(&env, &[&flaky_id]);
    assert_eq!(promtool_check(&one), (0, String::new()));
    assert!(one.contains(r#"workflow="flaky""#));
    assert!(!one.contains(r#"workflow="ok""#) && !one.contains(r#"workflow="gated""#));

    // OpenMetrics on request.
    let om = metrics(&env, &["--openmetrics"]);
    assert!(om.contains("# TYPE baton_errors counter\n"), "{om}");
    assert!(om.ends_with("# EOF\n"), "{om}");
}

#[test]
fn show_and_runs_json_carry_the_golden_signals_and_runs_filters_by_workflow() {
    let env = Env::new();
    assert_eq!(run_headless(&env, "ok.toml", OK, &[]).0, 0);
    let (_, flaky_id) = run_headless(&env, "flaky.toml", FLAKY, &[]);

    let show = env.show(&flaky_id);
    let sig = &show["signals"];
    // 4 attempts finished, 2 of them failed.
    assert_eq!(sig["error_rate"], Value::from(0.5), "{show:#}");
    assert_eq!(sig["queue_depth"], Value::from(0), "{show:#}");
    assert_eq!(sig["running"], Value::from(0), "{show:#}");
    assert!(sig["p50_ms"].is_u64() && sig["p95_ms"].is_u64(), "{show:#}");
    assert!(sig["finished_per_sec"].as_f64().unwrap() > 0.0, "{show:#}");

    let out = env.run(&["runs", "--json", "--workflow", "flaky"]);
    assert!(out.status.success());
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["id"], Value::from(flaky_id.as_str()));
    assert_eq!(runs[0]["signals"], show["signals"]);

    let all = env.runs();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|r| r["signals"]["error_rate"].is_f64())
    );

    let out = env.run(&["runs", "--workflow", "nothing-by-that-name"]);
    assert!(out.status.success());
    assert_eq!(
        text_of(&out.stdout),
        "no runs of workflow `nothing-by-that-name`\n"
    );
}

/// Read the child's stderr until the exporter prints where it listens.
fn served_address(child: &mut std::process::Child) -> String {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.strip_prefix("metrics: serving http://") {
                let _ = tx.send(rest.trim_end_matches("/metrics").to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("baton never said where it serves metrics")
}

/// One HTTP/1.1 request with a real TCP client: (status line, headers, body).
fn get(addr: &str, path: &str, accept: Option<&str>) -> (String, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: test\r\n{accept}\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_lowercase(), body.to_string())
}

fn wait_file_with(path: &Path, needle: &str) -> String {
    wait_until(
        &format!("{} to hold {needle}", path.display()),
        secs(30),
        || {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) {
                Ok(text)
            } else {
                Err(text)
            }
        },
    )
}

#[test]
fn a_scrape_over_http_and_the_textfile_follow_a_gated_run() {
    let env = Env::new();
    let file = env.path().join("baton.prom");
    let (mut child, id) = start_gated(
        &env,
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--metrics-file",
            file.to_str().unwrap(),
        ],
    );
    let addr = served_address(&mut child);
    let live = format!(r#"baton_run_queue_depth{{workflow="gated",run="{id}"}} 0"#);
    let waiting = r#"baton_steps{workflow="gated",state="waiting_approval"} 1"#;

    let (status, headers, body) = get(&addr, "/metrics", None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(body.contains(waiting) && body.contains(&live), "{body}");
    assert!(body.contains(&format!(
        r#"baton_run_running_steps{{workflow="gated",run="{id}"}} 0"#
    )));
    assert_eq!(promtool_check(&body), (0, String::new()), "{body}");

    let (status, headers, om) = get(
        &addr,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{headers}"
    );
    assert!(om.contains(waiting) && om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.contains("# TYPE baton_step_attempts_started counter\n"),
        "{om}"
    );

    let (status, _, _) = get(&addr, "/", None);
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    // A supervisor's probes answer on the run's listener too.
    let (status, _, body) = get(&addr, "/healthz", None);
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    let (status, _, _) = get(&addr, "/ready", None);
    assert_eq!(status, "HTTP/1.1 200 OK");

    // The textfile holds the live run too, then its end, written before the engine exits.
    let live_file = wait_file_with(&file, waiting);
    assert_eq!(promtool_check(&live_file), (0, String::new()));
    approve(&env, &id);
    assert!(wait_child(child, 60).status.success());
    let done = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        sample(&done, r#"baton_runs{workflow="gated",state="succeeded"}"#),
        Some(1.0),
        "{done}"
    );
    assert!(!done.contains("baton_run_queue_depth{"), "{done}");
    // Nothing but the file is left in its directory (the temporary was renamed).
    let leftovers: Vec<_> = std::fs::read_dir(env.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_port_in_use_is_refused_before_the_run_is_created() {
    let env = Env::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let path = env.workflow("ok.toml", OK);
    let out = env.run(&[
        "run",
        path.to_str().unwrap(),
        "--headless",
        "--metrics-listen",
        &addr,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out.stderr));
    assert!(
        text_of(&out.stderr).contains(&format!("--metrics-listen {addr}")),
        "{}",
        text_of(&out.stderr)
    );
    // Checked before the store is even opened: not a run, not a database.
    assert!(!env.db().exists(), "a refused run left a store behind");
}

/// Issue 24, finding 7: a run's budget use (and its ceilings) is in the metrics, as
/// `show` gives it, and passes promtool; a dimension without a ceiling has no limit.
#[test]
fn budget_use_is_in_the_metrics() {
    let env = Env::new();
    let wf = r#"
name = "spend"
budget = { cost = 10.0, calls = 20 }
[[step]]
id = "a"
cost = 1.5
run = 'echo cost=2 >> "$BATON_USAGE"; echo tokens=300 >> "$BATON_USAGE"; echo calls=4 >> "$BATON_USAGE"'
"#;
    let (code, id) = run_headless(&env, "spend.toml", wf, &[]);
    assert_eq!(code, 0);
    let text = metrics(&env, &[]);
    let (rc, said) = promtool_check(&text);
    assert_eq!(rc, 0, "promtool: {said}\n{text}");
    let series = |name: &str, dim: &str| {
        sample(
            &text,
            &format!("{name}{{workflow=\"spend\",run=\"{id}\",dimension=\"{dim}\"}}"),
        )
    };
    assert_eq!(series("baton_run_budget_used", "cost"), Some(3.5), "{text}");
    assert_eq!(series("baton_run_budget_limit", "cost"), Some(10.0));
    assert_eq!(series("baton_run_budget_used", "calls"), Some(4.0));
    assert_eq!(series("baton_run_budget_limit", "calls"), Some(20.0));
    assert_eq!(series("baton_run_budget_used", "tokens"), Some(300.0));
    assert_eq!(series("baton_run_budget_limit", "tokens"), None, "{text}");
    let om = metrics(&env, &[&id, "--openmetrics"]);
    assert!(om.contains("# TYPE baton_run_budget_used gauge\n"), "{om}");
    assert!(om.ends_with("# EOF\n"));
}
