//! Issue 44 point 5, notifications of asks: a step's ask fires its run's `[[notify]]`
//! `gate_opened` with the ask's prompt and `gate_decided` on its decision, as a gate
//! does (`BATON_ASK_ID` names it); an engine killed while the ask is open and resumed
//! tells of it again, and of its decision once.
use crate::helpers::*;

fn notes(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("notes.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_step_s_ask_notifies_as_a_gate_opening_and_its_decision() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "asked.toml",
        &format!(
            r#"name = "asked"
[[step]]
id = "migrate"
run = "'{}' ask --prompt 'apply migration 7?' --timeout 2m"

[[notify]]
on = ["gate_opened", "gate_decided", "run_finished"]
run = 'echo "$BATON_EVENT|$BATON_STEP_ID|$BATON_PROMPT|$BATON_ASK_ID" >> notes.txt'
"#,
            env!("CARGO_BIN_EXE_baton")
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let id = wait_until("the ask's gate_opened notice", secs(20), || {
        let n = notes(&env);
        let line = n.iter().find(|l| l.starts_with("gate_opened|"));
        match line {
            Some(l) => Ok(l.rsplit('|').next().unwrap_or_default().to_string()),
            None => Err(format!("{n:?}")),
        }
    });
    assert!(id.starts_with("ask-"), "{:?}", notes(&env));
    assert_eq!(
        notes(&env),
        vec![format!("gate_opened|migrate|apply migration 7?|{id}")]
    );
    let ok = env.run_as_nobody(&["approve", &id, "--reason", "go"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        notes(&env),
        vec![
            format!("gate_opened|migrate|apply migration 7?|{id}"),
            format!("gate_decided|migrate|apply migration 7?|{id}"),
            "run_finished|||".to_string(),
        ],
        "run {run}"
    );
}

/// kill -9 of the engine while the step's ask is open: the resumed engine tells of the
/// open ask again (it cannot know the killed one did), and of its decision once.
#[test]
fn a_resumed_engine_tells_of_the_open_ask_again_and_of_its_decision_once() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "asked.toml",
        &format!(
            r#"name = "asked"
[[step]]
id = "migrate"
run = "'{}' ask --prompt 'apply migration 8?' --timeout 2m"

[[notify]]
on = ["gate_opened", "gate_decided"]
run = 'echo "$BATON_EVENT|$BATON_ASK_ID" >> notes.txt'
"#,
            env!("CARGO_BIN_EXE_baton")
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let opened = wait_until("the first gate_opened", secs(20), || {
        notes(&env).first().cloned()
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(engine.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = wait_child(engine, 10);
    let resumed = env.spawn(&["resume", &run, "--headless"]);
    wait_until("told again by the resumed engine", secs(20), || {
        let n = notes(&env);
        (n.len() == 2).then_some(()).ok_or(format!("{n:?}"))
    });
    assert_eq!(notes(&env), vec![opened.clone(), opened.clone()]);
    let id = opened.trim_start_matches("gate_opened|").to_string();
    // Between the first asker's stop and the next attempt's ask the ask reads
    // abandoned and an answer is refused: answer once it is taken over.
    wait_until("the ask answered", secs(20), || {
        let ok = env.run_as_nobody(&["approve", &id, "--reason", "go"]);
        ok.status
            .success()
            .then_some(())
            .ok_or(format!("{}{}", text(&ok.stdout), text(&ok.stderr)))
    });
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        notes(&env),
        vec![opened.clone(), opened, format!("gate_decided|{id}")]
    );
}

/// The engine reads its run's asks only when the store's asks moved: after a first ask
/// is told and decided, steps end with no ask written (nothing read), and an ask a
/// later step makes is still told at once, then its decision.
#[test]
fn a_new_ask_after_steps_that_asked_nothing_still_notifies() {
    let env = Env::new();
    env.share_with_nobody();
    let baton = env!("CARGO_BIN_EXE_baton");
    let wf = env.workflow(
        "asked.toml",
        &format!(
            r#"name = "asked-twice"
[[step]]
id = "first"
run = "'{baton}' ask --prompt 'first?' --timeout 2m"

[[step]]
id = "quick"
needs = ["first"]
matrix = {{ n = ["1", "2", "3", "4", "5", "6"] }}
run = "true"

[[step]]
id = "second"
needs = ["quick"]
run = "'{baton}' ask --prompt 'second?' --timeout 2m"

[[notify]]
on = ["gate_opened", "gate_decided"]
run = 'echo "$BATON_EVENT|$BATON_STEP_ID|$BATON_PROMPT|$BATON_ASK_ID" >> notes.txt'
"#
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let opened = |step: &'static str| {
        let env = &env;
        move || {
            let n = notes(env);
            n.iter()
                .find(|l| l.starts_with(&format!("gate_opened|{step}|")))
                .map(|l| l.rsplit('|').next().unwrap_or_default().to_string())
                .ok_or(format!("{n:?}"))
        }
    };
    let first = wait_until("the first ask told", secs(20), opened("first"));
    let ok = env.run_as_nobody(&["approve", &first, "--reason", "go"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let second = wait_until("the second ask told", secs(30), opened("second"));
    assert_ne!(first, second);
    let ok = env.run_as_nobody(&["approve", &second, "--reason", "go"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        notes(&env),
        vec![
            format!("gate_opened|first|first?|{first}"),
            format!("gate_decided|first|first?|{first}"),
            format!("gate_opened|second|second?|{second}"),
            format!("gate_decided|second|second?|{second}"),
        ],
        "run {run}"
    );
}
