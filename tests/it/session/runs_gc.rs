//! Issue 10 point 4: a run's liveness is visible (`runs`, `show` say `interrupted` when
//! its engine is gone), and `runs rm` / `gc` delete finished runs with the deletion on
//! the audit chain.
use crate::helpers::*;
use rusqlite::Connection;
use serde_json::Value;
use std::process::Child;

const GATED: &str = r#"
name = "gated"
[[step]]
id = "build"
run = 'echo built'

[[step]]
id = "deploy"
needs = ["build"]
run = "true"
gate = { prompt = "Ship?" }
"#;

/// A headless engine waiting at the `deploy` gate.
fn gated(env: &Env) -> (Child, String) {
    let wf = env.workflow("gated.toml", GATED);
    let before = if env.db().exists() {
        ids(env)
    } else {
        Vec::new()
    };
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = wait_until("a new run to appear", secs(10), || {
        // The engine creates the file before SQLite writes its header: a `runs` that
        // finds it empty is tried again, as `wait_run_id` does.
        let listed = env.run(&["runs", "--json"]);
        let runs = serde_json::from_slice::<serde_json::Value>(&listed.stdout).ok()?;
        let id = runs
            .as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|i| !before.iter().any(|b| b == i))?;
        Some(id.to_string())
    });
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    (child, id)
}

/// The ids of the runs listed by `runs --json`, newest first.
fn ids(env: &Env) -> Vec<String> {
    env.runs()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// A run to its end (auto-approved, so it has audit rows); its id.
fn finished(env: &Env) -> String {
    let wf = env.workflow("gated.toml", GATED);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless", "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    run_id_of(&text(&out.stdout))
}

fn kill_engine(mut child: Child) {
    child.kill().unwrap(); // SIGKILL: no chance to release the lease
    child.wait().unwrap();
}

fn run_entry(env: &Env, id: &str) -> Value {
    env.runs()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("run {id} not listed"))
}

