//! The read-only CLI (`runs`, `show`, `logs`, `audit`) through the real binary, on a
//! database populated through the Store API.

use crate::helpers::*;
use baton::model::{ErrorKind, EventKind, RunState, StepState};
use baton::store::{AuditKeys, Store};

fn baton(db: &Db, args: &[&str]) -> (i32, String, String) {
    let out = crate::helpers::baton()
        .args(args)
        .env("BATON_DB", &db.path)
        .env_remove("BATON_AUDIT_KEY")
        .env_remove("BATON_AUDIT_KEYS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A run of a workflow with these steps: `show` and `logs` replay the run's events
/// through the engine's core, so the recorded workflow must name its steps.
fn run_of(id: &str, started: i64, steps: &[&str]) -> baton::store::NewRun {
    let mut r = new_run(id, started);
    r.source_text = format!("name = \"{}\"\n", r.workflow);
    for s in steps {
        r.source_text
            .push_str(&format!("[[step]]\nid = \"{s}\"\nrun = \"true\"\n"));
    }
    r
}

/// Two runs: an old succeeded one and a newer failed one with a retried step and an error.
fn populate(db: &Db) -> Store {
    let mut s = Store::open(&db.path).unwrap();
    s.set_audit_keys(AuditKeys::default());
    s.create_run(&run_of("01JOLDRUN0", 1_000, &["build"]))
        .unwrap();
    let mut sc = Script::new("01JOLDRUN0");
    sc.started()
        .ok_step("build")
        .run_finished(RunState::Succeeded);
    s.commit("01JOLDRUN0", &sc.take()).unwrap();

    s.create_run(&run_of("01JNEWRUN0", 2_000, &["build", "test"]))
        .unwrap();
    let mut sc = Script::new("01JNEWRUN0");
    sc.started()
        .ok_step("build")
        .state("test", StepState::Running, 1)
        .finished("test", 1, 2, &[])
        .error("test", 1, ErrorKind::ExitNonzero, "tests failed")
        .state("test", StepState::Failed, 1)
        .push(EventKind::StepMarked {
            step: "build".into(),
            state: StepState::Succeeded,
            actor: "carol".into(),
            reason: "checked by hand".into(),
            outputs: Default::default(),
        })
        .run_finished(RunState::Failed);
    s.commit("01JNEWRUN0", &sc.take()).unwrap();
    s
}

#[test]
fn runs_lists_newest_first_as_a_table_and_as_json() {
    let db = db();
    populate(&db);
    let (code, out, _) = baton(&db, &["runs"]);
    assert_eq!(code, 0);
    let new_at = out.find("01JNEWRUN0").unwrap();
    let old_at = out.find("01JOLDRUN0").unwrap();
    assert!(new_at < old_at, "{out}");
    assert!(out.contains("failed") && out.contains("succeeded"));

    let (code, out, _) = baton(&db, &["runs", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["id"], "01JNEWRUN0");
    assert_eq!(runs[0]["workflow"], "release");
    assert_eq!(runs[0]["state"], "failed");
    assert!(
        runs[0]["started_at"]
            .as_str()
            .unwrap()
            .starts_with("1970-01-01T00:00:02")
    );
    assert_eq!(runs[1]["state"], "succeeded");
}

#[test]
fn show_prints_steps_errors_and_health_by_prefix() {
    let db = db();
    populate(&db);
    let (code, out, err) = baton(&db, &["show", "01JNEW"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("run 01JNEWRUN0"), "{out}");
    assert!(out.contains("test") && out.contains("failed"));
    assert!(out.contains("exit_nonzero") && out.contains("tests failed"));
    assert!(out.contains("suggestion:"));
    // build marked succeeded by hand (½, as a retry) + test 0 → quality 0.25; one open
    // high error → health 15, critical, the mark said where it changed the count.
    assert!(out.contains("health 15 critical"), "{out}");
    assert!(out.contains("(1 marked succeeded by hand)"), "{out}");

    let (code, out, _) = baton(&db, &["show", "01JNEW", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["id"], "01JNEWRUN0");
    assert_eq!(v["workflow"], "release");
    assert_eq!(v["state"], "failed");
    assert_eq!(v["health"], 15.0);
    assert_eq!(v["quality"], 0.25);
    let test = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "test")
        .unwrap();
    assert_eq!(test["state"], "failed");
    assert_eq!(test["attempts"], 1);
    assert_eq!(test["exit_code"], 2);
    let e = &v["errors"][0];
    assert_eq!(e["kind"], "exit_nonzero");
    assert_eq!(e["severity"], "high");
    assert_eq!(e["step"], "test");
    assert_eq!(e["message"], "tests failed");
}

#[test]
fn unknown_and_ambiguous_runs_are_usage_errors_and_storage_faults_exit_3() {
    let db = db();
    populate(&db);
    let (code, _, err) = baton(&db, &["show", "01J"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ambiguous") && err.contains("01JNEWRUN0") && err.contains("01JOLDRUN0"),
        "{err}"
    );
    let (code, _, err) = baton(&db, &["show", "XYZ"]);
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");

    let junk = crate::helpers::db();
    std::fs::create_dir_all(junk.path.parent().unwrap()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        junk.path.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(&junk.path, "not sqlite at all, just words. ".repeat(100)).unwrap();
    std::fs::set_permissions(&junk.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = baton(&junk, &["runs"]);
    assert_eq!(code, 3);
    assert!(err.contains("not a baton database"), "{err}");
}

#[test]
fn audit_prints_the_trail_and_verify_names_a_tampered_row() {
    let db = db();
    populate(&db);
    let (code, out, _) = baton(&db, &["audit", "01JNEW"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("run_started") && out.contains("mark") && out.contains("checked by hand"),
        "{out}"
    );
    let (code, out, _) = baton(&db, &["audit", "01JNEW", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let actions: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["run_started", "mark", "run_finished"]);
    let mark_id = v[1]["id"].as_i64().unwrap();

    let (code, out, _) = baton(&db, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 5 rows"), "{out}");
    let (code, out, _) = baton(&db, &["audit", "verify", "01JOLD"]);
    assert_eq!(code, 0);
    assert!(out.contains("intact: 2 rows"), "{out}");

    raw(&db)
        .execute(
            "UPDATE audit SET reason = 'nothing to see' WHERE id = ?1",
            [mark_id],
        )
        .unwrap();
    let (code, out, _) = baton(&db, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("row {mark_id}")), "{out}");
    // Without a run: the decisions about the store itself (none here).
    let (code, out, err) = baton(&db, &["audit"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no decisions about the store"), "{out}");
}

#[test]
fn logs_prints_the_bytes_of_each_attempt_or_one() {
    let db = db();
    let mut s = populate(&db);
    std::fs::create_dir_all(s.log_dir("01JNEWRUN0")).unwrap();
    let p1 = s.log_path("01JNEWRUN0", "test", 1);
    std::fs::write(&p1, b"first try\n\x1b[31mred\x1b[0m\n").unwrap();
    s.set_attempt_log("01JNEWRUN0", "test", 1, &p1, "red")
        .unwrap();
    let mut sc = Script::new("01JNEWRUN0");
    sc.seq = s.run("01JNEWRUN0").unwrap().last_seq;
    sc.state("test", StepState::Running, 2)
        .state("test", StepState::Failed, 2);
    s.commit("01JNEWRUN0", &sc.take()).unwrap();
    let p2 = s.log_path("01JNEWRUN0", "test", 2);
    std::fs::write(&p2, b"second try\n").unwrap();
    s.set_attempt_log("01JNEWRUN0", "test", 2, &p2, "second try")
        .unwrap();

    let out = crate::helpers::baton()
        .args(["logs", "01JNEW", "test"])
        .env("BATON_DB", &db.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"first try\n\x1b[31mred\x1b[0m\nsecond try\n");
    let (code, out, _) = baton(&db, &["logs", "01JNEW", "test", "--attempt", "2"]);
    assert_eq!((code, out.as_str()), (0, "second try\n"));
    // The step is final, so -f prints and returns.
    let (code, out, _) = baton(&db, &["logs", "01JNEW", "test", "-f", "--attempt", "2"]);
    assert_eq!((code, out.as_str()), (0, "second try\n"));
    let (code, _, err) = baton(&db, &["logs", "01JNEW", "nosuchstep"]);
    assert_eq!(code, 2, "{err}");
    // An attempt the step does not have is a mistake, not an empty log.
    for bad in ["3", "0"] {
        let (code, out, err) = baton(&db, &["logs", "01JNEW", "test", "--attempt", bad]);
        assert_eq!((code, out.as_str()), (2, ""), "{err}");
        assert!(
            err.contains("step `test` of run 01JNEWRUN0 has 2 attempts: --attempt takes 1 to 2"),
            "{err}"
        );
    }
}

#[test]
fn logs_follow_prints_new_output_until_the_step_is_final() {
    use std::io::Write;
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    s.create_run(&run_of("01JLIVE", 1, &["deploy"])).unwrap();
    let mut sc = Script::new("01JLIVE");
    sc.started().state("deploy", StepState::Running, 1);
    s.commit("01JLIVE", &sc.take()).unwrap();
    std::fs::create_dir_all(s.log_dir("01JLIVE")).unwrap();
    let path = s.log_path("01JLIVE", "deploy", 1);
    let mut log = std::fs::File::create(&path).unwrap();
    log.write_all(b"line 1\n").unwrap();
    s.set_attempt_log("01JLIVE", "deploy", 1, &path, "line 1")
        .unwrap();

    let child = crate::helpers::baton()
        .args(["logs", "01JLIVE", "deploy", "-f"])
        .env("BATON_DB", &db.path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    log.write_all(b"line 2\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    log.write_all(b"line 3\n").unwrap();
    sc.state("deploy", StepState::Succeeded, 1);
    s.commit("01JLIVE", &sc.take()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"line 1\nline 2\nline 3\n");
}
