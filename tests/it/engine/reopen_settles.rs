//! Review finding: a finished run reopened by a command its engine claimed (an engine
//! started to serve the commands waiting on it, `retry --detach`) took its group back
//! with a call of its own, not the one that settles a takeover, so the lease that
//! engine took as a takeover stayed marked (`leases.taking_over`) until its first
//! commit. It now settles through `Store::settle_takeover` (`engine::driver::reopen`):
//! the group held again and the mark gone in one transaction, before anything of the
//! reopened run is committed (the failpoint `reopen-held` holds there).
use crate::helpers::*;
use std::process::Stdio;

/// A step of the group `prod` that fails until the file `ok` exists.
const WORKFLOW: &str = r#"
name = "build"
concurrency = { group = "prod", on_conflict = "queue" }

[[step]]
id = "build"
run = "test -e ok || exit 3"
"#;

/// The lease row of `run` (its holder, whether marked) and the run that holds `prod`.
fn lease_and_group(env: &Env, run: &str) -> (Option<(String, bool)>, Option<String>) {
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    let lease = raw
        .query_row(
            "SELECT holder, taking_over FROM leases WHERE run_id = ?1",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let group = raw
        .query_row(
            "SELECT run_id FROM group_members WHERE grp = 'prod' AND active = 1",
            [],
            |r| r.get(0),
        )
        .ok();
    (lease, group)
}

/// The held engine goes on when the test ends, however it ends.
struct Release(std::path::PathBuf);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, b"");
    }
}

#[test]
fn a_finished_run_reopened_by_its_engine_settles_its_takeover_as_it_holds_its_group() {
    let env = Env::new();
    let wf = env.workflow("w.toml", WORKFLOW);
    let failed = env.run(&["run", wf.to_str().expect("a UTF-8 path"), "--headless"]);
    assert!(!failed.status.success(), "{}", text(&failed.stderr));
    let run = env.wait_run_id();
    assert_eq!(env.show(&run)["state"], "failed");
    std::fs::write(env.path().join("ok"), b"").expect("the step can succeed now");
    // The retry is served by a background engine, held once it fed the command.
    let hold = env.path().join("go");
    let release = Release(hold.clone());
    let retry = env
        .cmd()
        .env("BATON_FAILPOINT", "reopen-held:command")
        .env("BATON_FAILPOINT_HOLD", &hold)
        .args(["retry", &run, "build", "--detach", "--wait", "60s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton retry");
    let waiting = env.path().join("go.waiting");
    wait_until("the background engine at its failpoint", secs(30), || {
        waiting.exists().then_some(())
    });
    // Reopened, nothing committed: the group is the run's again, and its engine's
    // takeover settled in the same transaction (the lease no longer marked).
    let (lease, group) = lease_and_group(&env, &run);
    let (holder, marked) = lease.expect("the background engine's lease");
    assert!(holder.starts_with("pid "), "{holder}");
    assert!(!marked, "settled as the run took its group back");
    assert_eq!(group.as_deref(), Some(run.as_str()));
    assert_eq!(env.show(&run)["state"], "failed", "nothing committed yet");
    drop(release);
    let out = wait_child(retry, 60);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    wait_until("the reopened run to succeed", secs(30), || {
        (env.show(&run)["state"] == "succeeded").then_some(())
    });
    let (lease, _) = lease_and_group(&env, &run);
    assert!(
        lease.as_ref().is_none_or(|(_, marked)| !marked),
        "{lease:?}"
    );
}
