//! Issue 44 point 3: push back. `baton push-back RUN GATE --reason T`: the gated step
//! does not run; its `revise` steps (and the steps between them and the gate) run again
//! with `$BATON_FEEDBACK` and `$BATON_ROUND`; the gate opens again, round N of M, with
//! the revised outputs' diff; `rounds` caps it; every round is on the audit chain; a
//! kill -9 mid-round loses nothing and runs nothing twice.
use crate::helpers::*;
use serde_json::Value;

/// `draft` counts its runs and notes the round and feedback it saw; `publish` is gated
/// and revises `draft`.
const REVIEW: &str = r#"
name = "review"
[[step]]
id = "draft"
run = '''
n=$(cat draft.count 2>/dev/null || echo 0); n=$((n+1)); echo $n > draft.count
printf '%s|%s\n' "${BATON_ROUND:-1}" "${BATON_FEEDBACK:-none}" >> draft.seen
echo "text=draft $n" >> "$BATON_OUTPUT"
'''

[[step]]
id = "publish"
needs = ["draft"]
run = 'echo "$TEXT" >> published'
env = { TEXT = "${{ steps.draft.outputs.text }}" }
gate = { prompt = "Publish ${{ steps.draft.outputs.text }}?", revise = ["draft"], rounds = 3 }
"#;

