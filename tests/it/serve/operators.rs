//! `baton schedules`, `baton schedule pause|resume|trigger`: on the audit chain under
//! the OS account; a pause survives restarts; a trigger starts a run with its params.
use super::*;

const DAILY: &str = r#"name = "nightly"

[params.env]
type = "enum"
values = ["staging", "production"]
default = "staging"

[[schedule]]
cron = "0 2 * * *"
params = { env = "production" }

[[step]]
id = "say"
env = { TARGET = "${{ params.env }}" }
run = 'echo "$TARGET" >> ../said'
"#;

fn audit_actions(s: &Served) -> Vec<(String, String, String)> {
    let c = s.db();
    let mut st = c
        .prepare("SELECT action, actor, reason FROM audit WHERE run_id = 'schedules' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn pause_survives_a_restart_and_trigger_starts_a_run_all_on_record() {
    let mut s = Served::new();
    s.write("nightly.toml", DAILY);
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;

    let out = s.env.run(&[
        "schedule",
        "pause",
        "nightly#1",
        "--reason",
        "db maintenance",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bad = s
        .env
        .run(&["schedule", "pause", "nightly#2", "--reason", "x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("nightly#1"),
        "{}",
        text(&bad.stderr)
    );
    term(child);
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let listed = s.schedules();
    assert_eq!(listed[0]["paused"]["reason"], "db maintenance");
    assert_eq!(listed[0]["paused"]["by"], me.as_str());
    let table = text(&s.env.run(&["schedules"]).stdout);
    assert!(
        table.contains("SCHEDULE") && table.contains("paused by"),
        "{table}"
    );

    // A trigger with a bad param is refused before anything is recorded.
    let bad = s
        .env
        .run(&["schedule", "trigger", "nightly", "--param", "env=moon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    let out = s.env.run(&[
        "schedule",
        "trigger",
        "nightly",
        "--param",
        "env=staging",
        "--reason",
        "rerun",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("the triggered run to say its param", secs(30), || {
        std::fs::read_to_string(s.env.path().join("said")).is_ok_and(|t| t == "staging\n")
    });
    let out = s
        .env
        .run(&["schedule", "resume", "nightly", "--reason", "done"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    term(child);

    let actions = audit_actions(&s);
    let expected = [
        ("schedule_paused", "db maintenance"),
        ("schedule_triggered", "rerun"),
        ("schedule_resumed", "done"),
    ];
    assert_eq!(actions.len(), 3, "{actions:?}");
    for ((action, actor, reason), (want, why)) in actions.iter().zip(expected) {
        assert_eq!((action.as_str(), reason.as_str()), (want, why));
        assert_eq!(actor, &me);
    }
    let verify = s.env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    // Each decision can be read: `baton audit` lists the store's own, in order.
    let listed = s.env.run(&["audit"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let table = text(&listed.stdout);
    let at = |w: &str| table.find(w).unwrap_or_else(|| panic!("{w} in {table}"));
    assert!(at("schedule_paused") < at("schedule_triggered"), "{table}");
    assert!(at("schedule_triggered") < at("schedule_resumed"), "{table}");
    assert!(
        table.contains("nightly#1") && table.contains("db maintenance"),
        "{table}"
    );
}
