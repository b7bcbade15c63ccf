//! The Schedules tab (issue 27 point 5) on the real binary, beside a real `baton serve`:
//! a pause typed with a reason is what `baton schedules --json` and the audit chain
//! show, under the OS account; a trigger starts a run; Enter opens the last run; a file
//! that no longer loads shows its error on its schedule's row.
use super::*;
use crate::serve::{Served, term, wait_log};

const TICK: &str = r#"name = "tick"

[[schedule]]
cron = "* * * * * *"

[[step]]
id = "mark"
run = "true"
"#;

#[test]
fn the_schedules_tab_pauses_and_triggers_on_record_and_opens_the_last_run() {
    let mut s = Served::new();
    // The serve makes the store; the console starts on it before any run exists, so
    // the run Enter opens is not one it showed already.
    let (serve, log) = s.start(&[]);
    wait_log(&log, "serve:", 30);
    wait_until("the store", secs(30), || s.env.db().exists());
    let tmux = Tmux::tui(&s.env, 120, 40);
    tmux.wait_for("the console", |sc| sc.contains("7 Schedules"), 20);
    s.write("tick.toml", TICK);
    tmux.keys(&["7"]);
    tmux.wait_for(
        "the schedule with a last run",
        |sc| sc.contains("tick#1") && sc.contains("succeeded"),
        30,
    );
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;

    a_pause_typed_with_a_reason_is_on_record_as_mine(&s, &tmux, &me);
    let triggered = a_trigger_starts_a_run_on_record_as_mine(&s, &tmux, &me);

    // Enter opens the schedule's last run (not the triggered one), on its DAG.
    let last = s.schedules()[0]["last_run"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(last, triggered);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the last run opened",
        |sc| sc.contains(&last[..8]) && sc.contains("mark") && !sc.contains("Schedules ·"),
        20,
    );
    // A file that no longer loads: its row is marked and its error is in the detail.
    s.write("tick.toml", &TICK.replace("* * * * * *", "61 * * * *"));
    tmux.keys(&["7"]);
    tmux.wait_for(
        "the load error on the tab",
        |sc| {
            sc.contains("✘ tick#1")
                && sc.contains("its file does not load")
                && sc.contains("tick.toml:4:8:")
        },
        20,
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the console to end", |sc| sc.contains("TUI-EXIT=0"), 20);
    term(serve);
}

/// Pause: a reason, Enter, Enter; `baton schedules --json` and the audit chain show it
/// under the OS account.
fn a_pause_typed_with_a_reason_is_on_record_as_mine(s: &Served, tmux: &Tmux, me: &str) {
    tmux.keys(&["p"]);
    tmux.wait_for("the pause dialog", |sc| sc.contains("Pause tick#1"), 10);
    tmux.literal("db maintenance");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the confirm",
        |sc| sc.contains("Enter again to record it"),
        10,
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the row paused",
        |sc| sc.contains(&format!("paused by {me}: db maintenance")),
        10,
    );
    let listed = s.schedules();
    assert_eq!(listed[0]["paused"]["reason"], "db maintenance");
    assert_eq!(listed[0]["paused"]["by"], me);
    let audit: (String, String, String) = s
        .db()
        .query_row(
            "SELECT action, actor, reason FROM audit WHERE run_id = 'schedules'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        audit,
        (
            "schedule_paused".into(),
            me.to_string(),
            "db maintenance".into()
        )
    );
}

/// Trigger now: the serve starts a run of the workflow, on record after the pause.
/// Returns the triggered run.
fn a_trigger_starts_a_run_on_record_as_mine(s: &Served, tmux: &Tmux, me: &str) -> String {
    tmux.keys(&["T"]);
    tmux.wait_for("the trigger dialog", |sc| sc.contains("Trigger tick"), 10);
    tmux.literal("rerun by hand");
    tmux.keys(&["Enter", "Enter"]);
    let triggered: String = wait_until("the triggered run", secs(30), || {
        s.db()
            .query_row(
                "SELECT run_id FROM schedule_slots WHERE idx = 0 AND run_id IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .ok()
    });
    wait_until("the triggered run to succeed", secs(30), || {
        s.env.show(&triggered)["state"] == "succeeded"
    });
    tmux.wait_for("the outcome", |sc| sc.contains("✔ triggered tick"), 10);
    let actions: Vec<(String, String)> = {
        let c = s.db();
        let mut st = c
            .prepare("SELECT action, actor FROM audit WHERE run_id = 'schedules' ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        actions,
        [
            ("schedule_paused".to_string(), me.to_string()),
            ("schedule_triggered".to_string(), me.to_string())
        ]
    );
    triggered
}
