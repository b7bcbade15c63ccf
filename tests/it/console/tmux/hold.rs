//! Issue 58 points 1 and 2 on the real console at 80×24: `P` on a running step asks
//! for a reason and a confirm (saying the step will be frozen), the frozen step then
//! has its own glyph and word (`❄ frozen`), its timeout's clock stops, the footer
//! offers `P release`; the release asks the same, and both reasons are on the audit
//! record as typed (not "held from the console").
use super::*;

const WORKFLOW: &str = r#"name = "freeze"
[[step]]
id = "work"
run = "sleep 120"
timeout = "10m"
"#;

/// Type `reason` in the open dialog, then Enter twice (the second records it).
fn reason_and_confirm(t: &Tmux, reason: &str) {
    t.literal(reason);
    t.wait_for(
        "the reason typed",
        |s| s.contains(&format!("{reason}▏")),
        10,
    );
    t.keys(&["Enter"]);
    t.wait_for(
        "the confirm",
        |s| s.contains("Enter again to record it"),
        10,
    );
    t.keys(&["Enter"]);
}

#[test]
fn p_freezes_a_running_step_with_a_reason_and_release_thaws_it() {
    let env = Env::new();
    let wf = env.workflow("freeze.toml", WORKFLOW);
    let t = Tmux::new(&env, 80, 24, &console_run(&env, &wf));
    let s = t.wait_for("work running", |s| s.contains("▶ work"), 30);
    assert!(s.contains("P hold"), "the footer offers a hold:\n{s}");
    t.keys(&["P"]);
    let s = t.wait_for("the hold dialog", |s| s.contains("Hold work"), 10);
    assert!(s.contains("it is frozen"), "it says what a hold does:\n{s}");
    // No reason, no hold.
    t.keys(&["Enter"]);
    t.wait_for(
        "a reason asked for",
        |s| s.contains("a reason is required"),
        10,
    );
    reason_and_confirm(&t, "HSM down");
    let s = t.wait_for(
        "work frozen",
        |s| s.contains("❄ work") && s.contains("❄ frozen"),
        30,
    );
    assert!(
        s.contains("P release"),
        "the footer offers the release:\n{s}"
    );
    assert!(!s.contains("P hold"), "{s}");
    t.wait_for(
        "the timeout's clock stopped",
        |s| s.contains("stopped while frozen"),
        10,
    );
    let run = env.wait_run_id();
    let held = env.audit_rows(&run, "hold");
    assert_eq!(held[0]["reason"], "HSM down", "{held:#?}");
    t.keys(&["P"]);
    t.wait_for("the release dialog", |s| s.contains("Release work"), 10);
    reason_and_confirm(&t, "fixed");
    let s = t.wait_for(
        "work running again",
        |s| s.contains("▶ work") && !s.contains("❄"),
        30,
    );
    assert!(s.contains("P hold"), "{s}");
    let released = env.audit_rows(&run, "release");
    assert_eq!(released[0]["reason"], "fixed", "{released:#?}");
    let out = env.run(&["cancel", &run]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
