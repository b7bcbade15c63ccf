//! `--store NAME` and `baton inbox --all-stores` over the real sshd hosts.
use super::{Fleet, GATED};
use crate::helpers::*;
use serde_json::Value;

#[test]
fn approve_with_store_decides_on_the_remote_host_as_its_account() {
    let Some(f) = Fleet::new() else { return };
    let wf = f.h2.workflow("w.toml", GATED);
    let (engine, run) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    let marker = f.local.path().join("pwned");
    // A reason that a shell would run, if the remote line let a value become code.
    let reason = format!(
        "ok; touch {0} $(touch {0}) `touch {0}` it's \"fine\"",
        marker.display()
    );
    let out = f.as_nobody(&[
        "approve", &run, "deploy", "--store", "h2", "--reason", &reason,
    ]);
    assert!(
        out.status.success(),
        "approve: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("accepted"),
        "{}",
        text(&out.stdout)
    );
    f.h2.wait_step(&run, "deploy", "succeeded", 20);
    let _ = wait_child(engine, 20);
    // On the remote record, as the account ssh logged in as there (root), not the
    // local one (nobody); the reason exactly as typed, and nothing ran it.
    let votes = f.h2.audit_rows(&run, "approval_vote");
    assert_eq!(votes[0]["actor"], "root", "{votes:#?}");
    assert_eq!(
        votes[0]["reason"],
        Value::from(reason.as_str()),
        "{votes:#?}"
    );
    assert!(
        !marker.exists(),
        "a value became shell code on the remote host"
    );
    // The remote chain holds, checked there through --store.
    let verify = f.as_nobody(&["audit", "verify", "--store", "h2"]);
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    // The remote `audit` through --store reads the same chain.
    let audit = f.as_nobody(&["audit", &run, "--store", "h2", "--json"]);
    let rows: Value = serde_json::from_slice(&audit.stdout).expect("audit --json");
    assert!(
        rows.as_array()
            .is_some_and(|r| r.iter().any(|r| r["action"] == "approved")),
        "{rows:#}"
    );
    // Nothing was written on this machine.
    assert!(!f.local.db().exists(), "a local store appeared");
}

#[test]
fn inbox_all_stores_names_each_rows_store_and_a_down_host_hides_none() {
    let Some(f) = Fleet::new() else { return };
    let mut engines = Vec::new();
    for env in [&f.local, &f.h2, &f.h3] {
        let wf = env.workflow("w.toml", GATED);
        engines.push(env.spawn_until(&wf, "deploy", "waiting_approval"));
    }
    let out = f.here(&["inbox", "--all-stores", "--json"]);
    // A store whose host is down is said, with why, and the exit code says it.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("store `down` did not answer: ssh to baton-down failed"),
        "{err}"
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("inbox --json");
    let mut stores: Vec<(String, String)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["store"].as_str().unwrap_or("").to_string(),
                r["run_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    stores.sort();
    let want = |name: &str, env: &Env| (name.to_string(), env.wait_run_id());
    assert_eq!(
        stores,
        vec![
            want("h2", &f.h2),
            // `h2once` is h2's store through another program (a crash test's).
            want("h2once", &f.h2),
            want("h3", &f.h3),
            want("here", &f.local)
        ]
    );
    // The text says where each waits and the command that decides it there.
    let t = text(&f.here(&["inbox", "--all-stores"]).stdout);
    assert!(t.contains("baton approve --store h3 "), "{t}");
    for (child, run) in engines.iter_mut().map(|(c, r)| (c, r.clone())) {
        let _ = run;
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn a_store_name_not_configured_is_a_usage_error_with_the_nearest() {
    let env = Env::new();
    env.config(&format!(
        "[[store]]\nname = \"gpu\"\ndb = \"{}\"\n",
        env.db().display()
    ));
    let out = env.run(&["runs", "--store", "gpv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no [[store]] is named `gpv`; did you mean `gpu`?"),
        "{}",
        text(&out.stderr)
    );
    // A local store is its file, whatever BATON_DB says.
    let run = env.finished_run();
    let out = env
        .cmd()
        .env("BATON_DB", env.path().join("other.db"))
        .args(["runs", "--store", "gpu", "--json"])
        .output()
        .expect("runs");
    assert!(
        text(&out.stdout).contains(&run),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
