//! A parent whose engine died, cancelled (`baton cancel`) while a second live engine
//! drives its child: `baton resume CHILD`, started on its own, is no leftover of the
//! parent's step, so the takeover's stop of those leaves it running. The takeover
//! waits for it (`session::child::cancel::Waiting`), renewing the parent's lease as it
//! looks; once that engine lets the child go, the cancel takes it over and cancels it
//! before the parent's step ends (docs/workflow/child-workflows.md, "Limits").
use super::child_crash::{CHILD, holder_pid, kill_nine, parent_killed_mid_child};
use crate::helpers::*;
use serde_json::Value;
use std::process::Child;

/// The lease row of `run`: its holder's pid and when it was last renewed (ms).
fn lease(env: &Env, run: &str) -> Option<(i32, i64)> {
    let raw = rusqlite::Connection::open(env.db()).ok()?;
    let (holder, beat): (String, i64) = raw
        .query_row(
            "SELECT holder, heartbeat_at FROM leases WHERE run_id = ?1",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()?;
    Some((holder_pid(&Value::from(holder))?, beat))
}

/// The processes this test starts, stopped and reaped however it ends.
#[derive(Default)]
struct Started {
    second: Option<Child>,
    cancel: Option<Child>,
}

impl Drop for Started {
    fn drop(&mut self) {
        for c in [self.second.as_mut(), self.cancel.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_parent_s_cancel_waits_for_its_child_s_live_engine_with_its_lease_renewed() {
    let env = Env::new();
    let (parent, kid, child_engine) = parent_killed_mid_child(&env, CHILD);
    // The child's engine of the parent's step killed too: the child is left; a second
    // engine, started here, drives it on and waits at its gate.
    kill_nine(child_engine);
    let mut started = Started::default();
    let second = env.spawn(&["resume", &kid, "--headless"]);
    let second_pid = second.id() as i32;
    started.second = Some(second);
    wait_until("the second engine at the child's gate", secs(30), || {
        let c = env.show(&kid);
        let gate = step_state(&c, "ship").as_deref() == Some("waiting_approval");
        (holder_pid(&c["driven_by"]) == Some(second_pid) && gate).then_some(())
    });

    let cancel = env.spawn(&["cancel", &parent, "--reason", "its engine died"]);
    let cancel_pid = cancel.id() as i32;
    started.cancel = Some(cancel);
    // The takeover holds the parent and waits for the child: it renews the parent's
    // lease a heartbeat (2 s) after the first renewal seen, the child still held.
    let (_, first) = wait_until("the cancel's lease on the parent", secs(30), || {
        lease(&env, &parent).filter(|(pid, _)| *pid == cancel_pid)
    });
    let beat = baton::engine::wake::hold::HEARTBEAT.as_millis() as i64;
    let (holder, renewed) = wait_until("the parent's lease renewed", secs(20), || {
        lease(&env, &parent).filter(|(_, at)| *at >= first + beat)
    });
    assert_eq!(holder, cancel_pid, "the parent's lease went to another");
    // The clock a lease's `heartbeat_at` is written with.
    let age = baton::model::Timestamp::now().0 - renewed;
    assert!(
        age < baton::model::LEASE_STALE.as_millis() as i64,
        "renewed {age} ms ago"
    );
    let c = env.show(&kid);
    assert_eq!(holder_pid(&c["driven_by"]), Some(second_pid), "{c:#}");
    assert_eq!(c["state"], "waiting", "{c:#}");
    let waiting = started
        .cancel
        .as_mut()
        .map(|c| matches!(c.try_wait(), Ok(None)));
    assert_eq!(
        waiting,
        Some(true),
        "the cancel ended while the child was held"
    );

    // The second engine lets the child go (stopped: the child interrupted, its lease
    // released); the cancel takes it over and cancels it, as this account.
    let stop = std::process::Command::new("kill")
        .args(["-TERM", &second_pid.to_string()])
        .status()
        .expect("run kill");
    assert!(stop.success(), "kill -TERM {second_pid}");
    let second = started.second.take().expect("started");
    let out = wait_child(second, 30);
    let said = text(&out.stderr);
    let cancel = started.cancel.take().expect("started");
    let out = wait_child(cancel, 60);
    let cancelled = text(&out.stderr);
    // The run it drove to its end ended cancelled: a cancelled run's exit code.
    assert_eq!(out.status.code(), Some(1), "{cancelled}\nsecond: {said}");
    assert!(
        cancelled.contains(&format!("cancelling child run {kid} of run {parent} first")),
        "{cancelled}"
    );
    assert!(!cancelled.contains("is left as it is"), "{cancelled}");
    assert_eq!(env.show(&parent)["state"], "cancelled");
    let c = env.show(&kid);
    assert_eq!(c["state"], "cancelled", "{c:#}");
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("this process's account");
    let rows = text(&env.run(&["audit", &kid]).stdout);
    assert!(
        rows.lines()
            .any(|l| l.contains("cancel") && l.contains(&me)),
        "the child's cancel names {me}: {rows}"
    );
    for run in [&parent, &kid] {
        let verify = env.run(&["audit", "verify", run]);
        assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    }
}
