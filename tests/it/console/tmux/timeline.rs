//! Issue 45 point 8, the Timeline tab driven in tmux at 80×24 on the real binary: a
//! step that fails once and is retried, a gate approved from the console, a step
//! whose bar grows while it runs.
use super::*;

const WORKFLOW: &str = r#"name = "timeline"
[[step]]
id = "flaky"
run = "test -e attempted || { touch attempted; exit 1; }"
retry = { attempts = 2, delay = "1s" }
[[step]]
id = "ship"
needs = ["flaky"]
run = "sleep 8"
gate = { prompt = "Ship it?" }
"#;

/// The detail line of the selected step (the line under the legend).
fn detail(screen: &str, step: &str) -> Option<String> {
    screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' '))
        .find(|l| l.starts_with(&format!("{step}  ")))
        .map(str::to_string)
}

/// The running attempt's time in the detail line (`#1 2.0s ▶` → 2.0).
fn running_secs(line: &str) -> Option<f64> {
    let head = line.split(" ▶").next()?;
    seconds(head.rsplit(' ').next()?)
}

#[test]
fn the_timeline_shows_a_retry_a_gate_and_a_growing_run_at_80x24() {
    let env = Env::new();
    let wf = env.workflow("timeline.toml", WORKFLOW);
    let command = format!(
        "cd {} && BATON_DB={} TERM=xterm-256color {} run {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy())
    );
    let tmux = Tmux::new(&env, 80, 24, &command);
    tmux.wait_for("the open gate", |s| s.contains("⏸ ship"), 30);
    // `:timeline` from the prompt opens the tab; the footer lists its keys.
    tmux.keys(&[":"]);
    tmux.literal("timeline");
    tmux.keys(&["Enter"]);
    // The whole tab, legend and footer: a capture may fall between the title's line
    // and the rest of one frame being drawn.
    let s = tmux.wait_for(
        "the timeline",
        |s| s.contains("Timeline · 2 steps") && s.contains("▒ gate") && s.contains("l/Enter"),
        10,
    );
    assert!(
        s.contains("░ queued") && s.contains("▒ gate"),
        "the legend:\n{s}"
    );
    assert!(
        s.contains("↑↓/jk select") && s.contains("l/Enter"),
        "its keys:\n{s}"
    );
    // The axis' first tick, and the gate waiting up to the clock.
    assert!(s.contains("┬") && s.contains("0 "), "the axis:\n{s}");
    // flaky: its failed attempt and the retry that succeeded, apart.
    tmux.keys(&["g"]);
    let s = tmux.wait_for(
        "flaky selected",
        |s| detail(s, "flaky").is_some_and(|d| d.contains("#2")),
        10,
    );
    let d = detail(&s, "flaky").unwrap_or_default();
    assert!(
        d.contains("#1 ") && d.contains("✘") && d.contains("backoff") && d.contains("✔"),
        "{d}\n{s}"
    );
    let row = s.lines().find(|l| l.contains("✔ flaky")).unwrap_or("");
    assert!(
        row.contains('▓') && row.contains('█'),
        "both attempts drawn: {row}\n{s}"
    );
    // ship waits at its gate; approve it, then watch its bar grow on the clock.
    tmux.keys(&["j"]);
    tmux.wait_for(
        "ship's gate wait",
        |s| detail(s, "ship").is_some_and(|d| d.starts_with("ship  gate")),
        10,
    );
    let row = tmux.screen();
    assert!(
        row.lines().any(|l| l.contains("⏸ ship") && l.contains('▒')),
        "{row}"
    );
    tmux.keys(&["2"]);
    tmux.wait_for("the approvals tab", |s| s.contains("Open gates"), 10);
    tmux.keys(&["a"]);
    tmux.wait_for("the dialog", |s| s.to_lowercase().contains("reason"), 10);
    tmux.literal("seen on the timeline");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the dialog to close", |s| s.contains("Open gates (0)"), 10);
    tmux.keys(&["8"]);
    let first = tmux.wait_for(
        "ship running on the timeline",
        |s| detail(s, "ship").and_then(|d| running_secs(&d)).is_some(),
        10,
    );
    let t0 = detail(&first, "ship").and_then(|d| running_secs(&d));
    let later = tmux.wait_for(
        "ship's bar to grow",
        |s| {
            detail(s, "ship")
                .and_then(|d| running_secs(&d))
                .is_some_and(|t| Some(t) > t0)
        },
        10,
    );
    assert!(
        later
            .lines()
            .any(|l| l.contains("▶ ship") && l.contains("█▶")),
        "the running bar's head:\n{later}"
    );
    // It ends: gate, queue and the attempt, on record, read back the same.
    let done = tmux.wait_for(
        "ship done",
        |s| detail(s, "ship").is_some_and(|d| d.contains("#1") && d.contains("✔")),
        20,
    );
    let d = detail(&done, "ship").unwrap_or_default();
    assert!(d.starts_with("ship  gate "), "{d}");
    // The run ended: once this console no longer drives it (the header's `viewer`),
    // `q` quits without asking what to do with it.
    tmux.wait_for("the console a viewer", |s| s.contains(" viewer "), 20);
    tmux.keys(&["q"]);
    let s = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 15);
    assert!(s.contains("BATON-EXIT=0"), "{s}");
}