fn audit_rows(env: &Env, run: &str) -> Vec<Value> {
    let out = env.run(&["audit", run, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("audit --json");
    v.as_array().expect("rows").clone()
}

fn count(rows: &[Value], action: &str, step: &str) -> usize {
    rows.iter()
        .filter(|r| r["action"] == action && r["step"] == step)
        .count()
}

/// The gate is open in round `n`.
fn wait_round(env: &Env, run: &str, n: u64) -> Value {
    wait_until(&format!("round {n} of the gate"), secs(30), || {
        let show = env.show(run);
        let round = step_field(&show, "publish", "round");
        if step_state(&show, "publish").as_deref() == Some("waiting_approval") && round["n"] == n {
            Ok(show)
        } else {
            Err(format!("{round}"))
        }
    })
}

fn read(env: &Env, name: &str) -> String {
    std::fs::read_to_string(env.path().join(name)).unwrap_or_default()
}

#[test]
fn two_push_backs_then_approve_run_the_gated_step_once_on_the_last_round() {
    let env = Env::new();
    let wf = env.workflow("review.toml", REVIEW);
    let (engine, run) = env.spawn_until(&wf, "publish", "waiting_approval");
    let show = wait_round(&env, &run, 1);
    assert_eq!(step_field(&show, "publish", "round")["of"], 3, "{show:#}");
    ok(&env.run(&["push-back", &run, "publish", "--reason", "shorter, please"]));
    let show = wait_round(&env, &run, 2);
    let round = step_field(&show, "publish", "round");
    assert_eq!(round["revise"], serde_json::json!(["draft"]), "{round}");
    let diff = round["diff"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-text=draft 1") && diff.contains("+text=draft 2"),
        "{diff}"
    );
    // `show` and the inbox say the round, `show` the diff; the inbox offers push-back.
    let shown = text(&env.run(&["show", &run]).stdout);
    assert!(
        shown.contains("Publish draft 2? (round 2 of 3)") && shown.contains("+text=draft 2"),
        "{shown}"
    );
    let inbox = text(&env.run(&["inbox"]).stdout);
    assert!(
        inbox.contains(&format!("baton push-back {run} publish --reason")),
        "{inbox}"
    );
    // The feedback is a value in the environment, never shell code.
    let sneaky = "$(touch pwned) and `touch pwned2`; be brief";
    ok(&env.run(&["push-back", &run, "publish", "--reason", sneaky]));
    wait_round(&env, &run, 3);
    // The last round: only approve or reject; refused as a usage error, exit 2.
    let out = env.run(&["push-back", &run, "publish", "--reason", "again"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("last round (3 of 3)"), "{said}");
    ok(&env.run(&["approve", &run, "publish", "--reason", "good now"]));
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(
        read(&env, "published"),
        "draft 3\n",
        "the last round's output, once"
    );
    assert_eq!(
        read(&env, "draft.seen"),
        format!("1|none\n2|shorter, please\n3|{sneaky}\n")
    );
    assert!(!env.path().join("pwned").exists() && !env.path().join("pwned2").exists());
    let show = env.show(&run);
    assert_eq!(step_field(&show, "draft", "attempts"), 3, "attempts go on");
    assert_eq!(step_field(&show, "publish", "attempts"), 1);
    // Every round on the chain: two push-backs, three openings; the chain verifies.
    let rows = audit_rows(&env, &run);
    assert_eq!(count(&rows, "pushed_back", "publish"), 2, "{rows:#?}");
    assert_eq!(count(&rows, "gate_opened", "publish"), 3, "{rows:#?}");
    let listed = text(&env.run(&["audit", &run]).stdout);
    assert!(
        listed.contains("gate_opened (round 3 of 3)")
            && listed.contains("pushed_back (round 2 of 3)"),
        "{listed}"
    );
    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn push_back_needs_a_reason_an_approver_and_a_gate_that_revises() {
    let env = Env::new();
    let wf = env.workflow(
        "plain.toml",
        r#"
name = "plain"
[[step]]
id = "ship"
run = "true"
gate = { prompt = "ship?" }
"#,
    );
    let (engine, run) = env.spawn_until(&wf, "ship", "waiting_approval");
    let out = env.run(&["push-back", &run, "ship", "--reason", "redo"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("names no steps to revise"), "{said}");
    ok(&env.run(&["reject", &run, "ship", "--reason", "done here"]));
    let _ = wait_child(engine, 30);
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "review.toml",
        &REVIEW.replace("rounds = 3 }", "rounds = 3, approvers = [\"root\"] }"),
    );
    let (engine, run) = env.spawn_until(&wf, "publish", "waiting_approval");
    let out = env.run(&["push-back", &run, "publish", "--reason", " "]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("reason is required to push back"), "{said}");
    // Only the gate's approvers push it back, as only they reject it.
    let out = env.run_as_nobody(&["push-back", &run, "publish", "--reason", "mine"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("not an approver"), "{said}");
    ok(&env.run(&["reject", &run, "publish", "--reason", "no"]));
    let _ = wait_child(engine, 30);
}

/// kill -9 of the engine while a revised step runs in round 2; resume: the round goes
/// on, `draft` (done in round 2) does not run again, the gate reopens once.
#[test]
fn kill_9_mid_round_resumes_the_round_without_running_anything_twice() {
    let env = Env::new();
    let wf = env.workflow(
        "review.toml",
        r#"
name = "review"
[[step]]
id = "draft"
run = 'n=$(cat draft.count 2>/dev/null || echo 0); echo $((n+1)) > draft.count; echo "text=draft $((n+1))" >> "$BATON_OUTPUT"'

[[step]]
id = "polish"
needs = ["draft"]
idempotent = true
run = '''
echo "${BATON_ROUND:-1}" >> polish.starts
if [ -n "$BATON_ROUND" ]; then while [ ! -e go ] && [ -e $PWD ]; do sleep 0.05; done; fi
echo "${BATON_ROUND:-1}|$BATON_FEEDBACK" >> polish.done
echo "text=polished $(cat draft.count)" >> "$BATON_OUTPUT"
'''

[[step]]
id = "publish"
needs = ["polish"]
run = 'echo published >> published'
gate = { prompt = "Publish?", revise = ["draft"] }
"#,
    );
    let (mut engine, run) = env.spawn_until(&wf, "publish", "waiting_approval");
    ok(&env.run(&["push-back", &run, "publish", "--reason", "tighter"]));
    env.wait_step(&run, "polish", "running", 30);
    wait_until("polish's round-2 start", secs(30), || {
        read(&env, "polish.starts").lines().count() == 2
    });
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    let resumed = env.spawn(&["resume", &run, "--headless"]);
    wait_until("polish to start again in round 2", secs(30), || {
        read(&env, "polish.starts") == "1\n2\n2\n"
    });
    std::fs::write(env.path().join("go"), "").expect("go");
    let show = wait_round(&env, &run, 2);
    assert_eq!(
        step_field(&show, "publish", "round")["of"],
        3,
        "rounds default to 3"
    );
    ok(&env.run(&["approve", &run, "publish", "--reason", "ok"]));
    let done = wait_child(resumed, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(read(&env, "draft.count"), "2\n", "draft ran once per round");
    assert_eq!(
        read(&env, "polish.done"),
        "1|\n2|tighter\n",
        "polish ended once per round"
    );
    assert_eq!(read(&env, "published"), "published\n");
    let rows = audit_rows(&env, &run);
    assert_eq!(count(&rows, "pushed_back", "publish"), 1, "{rows:#?}");
    assert_eq!(
        count(&rows, "gate_opened", "publish"),
        2,
        "the gate reopened once"
    );
    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

/// `validate` checks `revise` and `rounds` where they are written (FILE:LINE:COL).
#[test]
fn validate_checks_revise_and_rounds() {
    let env = Env::new();
    let wf = env.workflow(
        "bad.toml",
        r#"name = "bad"
[[step]]
id = "draft"
run = "true"
[[step]]
id = "aside"
run = "true"
[[step]]
id = "publish"
needs = ["draft"]
run = "true"
gate = { revise = ["draft", "drfat", "aside"], rounds = 0 }
[[step]]
id = "other"
needs = ["draft"]
run = "true"
gate = { rounds = 2 }
[[step]]
id = "third"
needs = ["draft"]
run = "true"
gate = { revise = ["draft"], rounds = 99 }
[[step]]
id = "fan"
matrix = { os = ["linux", "macos"] }
run = "true"
[[step]]
id = "fourth"
needs = ["fan"]
run = "true"
gate = { revise = ["fan"] }
"#,
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    for want in [
        "bad.toml:12:29: error: the gate of step `publish` revises \"drfat\", which is not a step",
        "hint: did you mean `draft`?",
        "bad.toml:12:38: error: the gate of step `publish` revises `aside`, which is not among its ancestors",
        "bad.toml:12:57: error: `rounds` of the gate of step `publish` must be at least 1",
        "bad.toml:17:19: error: the gate of step `other` has `rounds` but no `revise`",
        "bad.toml:22:39: error: the gate of step `third` has `rounds = 99`, more than 20",
        "bad.toml:31:20: error: the gate of step `fourth` revises `fan`, a `matrix` or `for_each` step",
    ] {
        assert!(said.contains(want), "{want}\nnot in:\n{said}");
    }
}