fn db(env: &Env) -> Connection {
    Connection::open(env.db()).unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn code_and_output(env: &Env, args: &[&str]) -> (i32, String) {
    let out = env.run(args);
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

fn verify_intact(env: &Env) {
    let (code, out) = code_and_output(env, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
}

#[test]
fn a_killed_engines_run_reads_interrupted_at_once_and_a_live_one_cannot_be_removed() {
    let env = Env::new();
    let (child, id) = gated(&env);
    let pid = child.id().to_string();
    let live = run_entry(&env, &id);
    assert_eq!(live["state"], "waiting", "{live}");
    assert!(
        live["driven_by"].as_str().is_some_and(|h| h.contains(&pid)),
        "{live}"
    );
    // A live engine's run is refused, naming its holder; nothing is deleted.
    let (code, out) = code_and_output(&env, &["runs", "rm", &id, "--yes"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused") && out.contains(&pid), "{out}");
    assert_eq!(env.show(&id)["state"], "waiting");

    kill_engine(child);
    let listed = run_entry(&env, &id);
    assert_eq!(listed["state"], "interrupted", "{listed}");
    assert_eq!(listed["driven_by"], Value::Null);
    let show = env.show(&id);
    assert_eq!(show["state"], "interrupted", "{show:#}");
    assert_eq!(show["driven_by"], Value::Null);
    let out = env.run(&["runs"]);
    assert!(text(&out.stdout).contains("interrupted"));
    // An interrupted run may be removed.
    let (code, out) = code_and_output(&env, &["runs", "rm", &id]);
    assert_eq!(code, 0, "{out}");
    assert!(env.runs().as_array().unwrap().is_empty());
    verify_intact(&env);
}

#[test]
fn a_lease_held_on_another_host_reads_live_until_its_heartbeat_is_15_s_old() {
    let env = Env::new();
    let (child, id) = gated(&env);
    kill_engine(child);
    // As if an engine on another host held it: its process cannot be checked from here.
    let set_beat = |ago_ms: i64| {
        db(&env)
            .execute(
                "UPDATE leases SET holder = 'pid 4242 on far-away-host', heartbeat_at = ?2
                 WHERE run_id = ?1",
                rusqlite::params![id, now_ms() - ago_ms],
            )
            .unwrap();
    };
    set_beat(10_000);
    let listed = run_entry(&env, &id);
    assert_eq!(listed["state"], "waiting", "{listed}");
    assert_eq!(listed["driven_by"], "pid 4242 on far-away-host");
    assert_eq!(env.show(&id)["state"], "waiting");
    let (code, out) = code_and_output(&env, &["runs", "rm", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("far-away-host"), "{out}");
    set_beat(16_000);
    let listed = run_entry(&env, &id);
    assert_eq!(listed["state"], "interrupted", "{listed}");
    assert_eq!(listed["driven_by"], Value::Null);
    assert_eq!(env.show(&id)["state"], "interrupted");
}

#[test]
fn runs_rm_deletes_every_row_and_the_logs_and_the_audit_chain_still_verifies() {
    let env = Env::new();
    let gone = finished(&env);
    let kept = finished(&env);
    let logs = env.db().parent().unwrap().join("logs").join(&gone);
    assert!(
        logs.is_dir(),
        "{} should hold the run's logs",
        logs.display()
    );
    let kept_events: i64 = db(&env)
        .query_row(
            "SELECT count(*) FROM events WHERE run_id = ?1",
            [&kept],
            |r| r.get(0),
        )
        .unwrap();
    verify_intact(&env);

    // stdin is not a terminal: no question asked.
    let (code, out) = code_and_output(&env, &["runs", "rm", &gone[..10]]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("deleted run {gone}")), "{out}");

    let c = db(&env);
    for table in [
        "runs",
        "events",
        "steps",
        "attempts",
        "errors",
        "approvals",
        "commands",
        "leases",
    ] {
        let col = if table == "runs" { "id" } else { "run_id" };
        let n: i64 = c
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE {col} = ?1"),
                [&gone],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table} still holds rows of the deleted run");
    }
    // Its decisions are blanked; the deletion itself is on record.
    let rows: Vec<(String, String, String)> = c
        .prepare(
            "SELECT action, actor, coalesce(reason, '') FROM audit WHERE run_id = ?1 ORDER BY id",
        )
        .unwrap()
        .query_map([&gone], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (last, blanked) = rows.split_last().unwrap();
    assert!(!blanked.is_empty());
    assert!(blanked.iter().all(|(a, _, _)| a == "redacted"), "{rows:?}");
    assert_eq!(last.0, "run_deleted");
    assert!(!last.1.is_empty() && last.2.contains("runs rm"), "{last:?}");
    assert!(!logs.exists(), "the log directory is removed");

    let out = env.run(&["show", &gone]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(env.show(&kept)["state"], "succeeded");
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM events WHERE run_id = ?1",
            [&kept],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, kept_events, "the other run is untouched");
    verify_intact(&env);
    // Tampering elsewhere still shows after a deletion.
    let n = c
        .execute(
            "UPDATE audit SET actor = 'mallory' WHERE id = (SELECT min(id) FROM audit WHERE run_id = ?1)",
            [&kept],
        )
        .unwrap();
    assert_eq!(n, 1);
    let (code, out) = code_and_output(&env, &["audit", "verify"]);
    assert_eq!(code, 1, "{out}");
    // Unknown runs are a usage error.
    let (code, _) = code_and_output(&env, &["runs", "rm", "nope"]);
    assert_eq!(code, 2);
}

#[test]
fn gc_deletes_by_age_from_the_end_and_keeps_interrupted_runs_unless_asked() {
    let env = Env::new();
    let old = finished(&env);
    let recent = finished(&env);
    let (child, stuck) = gated(&env);
    kill_engine(child);
    let day = 86_400_000;
    let c = db(&env);
    let end = |id: &str, ms_ago: i64| {
        c.execute(
            "UPDATE runs SET finished_at = ?2 WHERE id = ?1",
            rusqlite::params![id, now_ms() - ms_ago],
        )
        .unwrap();
    };
    end(&old, 3 * day);
    end(&recent, 3_600_000);
    end(&stuck, 3 * day);

    let (code, out) = code_and_output(&env, &["gc", "--older-than", "2d", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&old) && !out.contains(&recent) && !out.contains(&stuck),
        "{out}"
    );
    assert_eq!(ids(&env).len(), 3, "a dry run deletes nothing");

    let (code, out) = code_and_output(&env, &["gc", "--older-than", "2d"]);
    assert_eq!(code, 0, "{out}");
    let left = ids(&env);
    assert!(!left.contains(&old), "{left:?}");
    assert!(left.contains(&recent) && left.contains(&stuck), "{left:?}");

    let (code, out) = code_and_output(
        &env,
        &["gc", "--older-than", "2d", "--include-interrupted", "--yes"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(ids(&env), vec![recent.clone()]);

    let (code, out) = code_and_output(&env, &["gc", "--older-than", "2d"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to delete"), "{out}");
    let (code, out) = code_and_output(&env, &["gc", "--older-than", "two days"]);
    assert_eq!(code, 2, "{out}");
    verify_intact(&env);
}

/// Security review: `runs rm` and `gc` recorded the deleter as `$USER` when the uid had
/// no name in the password database. A deletion is recorded under the OS account, as
/// every decision is: such a uid is refused (exit 2) and nothing is deleted.
#[test]
fn a_deletion_by_a_uid_without_a_name_is_refused_not_recorded_under_user() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs to act as a uid with no name: run it as root"
    );
    let env = Env::new();
    let id = env.finished_run();
    // The store and its directory become the nameless uid's own (a private store).
    let nameless = "54321";
    assert!(
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(54321))
            .unwrap()
            .is_none()
    );
    env.give_store_to(54321);
    for args in [
        vec!["runs", "rm", id.as_str(), "--yes"],
        vec!["gc", "--older-than", "0s", "--yes"],
    ] {
        let out = as_other_account(&mut std::process::Command::new("setpriv"))
            .args([
                &format!("--reuid={nameless}"),
                &format!("--regid={nameless}"),
                "--clear-groups",
            ])
            .arg(env!("CARGO_BIN_EXE_baton"))
            .args(&args)
            .env("BATON_DB", env.db())
            .env("XDG_CONFIG_HOME", env.config_home())
            .env("USER", "alice")
            .current_dir(env.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("has no name in the password database"),
            "{err}"
        );
    }
    // Back to root's, to read it.
    env.give_store_to(0);
    assert_eq!(ids(&env), vec![id], "the run was deleted");
    let audit = Connection::open(env.db()).unwrap();
    let deletions: i64 = audit
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'run_deleted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(deletions, 0);
}
