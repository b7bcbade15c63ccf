//! Issue 24, findings 15, 18 and 20: a secret typed into a reason left in the database's
//! files (the write-ahead log while the engine runs, the `commands` table of a
//! `--no-drive` command), a secret as an output's name, a secret written half to stdout
//! and half to stderr; and two readers quadratic in their input (`validate` in unknown
//! `needs`, `logs` on a terminal in line length).
use crate::helpers::*;
use std::io::Write;
use std::time::Duration;

const SECRET: &str = "s3cr3t-token-9f2b";

fn all(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The database's files (the database, its write-ahead log and its index) that hold
/// `needle`, by name.
fn files_holding(env: &Env, needle: &str) -> Vec<String> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut path = env.db().into_os_string();
            path.push(suffix);
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
                .then(|| format!("baton.db{suffix}"))
        })
        .collect()
}

/// Wait (up to 10 s) until no file of the database holds `needle`.
fn wait_no_file_holds(env: &Env, needle: &str, when: &str) {
    wait_until(
        &format!("{when}: no file of the store holding the secret"),
        Duration::from_secs(10),
        || {
            let holding = files_holding(env, needle);
            if holding.is_empty() {
                Ok(())
            } else {
                Err(format!("{holding:?} still hold it"))
            }
        },
    );
}

fn command_rows(env: &Env) -> Vec<String> {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.prepare("SELECT json || coalesce(outcome, '') FROM commands")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_secret_typed_in_a_reason_leaves_no_copy_in_the_database_files_while_the_engine_runs() {
    let env = Env::new();
    let (child, id) = env.waiting_at_two_gates_with_secret(SECRET);
    let reason = format!("the token {SECRET} was rotated");
    // A submitter that does not know the secret: the engine masks the row and empties
    // the write-ahead log of the text as it was written.
    let out = env
        .cmd()
        .args(["approve", &id, "deploy", "--reason", &reason])
        .env_remove("API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    env.wait_step(&id, "deploy", "succeeded", 15);
    // The engine still runs: `other` waits at its gate.
    assert_eq!(
        step_state(&env.show(&id), "other").as_deref(),
        Some("waiting_approval")
    );
    wait_no_file_holds(&env, SECRET, "while the engine runs");
    // A submitter that knows it (the same secrets in its environment) masks it before
    // anything is written.
    let out = env
        .cmd()
        .args(["reject", &id, "other", "--reason", &reason])
        .env("API_TOKEN", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        files_holding(&env, SECRET).is_empty(),
        "after the second command"
    );
    assert_eq!(wait_child(child, 30).status.code(), Some(1));
    wait_no_file_holds(&env, SECRET, "after the run");
    let rows = command_rows(&env);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert!(row.contains("the token *** was rotated"), "{row}");
    }
}

#[test]
fn a_reason_recorded_with_no_drive_is_masked_before_it_is_written() {
    let env = Env::new();
    let (mut child, id) = env.waiting_at_two_gates_with_secret(SECRET);
    child.kill().expect("kill -9 the engine");
    let _ = child.wait();
    let reason = format!("rotated {SECRET} today");
    let out = env
        .cmd()
        .args(["approve", &id, "deploy", "--no-drive", "--reason", &reason])
        .env("API_TOKEN", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(all(&out).contains("recorded"), "{}", all(&out));
    let rows = command_rows(&env);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("rotated *** today"), "{}", rows[0]);
    wait_no_file_holds(&env, SECRET, "a command waiting for the next engine");
}

#[test]
fn an_output_named_by_a_secret_is_withheld_and_its_name_masked() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "names"
secrets = ["API_TOKEN"]
[[step]]
id = "leak"
run = 'echo "$API_TOKEN=1" >> "$BATON_OUTPUT"; echo "fine=ok" >> "$BATON_OUTPUT"'
"#,
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("API_TOKEN", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(!all(&out).contains(SECRET), "{}", all(&out));
    let id = run_id_of(&text(&out.stdout));
    let shown = env.run(&["show", &id, "--json"]);
    let json = text(&shown.stdout);
    assert!(
        !json.contains(SECRET),
        "show --json holds the secret: {json}"
    );
    let show: serde_json::Value = serde_json::from_str(&json).unwrap();
    let outputs = step_field(&show, "leak", "outputs");
    assert_eq!(outputs["fine"], "ok", "{outputs}");
    assert_eq!(outputs.as_object().map(|o| o.len()), Some(1), "{outputs}");
    let errors = show["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap_or("")
            .contains("output `***` contains a secret")),
        "{show:#}"
    );
    wait_no_file_holds(&env, SECRET, "after the run");
}

