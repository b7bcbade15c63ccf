//! The approve dialog asks for a gate's inputs: a field each (an enum a choice, a bool a
//! toggle, a string typed); what is typed goes to the engine, whose core refuses a value
//! that does not fit (issue 40 point 2: the dialog checks nothing itself) and the
//! refusal shows under the reason box in the words `baton approve` prints; what it
//! gives reaches the step and the record.
use super::*;

#[test]
fn the_approve_dialog_has_a_field_per_input_and_the_cores_refusal_under_it() {
    let env = Env::new();
    let wf = env.workflow(
        "router.toml",
        r#"name = "router"
[[step]]
id = "ship"
run = "printf '%s %s %s' \"$MODEL\" \"$TAG\" \"$DRY\" > picked"
env = { MODEL = "${{ steps.ship.inputs.model }}", TAG = "${{ steps.ship.inputs.tag }}", DRY = "${{ steps.ship.inputs.dry }}" }
[step.gate]
prompt = "Which model?"
[step.gate.inputs]
model = { type = "enum", values = ["pro", "pro-1.5", "flash"], default = "pro" }
tag = { type = "string", required = true, pattern = '^v\d+$' }
dry = { type = "bool", default = false }
"#,
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the run list", |s| s.contains("router"), 20);
    tmux.keys(&["Enter", "2"]);
    tmux.wait_for(
        "the open gate and what it asks",
        |s| s.contains("Which model?") && s.contains("model: pro|pro-1.5|flash, default pro"),
        20,
    );
    tmux.keys(&["a"]);
    tmux.wait_for(
        "a field per input",
        |s| s.contains("‹ pro ›") && s.contains("[ ]") && s.contains("string, required"),
        10,
    );
    // Nothing given for `tag`: the engine's core refuses it, the dialog opens again.
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the core's refusal under the reason box",
        |s| s.contains("✘ input `tag` is required"),
        20,
    );
    // On to `tag`: a wrong value, refused under its field as it is typed (the core's
    // own check), then a right one, and the refusal goes.
    tmux.keys(&["Tab"]);
    tmux.literal("1.0");
    tmux.wait_for(
        "the pattern refusal as it is typed",
        |s| s.contains("[1.0") && s.contains("does not match the pattern"),
        20,
    );
    tmux.keys(&["BSpace", "BSpace", "BSpace"]);
    tmux.literal("v3");
    tmux.wait_for(
        "the right value, no refusal",
        |s| s.contains("[v3") && !s.contains("does not match the pattern"),
        20,
    );
    // Back to `model`: → picks the next choice; on to `dry`: space flips it.
    tmux.keys(&["BTab", "Right"]);
    tmux.wait_for("the next choice", |s| s.contains("‹ pro-1.5 ›"), 10);
    tmux.keys(&["Tab", "Tab", "Space"]);
    tmux.wait_for("the toggle on", |s| s.contains("[x]"), 10);
    // Two proposed values changed: shown against the proposal before the last Enter.
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the changes against the proposal",
        |s| {
            s.contains("You changed what the gate proposed")
                && s.contains("- pro")
                && s.contains("+ pro-1.5")
                && s.contains("+ true")
        },
        10,
    );
    tmux.keys(&["Enter"]);
    let out = wait_child(engine, 90);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("picked")).unwrap(),
        "pro-1.5 v3 true"
    );
    tmux.wait_for("the run to finish", |s| s.contains("succeeded"), 20);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
    let show = env.show(&id);
    assert_eq!(step_field(&show, "ship", "inputs")["model"], "pro-1.5");
}
