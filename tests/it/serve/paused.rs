//! A paused schedule stays paused when a serve starts with a new state file (the first
//! start after an upgrade, another `XDG_STATE_HOME`, the file removed): the pause's
//! proof was used by the serve that checked it, so the new serve cannot check it again
//! and fails safe; only a resume it proves lifts it. Across `kill -9` too.
use super::*;

/// Every other second, with a step that ends at once.
const TICK: &str = "name = \"tick\"\n\n[[schedule]]\ncron = \"*/2 * * * * *\"\n\n[[step]]\nid = \"say\"\nrun = \"true\"\n";

/// (slot, fate, run) of every slot row of the schedule after `at` (ms).
fn slots_after(s: &Served, at: i64) -> Vec<(i64, String, Option<String>)> {
    let c = s.db();
    let mut st = c
        .prepare(
            "SELECT slot_at, fate, run_id FROM schedule_slots WHERE idx = 1 AND slot_at > ?1 ORDER BY slot_at",
        )
        .unwrap();
    st.query_map([at], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn started_after(s: &Served, at: i64) -> Vec<i64> {
    slots_after(s, at)
        .into_iter()
        .filter(|(_, _, run)| run.is_some())
        .map(|(slot, _, _)| slot)
        .collect()
}

fn paused_after(s: &Served, at: i64) -> usize {
    slots_after(s, at)
        .iter()
        .filter(|(_, fate, _)| fate == "paused")
        .count()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The serve's own record (its state file): removed, as a new `XDG_STATE_HOME` or an
/// upgrade from a baton that kept none would leave it. It existed.
fn lose_state_file(s: &Served) {
    let dir = s.env.path().join("xdg-state").join("baton").join("serve");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .collect();
    assert!(
        !files.is_empty(),
        "the serve kept a record in {}",
        dir.display()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pause(s: &Served, reason: &str) -> i64 {
    let out = s
        .env
        .run(&["schedule", "pause", "tick", "--reason", reason]);
    assert!(out.status.success(), "pause: {}", text(&out.stderr));
    now_ms()
}

fn resume(s: &Served) -> i64 {
    let out = s
        .env
        .run(&["schedule", "resume", "tick", "--reason", "go on"]);
    assert!(out.status.success(), "resume: {}", text(&out.stderr));
    now_ms()
}

/// Two slots decided after `restarted`, whatever their fate.
fn two_slots_after(s: &Served, restarted: i64) {
    wait_until("two slots decided after the restart", secs(60), || {
        slots_after(s, restarted).len() >= 2
    });
}

/// Started with no record: the slots that come are recorded paused, and none after the
/// pause (with a tick's margin: a slot decided as the pause was written) made a run.
fn stays_paused(s: &Served, paused_at: i64, log: &Path, why: &str) {
    let restarted = now_ms();
    two_slots_after(s, restarted);
    let ran = started_after(s, paused_at + 1000);
    assert!(ran.is_empty(), "slots ran while paused: {ran:?}");
    assert!(
        paused_after(s, restarted) >= 2,
        "{:?}",
        slots_after(s, restarted)
    );
    let said = std::fs::read_to_string(log).unwrap();
    assert!(
        said.contains(why),
        "the serve says why it holds the pause: {said}"
    );
    // `baton schedules` and the serve agree: paused, by this account, proved.
    let listed = s.schedules();
    assert_eq!(listed[0]["paused"]["reason"], "hold", "{listed:#}");
    assert_eq!(
        listed[0]["paused"]["unproven"],
        serde_json::Value::Null,
        "{listed:#}"
    );
    assert_eq!(listed[0]["paused"]["row_cleared"], false, "{listed:#}");
    let table = text(&s.env.run(&["schedules"]).stdout);
    assert!(table.contains("paused by"), "{table}");
}

/// How many refusals on the audit chain are of a `decision` (`pause`, `resume`) asked
/// as `by`.
fn refusals(s: &Served, decision: &str, by: &str) -> i64 {
    s.db()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'command_refused'
               AND json_extract(details, '$.decision') = ?1
               AND json_extract(details, '$.requested_by') = ?2",
            [decision, by],
            |r| r.get(0),
        )
        .unwrap()
}

/// The schedule's row cleared with plain SQL: no decision, no proof.
fn clear_row(s: &Served, file: &Path) {
    s.db()
        .execute(
            "UPDATE schedules SET paused = 0, paused_by = NULL, paused_reason = NULL, paused_at = NULL WHERE file = ?1",
            [file.to_str().unwrap()],
        )
        .unwrap();
}

/// A serve started on the store, once it has loaded its files and run a first slot.
fn start_and_run_a_slot(s: &mut Served) -> (Child, PathBuf) {
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    wait_until("a first slot to run", secs(60), || {
        !started_after(s, 0).is_empty()
    });
    (child, log)
}

/// A resume this serve proves lifts the pause: a slot runs again.
fn resume_runs(s: &Served) {
    let resumed = resume(s);
    wait_until("a slot to run after the resume", secs(60), || {
        !started_after(s, resumed).is_empty()
    });
}

#[test]
fn a_proved_pause_holds_when_the_serve_starts_with_a_new_state_file() {
    let mut s = Served::new();
    s.write("tick.toml", TICK);
    let (child, log) = start_and_run_a_slot(&mut s);
    let paused_at = pause(&s, "hold");
    // This serve checked the pause's proof (and so used it up), and goes by it.
    wait_log(&log, "paused by", 30);
    wait_until("a slot recorded paused", secs(60), || {
        paused_after(&s, paused_at) >= 1
    });
    term(child);

    lose_state_file(&s);
    let (child, log) = s.start(&[]);
    stays_paused(&s, paused_at, &log, "pause_on_record");
    resume_runs(&s);
    term(child);
    // The decisions are the operator's alone on record; the chain is intact.
    let verify = s.env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn a_pause_holds_across_kill_9_and_a_new_state_file() {
    let mut s = Served::new();
    s.write("tick.toml", TICK);
    let (mut child, _) = start_and_run_a_slot(&mut s);

    // Killed at once after the pause: before or after its next tick checked the proof.
    let paused_at = pause(&s, "hold");
    kill9(&mut child);
    lose_state_file(&s);
    let (mut child, log) = s.start(&[]);
    stays_paused(&s, paused_at, &log, "pause");
    resume_runs(&s);

    // Killed once it had checked the proof (used it up), before its next slot.
    let paused_at = pause(&s, "hold");
    let proved = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("paused by")
            .count()
    };
    let before = proved();
    wait_until("the serve to check the pause", secs(30), || {
        proved() > before
    });
    kill9(&mut child);
    lose_state_file(&s);
    let (child, log) = s.start(&[]);
    stays_paused(&s, paused_at, &log, "pause_on_record");
    resume_runs(&s);
    term(child);
}

#[test]
fn a_row_cleared_by_hand_does_not_lift_a_pause_for_a_serve_with_no_record() {
    let mut s = Served::new();
    let file = std::fs::canonicalize(s.write("tick.toml", TICK)).unwrap();
    let (child, log) = start_and_run_a_slot(&mut s);
    let paused_at = pause(&s, "hold");
    wait_log(&log, "paused by", 30);
    term(child);

    // The row cleared with plain SQL (no decision, no proof), and the record lost.
    clear_row(&s, &file);
    lose_state_file(&s);
    let (child, log) = s.start(&[]);
    let restarted = now_ms();
    two_slots_after(&s, restarted);
    let ran = started_after(&s, paused_at + 1000);
    assert!(ran.is_empty(), "slots ran while paused: {ran:?}");
    assert!(paused_after(&s, restarted) >= 2);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("paused_on_chain"), "{said}");
    // The cleared row is refused on record, as any row without its decision.
    wait_log(&log, "refused the resume", 30);
    // `baton schedules` and the serve agree: paused, as the audit chain's pause says.
    let listed = s.schedules();
    assert_eq!(listed[0]["paused"]["reason"], "hold", "{listed:#}");
    assert_eq!(listed[0]["paused"]["row_cleared"], true, "{listed:#}");
    let table = text(&s.env.run(&["schedules"]).stdout);
    assert!(
        table.contains("paused by") && table.contains("cleared without a decision"),
        "{table}"
    );
    resume_runs(&s);
    term(child);
}

#[test]
fn a_pause_with_no_decision_is_held_by_a_serve_with_no_record() {
    let mut s = Served::new();
    let file = std::fs::canonicalize(s.write("tick.toml", TICK)).unwrap();
    let (child, _) = start_and_run_a_slot(&mut s);
    term(child);
    // A pause written by hand (as a baton before proofs wrote it): no decision on the
    // chain. A serve with no record of the schedule holds it paused (fail safe) and
    // says why; `baton schedules` says it is unproven.
    let forged = now_ms();
    s.db()
        .execute(
            "UPDATE schedules SET paused = 1, paused_by = 'tester', paused_reason = 'old', paused_at = ?2 WHERE file = ?1",
            rusqlite::params![file.to_str().unwrap(), forged],
        )
        .unwrap();
    lose_state_file(&s);
    let (child, log) = s.start(&[]);
    let restarted = now_ms();
    two_slots_after(&s, restarted);
    let ran = started_after(&s, forged + 1000);
    assert!(ran.is_empty(), "slots ran while paused: {ran:?}");
    assert!(paused_after(&s, restarted) >= 2);
    wait_log(&log, "pause_unrecorded", 30);
    // The forged row is refused on record, once, with why (its pause was not lost
    // silently: the audit chain says why the schedule stopped).
    wait_log(&log, "refused the pause", 30);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("no decision on the audit chain"), "{said}");
    two_slots_after(&s, now_ms());
    assert_eq!(refusals(&s, "pause", "tester"), 1, "refused once");
    let listed = s.schedules();
    assert!(listed[0]["paused"]["unproven"].is_string(), "{listed:#}");
    let table = text(&s.env.run(&["schedules"]).stdout);
    assert!(table.contains("unproven"), "{table}");
    resume_runs(&s);
    term(child);
}

/// A serve that HAS a record of the schedule (its state file kept) applies the rule a
/// serve without one does, and `baton schedules` shows: a pause recorded on the audit
/// chain while it was down holds though its row was cleared before the restart, whether
/// the serve went by "never paused" (the row then says what it kept) or by a resume it
/// proved (the row says something else). Killed with -9 each time.
#[test]
fn a_pause_recorded_while_a_serve_with_a_record_was_down_holds_when_its_row_is_cleared() {
    let mut s = Served::new();
    let file = std::fs::canonicalize(s.write("tick.toml", TICK)).unwrap();
    let (mut child, _) = start_and_run_a_slot(&mut s);
    kill9(&mut child);
    for round in ["never paused", "a proved resume"] {
        let paused_at = pause(&s, "hold");
        clear_row(&s, &file);
        let (mut child, log) = s.start(&[]);
        let restarted = now_ms();
        two_slots_after(&s, restarted);
        let ran = started_after(&s, paused_at + 1000);
        assert!(ran.is_empty(), "{round}: slots ran while paused: {ran:?}");
        assert!(paused_after(&s, restarted) >= 2, "{round}");
        let said = std::fs::read_to_string(&log).unwrap();
        assert!(
            said.contains("stays paused") && said.contains("paused_on_chain"),
            "{round}: the serve says why it holds the pause: {said}"
        );
        // `baton schedules` says the same: paused, its row cleared.
        let listed = s.schedules();
        assert_eq!(listed[0]["paused"]["reason"], "hold", "{listed:#}");
        assert_eq!(listed[0]["paused"]["row_cleared"], true, "{listed:#}");
        // A resume this serve proves lifts it; its record now holds that resume.
        resume_runs(&s);
        kill9(&mut child);
    }
    let verify = s.env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}