#[test]
fn a_secret_written_half_to_stdout_and_half_to_stderr_is_masked_in_the_log() {
    let env = Env::new();
    // `split`: stdout ends (and is released) holding the first half before stderr writes
    // the second; `together`: both halves are the streams' unfinished last lines.
    let wf = env.workflow(
        "w.toml",
        r#"
name = "halves"
secrets = ["API_TOKEN"]
[[step]]
id = "split"
run = 'printf "a s3cr3t-"; exec 1>&-; sleep 0.2; printf "token-9f2b b\n" >&2'
[[step]]
id = "together"
run = 'printf "c s3cr3t-"; printf "token-9f2b d" >&2'
"#,
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("API_TOKEN", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let id = run_id_of(&text(&out.stdout));
    for step in ["split", "together"] {
        let logs = env.run(&["logs", &id, step]);
        assert_eq!(logs.status.code(), Some(0), "{}", all(&logs));
        let log = text(&logs.stdout);
        assert!(
            !log.contains(SECRET),
            "{step}'s log holds the secret: {log:?}"
        );
        if step == "split" {
            assert_eq!(log, "a *** b\n");
        }
    }
}

/// This thread's CPU time so far: what the work itself cost, whatever else the machine
/// (or the other tests) were doing meanwhile.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The best of five measures of `small` and of `big`, taken in turns, in this thread's
/// CPU time (a wall clock on a loaded machine measured the load: the test flaked at a
/// load average over 15): noise only adds time, and both sizes meet the same.
fn best_times(mut small: impl FnMut(), mut big: impl FnMut()) -> (Duration, Duration) {
    let time = |f: &mut dyn FnMut()| {
        let start = thread_cpu();
        f();
        thread_cpu().saturating_sub(start)
    };
    let (mut t_small, mut t_big) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        t_small = t_small.min(time(&mut small));
        t_big = t_big.min(time(&mut big));
    }
    (t_small, t_big)
}

/// Twice the input must take well under four times as long (quadratic would).
fn assert_linear(what: &str, (small, big): (Duration, Duration)) {
    let ratio = big.as_secs_f64() / small.as_secs_f64().max(1e-6);
    assert!(
        ratio < 3.0,
        "{what}: twice the input took {ratio:.1}x as long ({small:?} → {big:?})"
    );
}

/// A workflow whose one step needs `n` steps that do not exist, all on one line.
fn unknown_needs(n: usize) -> String {
    let needs: Vec<String> = (0..n).map(|i| format!("\"missing-{i}\"")).collect();
    format!(
        "name = \"n\"\n[[step]]\nid = \"a\"\nrun = \"true\"\nneeds = [{}]\n",
        needs.join(", ")
    )
}

#[test]
fn validate_is_linear_in_unknown_needs() {
    let path = std::path::Path::new("big.toml");
    // About 350 KB and 700 KB of needs.
    let small = unknown_needs(20_000);
    let big = unknown_needs(40_000);
    let load = |text: &str| {
        let diags = baton::workflow::load_str(text, path).expect_err("every need is unknown");
        assert!(diags.len() >= 20_000, "one error per unknown need");
        let last = diags.0.last().unwrap();
        assert_eq!(last.line, 5, "{last}");
    };
    assert_linear(
        "validate with unknown needs",
        best_times(|| load(&small), || load(&big)),
    );
}

#[test]
fn logs_on_a_terminal_is_linear_in_line_length() {
    // One line of `n` bytes (with a colour in it), written the way `logs` copies a file.
    let sanitise = |n: usize| {
        let mut line = b"\x1b[31mred\x1b[0m ".to_vec();
        line.resize(n, b'x');
        line.push(b'\n');
        let mut out = baton::sanitize::TerminalWriter::new(Vec::new());
        for chunk in line.chunks(8 * 1024) {
            out.write_all(chunk).unwrap();
        }
        out.finish().unwrap();
        let shown = out.get_ref();
        assert!(shown.starts_with(b"\x1b[0;31mred\x1b[0m x"), "colour kept");
        // Both colour sequences written back two bytes longer, and the newline.
        assert_eq!(shown.len(), n + 3, "one line out");
    };
    assert_linear(
        "logs on a terminal",
        best_times(|| sanitise(4 << 20), || sanitise(8 << 20)),
    );
}
