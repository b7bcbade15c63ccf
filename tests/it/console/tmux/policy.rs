//! Issue 44 point 4 in the console: the Approvals tab shows an open gate's `auto`
//! rules (none held, so a person decides) and which rule decided the gates a policy
//! decided.
use super::*;

#[test]
fn the_approvals_tab_shows_the_rules_and_which_one_decided() {
    let env = Env::new();
    let wf = env.workflow(
        "policy.toml",
        r#"name = "policy"
[params.cmd]
default = "rm -rf /tmp/x"
[[step]]
id = "wipe"
run = "true"
[step.gate]
auto = [{ if = "starts_with(params.cmd, 'rm ')", decide = "reject", reason = "never delete" }]
[[step]]
id = "ship"
run = "true"
[step.gate]
prompt = "Ship it?"
auto = [{ if = "params.cmd == 'ls'", decide = "approve", reason = "read-only" }]
"#,
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    env.wait_step(&id, "wipe", "rejected", 20);
    let command = format!(
        "cd {} && BATON_DB={} {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    // It opens on Waiting (the open gate); Enter opens its run, 2 its Approvals.
    tmux.wait_for("the waiting gate", |s| s.contains("Ship it?"), 20);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the run", |s| s.contains("wipe"), 20);
    tmux.keys(&["2"]);
    tmux.wait_for(
        "the open gate's rules and the rule that decided the other",
        |s| {
            s.contains("policy    rule 1: if params.cmd == 'ls' then approve (read-only)")
                && s.contains("no rule held when it opened: a person decides")
                && s.contains("wipe rejected by policy rule 1: never delete; condition true")
        },
        20,
    );
    drop(tmux);
    let mut engine = engine;
    let _ = engine.kill();
    let _ = engine.wait();
}
