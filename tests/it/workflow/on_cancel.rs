//! Issue 57 point 2: `on_cancel` steps (Dagu's `handlerOn.abort`), run by the real
//! binary: they run once the run is cancelled and its steps stopped, in file order,
//! on record as steps; skipped when the run ends otherwise; and an engine killed (-9)
//! mid-handler runs it again on resume, and the next one once.
use crate::helpers::*;

/// `work` sleeps `params.sleep` seconds. `cleanup` waits (for the kill) in its
/// first attempt when `hang` exists; `notify` fails. Both log to `log`.
const HANDLERS: &str = r#"
name = "cancel-handlers"
[params.sleep]
default = "0"
[[step]]
id = "work"
run = "sleep $SLEEP"
env = { SLEEP = "${{ params.sleep }}" }
[[step]]
id = "cleanup"
on_cancel = true
run = '''
echo "cleanup $BATON_ATTEMPT" >> log
if [ "$BATON_ATTEMPT" = 1 ] && [ -f hang ]; then sleep 60; fi
echo "done=yes" >> "$BATON_OUTPUT"
'''
[[step]]
id = "notify"
on_cancel = true
run = "echo notify >> log; exit 3"
"#;

fn log(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn on_cancel_steps_are_skipped_when_the_run_is_not_cancelled() {
    let env = Env::new();
    let wf = env.workflow("h.toml", HANDLERS);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{printed}\n{}", text(&out.stderr));
    assert!(
        printed.contains("cleanup skipped: the run was not cancelled (it succeeded): on_cancel"),
        "{printed}"
    );
    let show = env.show(&run_id_of(&printed));
    assert_eq!(show["state"], "succeeded");
    assert_eq!(step_state(&show, "notify").as_deref(), Some("skipped"));
    assert!(log(&env).is_empty());
}

#[test]
fn a_cancelled_run_runs_its_on_cancel_steps_in_order_after_stopping_its_steps() {
    let env = Env::new();
    let wf = env.workflow("h.toml", HANDLERS);
    let engine = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "sleep=60",
    ]);
    let run = env.wait_run_id();
    env.wait_step(&run, "work", "running", 20);
    ok(&env.run(&["cancel", &run, "--reason", "enough"]));
    let out = wait_child(engine, 60);
    let printed = text(&out.stdout);
    assert!(!out.status.success(), "{printed}");
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled");
    assert_eq!(step_state(&show, "work").as_deref(), Some("cancelled"));
    assert_eq!(step_state(&show, "cleanup").as_deref(), Some("succeeded"));
    assert_eq!(step_field(&show, "cleanup", "outputs")["done"], "yes");
    // A failed handler is its own failure, on record, not the cancel's.
    assert_eq!(step_state(&show, "notify").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "notify", "exit_code"), 3);
    assert_eq!(log(&env), ["cleanup 1", "notify"]);
    let work = printed.find("work cancelled").expect("work cancelled");
    let cleanup = printed.find("cleanup running").expect("cleanup running");
    assert!(work < cleanup, "{printed}");
}

#[test]
fn a_resume_after_kill_9_mid_handler_runs_it_again_and_the_next_once() {
    let env = Env::new();
    std::fs::write(env.path().join("hang"), "").unwrap();
    let wf = env.workflow("h.toml", HANDLERS);
    let mut engine = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "sleep=60",
    ]);
    let run = env.wait_run_id();
    env.wait_step(&run, "work", "running", 20);
    ok(&env.run(&["cancel", &run]));
    env.wait_step(&run, "cleanup", "running", 20);
    wait_until("cleanup to start", secs(20), || log(&env).len() == 1);
    engine.kill().unwrap();
    let _ = engine.wait();

    let out = wait_child(env.spawn(&["resume", &run, "--headless"]), 60);
    let printed = text(&out.stdout);
    assert_eq!(log(&env), ["cleanup 1", "cleanup 2", "notify"], "{printed}");
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled");
    assert_eq!(step_state(&show, "work").as_deref(), Some("cancelled"));
    assert_eq!(step_state(&show, "cleanup").as_deref(), Some("succeeded"));
    assert_eq!(step_field(&show, "cleanup", "attempts"), 2);
    assert_eq!(step_state(&show, "notify").as_deref(), Some("failed"));
}

#[test]
fn a_step_that_needs_an_on_cancel_step_is_refused_at_its_line() {
    let env = Env::new();
    let bad = format!("{HANDLERS}[[step]]\nid = \"late\"\nneeds = [\"cleanup\"]\nrun = \"true\"\n");
    let wf = env.workflow("bad.toml", &bad);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: step `late` needs `cleanup`, an on_cancel step"),
        "{err}"
    );
}
