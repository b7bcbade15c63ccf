//! Issue 75 point 7: `baton serve` never stalls its slots on one run's cancel. A run
//! the serve makes may have to cancel another (`cancel_running`'s holder, a waiting run
//! replaced past `max_pending`); that cancel waits up to 10 s for the other run's
//! engine. The serve used to await it before firing again, so every schedule's slots
//! came late; now the cancel goes on beside the serve's loop.
use super::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A workflow of its own concurrency group that cancels its holder, served with a
/// yearly schedule (only triggered here); its step waits for `go`.
fn line(go: &Path) -> String {
    format!(
        r#"name = "line"
concurrency = {{ group = "line", on_conflict = "cancel_running" }}

[[schedule]]
cron = "0 0 1 1 *"

[[step]]
id = "hold"
run = 'until [ -e "{}" ]; do sleep 0.1; done'
"#,
        go.display()
    )
}

/// A per-second schedule of a quick run.
const TICK: &str = r#"name = "tick"

[[schedule]]
cron = "* * * * * *"

[[step]]
id = "beat"
run = "true"
"#;

/// How many of `tick`'s slots made a run.
fn tick_runs(s: &Served) -> usize {
    s.db()
        .query_row(
            "SELECT COUNT(*) FROM schedule_slots WHERE file LIKE '%tick.toml' AND run_id IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_or(0, |n| n as usize)
}

/// The first command to `run` that waits, undecided, for its engine.
fn first_pending(s: &Served, run: &str) -> Option<i64> {
    s.db()
        .query_row(
            "SELECT min(id) FROM commands WHERE run_id = ?1 AND status = 'pending'",
            [run],
            |r| r.get::<_, Option<i64>>(0),
        )
        .ok()
        .flatten()
}

/// Whether command `id` still waits for its engine.
fn still_pending(s: &Served, id: i64) -> bool {
    s.db()
        .query_row("SELECT status FROM commands WHERE id = ?1", [id], |r| {
            r.get::<_, String>(0)
        })
        .is_ok_and(|st| st == "pending")
}

#[test]
fn a_cancel_waiting_for_a_stopped_engine_delays_no_slot() {
    let mut s = Served::new();
    let go = s.env.path().join("go");
    let line_wf = s.write("line.toml", &line(&go));
    // The group's holder: a run of another process, whose engine is stopped, so the
    // cancel the triggered run sends it waits its whole 10 s.
    let (holder, a) = s.env.spawn_until(&line_wf, "hold", "running");
    let pid = Pid::from_raw(holder.id() as i32);
    kill(pid, Signal::SIGSTOP).expect("stop the holder's engine");
    s.write("tick.toml", TICK);
    let (serve, log) = s.start(&[]);
    wait_until("tick's first slot run", secs(60), || {
        (tick_runs(&s) > 0).then_some(())
    });
    let out = s
        .env
        .run(&["schedule", "trigger", "line", "--reason", "now"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cancel = wait_until("the supersede's cancel sent", secs(30), || {
        first_pending(&s, &a)
    });
    let before = tick_runs(&s);
    // While that cancel still waits on the stopped engine, tick's slots go on.
    wait_until(
        "two more tick slots while the cancel waits",
        secs(30),
        || {
            let made = tick_runs(&s);
            if made >= before + 2 {
                return Ok(());
            }
            assert!(
                still_pending(&s, cancel),
                "the cancel was decided or withdrawn first: tick made {} run(s) meanwhile; the serve waited on it\n{}",
                made - before,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            Err(format!("{made} tick run(s)"))
        },
    );
    assert!(still_pending(&s, cancel), "still undecided");
    kill(pid, Signal::SIGCONT).expect("continue the holder's engine");
    std::fs::write(&go, "").expect("write go");
    let _ = wait_child(holder, 60);
    term(serve);
}
