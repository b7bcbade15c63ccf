//! Issue 45 point 5: news is true. Decisions recorded from another shell on any run
//! (not only the one on screen) are notices with who, what and the reason typed, kept
//! in `!`; this console's own action goes to its action log (`@`), not to notices.
use super::pasted::new_run_id;
use super::*;

const GATED: &str =
    "name = 'gated'\n[[step]]\nid = 'ship'\nrun = 'true'\ngate = { prompt = 'Ship it?' }\n";
const BUDGET: &str = "name = 'budgeted'\nbudget = { cost = 1.0 }\n[[step]]\nid = 'a'\nrun = 'true'\ncost = 1.0\n[[step]]\nid = 'b'\nneeds = ['a']\nrun = 'true'\ncost = 1.0\n";
const ON_SCREEN: &str =
    "name = 'onscreen'\n[[step]]\nid = 'wait'\nrun = 'true'\ngate = { prompt = 'Go?' }\n";

/// The engines this test started, stopped (by their ids) when it ends.
struct Engines(Vec<std::process::Child>);

impl Drop for Engines {
    fn drop(&mut self) {
        for c in &mut self.0 {
            crate::cli::suggestions::terminate(c);
        }
    }
}

#[test]
fn others_decisions_on_any_run_are_notices_and_the_consoles_own_go_to_its_log() {
    let env = Env::new();
    let gated = env.workflow("gated.toml", GATED);
    let mut engines = Engines(Vec::new());
    let (a, approved) = env.spawn_until(&gated, "ship", "waiting_approval");
    engines.0.push(a);
    engines
        .0
        .push(env.spawn(&["run", gated.to_str().unwrap(), "--headless"]));
    let rejected = new_run_id(&env, std::slice::from_ref(&approved));
    env.wait_step(&rejected, "ship", "waiting_approval", 30);
    let budget = env.workflow("budget.toml", BUDGET);
    engines
        .0
        .push(env.spawn(&["run", budget.to_str().unwrap(), "--headless"]));
    let raised = new_run_id(&env, &[approved.clone(), rejected.clone()]);
    wait_until("the budget stop", secs(30), || {
        env.show(&raised)["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "budget_exceeded"))
    });
    // The run on screen (the newest).
    let on_screen = env.workflow("onscreen.toml", ON_SCREEN);
    engines
        .0
        .push(env.spawn(&["run", on_screen.to_str().unwrap(), "--headless"]));
    let shown = new_run_id(&env, &[approved.clone(), rejected.clone(), raised.clone()]);
    env.wait_step(&shown, "wait", "waiting_approval", 30);

    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} {} tui ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the console", |s| s.contains("onscreen"), 30);

    // Another shell decides on three runs that are not on screen.
    ok(&env.run(&["approve", &approved, "ship", "--reason", "canary is green"]));
    tmux.wait_for(
        "the approval as news, with its reason",
        |s| s.contains("approved ship: “canary is green”"),
        20,
    );
    ok(&env.run(&[
        "approve",
        &raised,
        "--raise",
        "cost=1",
        "--reason",
        "one more batch",
    ]));
    tmux.wait_for(
        "the raise as news",
        |s| s.contains("raised the budget cost +1") && s.contains("one more batch"),
        20,
    );
    ok(&env.run(&["reject", &rejected, "ship", "--reason", "not on a Friday"]));
    tmux.wait_for(
        "the rejection as news",
        |s| s.contains("rejected ship: “not on a Friday”"),
        20,
    );
    // `!` keeps all three, none without its reason.
    tmux.keys(&["!"]);
    let screen = tmux.wait_for(
        "the notices list",
        |s| {
            s.contains("Notices · 3")
                && s.contains("canary is green")
                && s.contains("one more batch")
                && s.contains("not on a Friday")
        },
        10,
    );
    assert!(!screen.contains("no reason given"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the notices closed", |s| !s.contains("Notices ·"), 10);

    // This console cancels the run on screen: in its action log, not a notice.
    tmux.keys(&["1"]);
    tmux.wait_for("the DAG", |s| s.contains("Graph ·"), 10);
    tmux.keys(&["c"]);
    tmux.wait_for(
        "the cancel confirmation",
        |s| s.contains("Cancel the run?"),
        10,
    );
    tmux.keys(&["y"]);
    tmux.keys(&["@"]);
    tmux.wait_for(
        "the cancel in the action log, answered",
        |s| s.contains("Action log · 1") && s.contains("✔ cancel"),
        20,
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the log closed", |s| !s.contains("Action log ·"), 10);
    tmux.keys(&["!"]);
    let screen = tmux.wait_for("the notices list again", |s| s.contains("Notices · "), 10);
    assert!(screen.contains("Notices · 3"), "{screen}");
    assert!(!screen.contains("cancelled the run"), "{screen}");
}
