//! Shutdown leaves runs interrupted and the next serve resumes them; reload within 2 s
//! keeping the last good version; /healthz and /ready.
use super::*;
use std::io::{Read, Write};

const SLOW: &str = r#"name = "slow"

[[schedule]]
cron = "* * * * * *"
overlap = "skip"

[[step]]
id = "wait"
run = 'echo "$BATON_RUN_ID" >> ../started; sleep 3'
"#;

fn run_state(s: &Served, run: &str) -> String {
    s.env.show(run)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn first_run(s: &Served) -> String {
    wait_until("a run to start its step", secs(30), || {
        std::fs::read_to_string(s.env.path().join("started"))
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
    })
}

#[test]
fn sigterm_leaves_the_run_interrupted_and_the_next_serve_resumes_it() {
    let mut s = Served::new();
    s.write("slow.toml", SLOW);
    let (child, _) = s.start(&[]);
    let run = first_run(&s);
    // overlap = "skip": the slots while it runs make runs of the schedule's group that
    // end skipped at once, recorded as such.
    let skipped: String = wait_until("a slot skipped while the run goes", secs(30), || {
        s.db()
            .query_row(
                "SELECT run_id FROM schedule_slots WHERE fate = 'skipped' AND run_id IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .ok()
    });
    wait_until("the skipped run to read skipped", secs(30), || {
        run_state(&s, &skipped) == "skipped"
    });
    let out = term(child);
    assert!(!out.status.success() || out.status.code() == Some(0));
    assert_eq!(run_state(&s, &run), "interrupted");
    // The schedule no longer fires: pause it, then restart: the run is resumed to its end.
    let p = s.env.run(&[
        "schedule",
        "pause",
        "slow",
        "--reason",
        "let the resumed run finish",
    ]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let (child, log) = s.start(&[]);
    wait_log(&log, &format!("resuming run {run}"), 30);
    wait_until("the resumed run to succeed", secs(60), || {
        run_state(&s, &run) == "succeeded"
    });
    term(child);
}

#[test]
fn kill_dash_nine_and_the_next_serve_resumes_the_run() {
    let mut s = Served::new();
    s.write("slow.toml", SLOW);
    let (mut child, _) = s.start(&[]);
    let run = first_run(&s);
    kill9(&mut child);
    wait_until("the run to read interrupted", secs(30), || {
        run_state(&s, &run) == "interrupted"
    });
    let p = s.env.run(&[
        "schedule",
        "pause",
        "slow",
        "--reason",
        "let the resumed run finish",
    ]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let (child, log) = s.start(&[]);
    wait_log(&log, &format!("resuming run {run}"), 30);
    wait_until("the resumed run to succeed", secs(60), || {
        run_state(&s, &run) == "succeeded"
    });
    term(child);
}

fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

const HOURLY: &str = "name = \"report\"\n\n[[schedule]]\ncron = \"@hourly\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n";

#[test]
fn a_changed_file_takes_effect_and_a_broken_one_keeps_its_last_version_serving() {
    let mut s = Served::new();
    s.write("report.toml", HOURLY);
    let (child, log, addr) = s.start_listening();
    wait_until("/ready", secs(30), || {
        get(&addr, "/ready").0 == "HTTP/1.1 200 OK"
    });
    assert_eq!(get(&addr, "/healthz").0, "HTTP/1.1 200 OK");

    // Added: a second schedule and a new file, served without a restart.
    s.write(
        "report.toml",
        &HOURLY.replace(
            "[[step]]",
            "[[schedule]]\ncron = \"30 2 * * *\"\ntimezone = \"Europe/Paris\"\n\n[[step]]",
        ),
    );
    s.write("other.toml", &HOURLY.replace("report", "other"));
    wait_until("the new schedules", secs(5), || {
        let names: Vec<String> = s
            .schedules()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["schedule"].as_str().unwrap().to_string())
            .collect();
        names == ["other#1", "report#1", "report#2"]
    });

    // Broken: the last good version keeps serving; the error is recorded and exported.
    s.write("report.toml", "name = \"report\"\n[[schedule]]\ncron = \"not cron\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n");
    wait_log(&log, "report.toml:3:8: error: `cron` of schedule #1", 5);
    let (status, body) = get(&addr, "/ready");
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert!(body.contains("report.toml"), "{body}");
    let (_, metrics) = get(&addr, "/metrics");
    assert!(metrics.contains("baton_serve_reload_errors 1"), "{metrics}");
    assert!(
        metrics.contains(
            "baton_schedule_next_fire_timestamp_seconds{workflow=\"report\",schedule=\"report#2\"}"
        ),
        "{metrics}"
    );
    assert_eq!(s.schedules().as_array().unwrap().len(), 3);
    let listed = s.env.run(&["schedules"]);
    assert!(
        text(&listed.stderr).contains("report.toml:3:8"),
        "{}",
        text(&listed.stderr)
    );

    // Removed: its schedules stop.
    std::fs::remove_file(s.dir.join("other.toml")).unwrap();
    wait_until("other's schedule to go", secs(5), || {
        s.schedules().as_array().unwrap().len() == 2
    });
    term(child);
}

/// Idle connections neither starve the probes nor stay (issue 41 point 5): with more
/// idle connections open than `/metrics` answers at once, `/healthz` and `/ready` are
/// answered while every idle one is still open, and each idle one is closed once its
/// head's short timeout passed.
#[test]
fn idle_connections_never_starve_the_probes_and_are_closed_soon() {
    let mut s = Served::new();
    s.write("report.toml", HOURLY);
    let (child, _log, addr) = s.start_listening();
    wait_until("/ready", secs(30), || {
        get(&addr, "/ready").0 == "HTTP/1.1 200 OK"
    });
    // Eight connections that say nothing (a half-open scanner, a stuck client).
    let idle: Vec<std::net::TcpStream> = (0..8)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    assert_eq!(get(&addr, "/healthz").0, "HTTP/1.1 200 OK");
    assert_eq!(get(&addr, "/ready").0, "HTTP/1.1 200 OK");
    // Answered without waiting for any idle one to go: all are still open.
    let open = |c: &std::net::TcpStream| {
        c.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        let still = matches!(c.peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        c.set_nonblocking(false).unwrap();
        still
    };
    assert!(
        idle.iter().all(open),
        "an idle connection was closed before the probes were answered"
    );
    // Each is closed by the serve soon (its head never came).
    for mut c in idle {
        c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut rest = Vec::new();
        let n = c.read_to_end(&mut rest).unwrap();
        assert_eq!(n, 0, "an idle connection got an answer");
    }
    term(child);
}