/// A step that waits for a file (a shell loop a killed engine leaves running).
const WAITS: &str = "name = \"stopped\"\n[[step]]\nid = \"wait\"\nrun = \"while [ ! -e go ] && [ -e $PWD ]; do sleep 0.1; done\"\n";

/// Seconds in a duration as the console writes it: `41ms`, `2.0s`, `1m05s`.
fn seconds(d: &str) -> Option<f64> {
    if let Some(ms) = d.strip_suffix("ms") {
        return ms.parse::<f64>().ok().map(|ms| ms / 1000.0);
    }
    let d = d.strip_suffix('s')?;
    match d.split_once('m') {
        Some((m, s)) => Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?),
        None => d.parse().ok(),
    }
}

/// The run's time in a detail line (`#1 2.0s ↯ engine gone` → 2.0).
fn stopped_secs(line: &str) -> Option<f64> {
    let head = line.split(" ↯").next()?;
    seconds(head.rsplit(' ').next()?)
}

/// Point 6 on the Timeline: the engine killed (-9) while its step runs, the run opened
/// in `baton tui`: the step's attempt ends where the engine stopped, and stays there
/// while the wall clock goes on (no running head, its time no longer than the engine
/// lived).
#[test]
fn an_interrupted_runs_timeline_stops_at_the_engines_last_sign_of_life() {
    let env = Env::new();
    let wf = env.workflow("stopped.toml", WAITS);
    let spawned = std::time::Instant::now();
    let (mut engine, _id) = env.spawn_until(&wf, "wait", "running");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    let lived = spawned.elapsed().as_secs_f64();
    let killed = std::time::Instant::now();
    let command = format!(
        "cd {} && BATON_DB={} TERM=xterm-256color {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 80, 24, &command);
    tmux.wait_for("the interrupted run", |s| s.contains("interrupted"), 30);
    tmux.keys(&["8"]);
    let s = tmux.wait_for(
        "the stopped attempt",
        |s| detail(s, "wait").and_then(|d| stopped_secs(&d)).is_some(),
        10,
    );
    let first = detail(&s, "wait").and_then(|d| stopped_secs(&d));
    // Three seconds after the kill the attempt still reads the same, and no longer
    // than the engine lived: its clock stopped with the engine.
    let later = wait_until("3 s after the kill, the same time", secs(20), || {
        let s = tmux.screen();
        let now = detail(&s, "wait").and_then(|d| stopped_secs(&d));
        if now != first {
            panic!("the stopped attempt's time moved: {first:?} then {now:?}\n{s}");
        }
        (killed.elapsed() >= Duration::from_secs(3)).then_some(s)
    });
    let t = first.unwrap_or(f64::MAX);
    assert!(
        t <= lived + 0.2,
        "{t} s shown, the engine lived {lived} s\n{later}"
    );
    let row = later.lines().find(|l| l.contains(" wait ")).unwrap_or("");
    assert!(
        row.contains('█') && !row.contains('▶'),
        "no running head: {row}"
    );
    // Let the shell the engine left behind end.
    std::fs::write(env.path().join("go"), "").unwrap();
}
