//! Issue 24, findings 9, 14 and 17, with the real binary: an old audit key retired by
//! `baton audit rotate`, rollbacks shown by the witness, a mistyped key refused.

use crate::helpers::{Env, step_state, text, wait_until};
use rusqlite::{Connection, params};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Which audit keys a `baton` process gets: (id, key) to sign with, and
/// `BATON_AUDIT_KEYS`.
#[derive(Clone, Copy)]
struct Keys {
    signing: Option<(&'static str, &'static str)>,
    more: Option<&'static str>,
}

const K1: Keys = Keys {
    signing: Some(("k1", "the-first-key")),
    more: None,
};
const K2: Keys = Keys {
    signing: Some(("k2", "the-second-key")),
    more: None,
};

fn cmd(env: &Env, keys: Keys) -> Command {
    let mut c = env.cmd();
    c.env_remove("BATON_AUDIT_KEYS")
        .env_remove("BATON_AUDIT_WITNESS")
        .stdin(Stdio::null());
    if let Some((id, key)) = keys.signing {
        c.env("BATON_AUDIT_KEY", key).env("BATON_AUDIT_KEY_ID", id);
    }
    if let Some(more) = keys.more {
        c.env("BATON_AUDIT_KEYS", more);
    }
    c
}

fn baton(env: &Env, keys: Keys, args: &[&str]) -> Output {
    cmd(env, keys).args(args).output().expect("run baton")
}

fn all(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// A one-step run to its end with `keys`; its id.
fn finished_run(env: &Env, keys: Keys) -> String {
    let wf = env.workflow(
        "one.toml",
        "name = \"one\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = baton(env, keys, &["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    crate::helpers::run_id_of(&text(&o.stdout))
}

fn raw(env: &Env) -> Connection {
    Connection::open(env.db()).expect("open the database as an attacker")
}

fn expect(o: &Output, code: i32, says: &[&str]) {
    assert_eq!(o.status.code(), Some(code), "{}", all(o));
    for s in says {
        assert!(all(o).contains(s), "expected {s:?} in: {}", all(o));
    }
}

#[test]
fn rotation_re_keys_the_store_so_the_old_key_can_be_deleted() {
    let env = Env::new();
    let old = finished_run(&env, K1);
    // The old key dropped without a rotation: nothing of the old runs verifies.
    expect(&baton(&env, K2, &["audit", "verify"]), 1, &["`k1`"]);
    expect(&baton(&env, K2, &["show", &old]), 3, &["`k1`"]);

    // Rotating needs the old key to check the store first: without it, nothing changes.
    expect(
        &baton(&env, K2, &["audit", "rotate"]),
        1,
        &["not rotated, nothing changed", "`k1`"],
    );
    let both = Keys {
        more: Some("k1=the-first-key"),
        ..K2
    };
    expect(
        &baton(&env, both, &["audit", "rotate"]),
        0,
        &["re-keyed with `k2`", "no record names `k1` any more"],
    );

    // k1 deleted: everything verifies, old runs show, seal and new runs work.
    expect(&baton(&env, K2, &["audit", "verify"]), 0, &["intact"]);
    let o = baton(&env, K2, &["show", &old, "--json"]);
    expect(&o, 0, &[]);
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(step_state(&shown, "a").as_deref(), Some("succeeded"));
    expect(&baton(&env, K2, &["audit", "seal"]), 0, &["sealed"]);
    let new = finished_run(&env, K2);
    expect(&baton(&env, K2, &["audit", "verify"]), 0, &["intact"]);
    expect(&baton(&env, K2, &["show", &new]), 0, &[]);
    // The old key, retired, is refused before it reads or writes anything.
    expect(
        &baton(&env, K1, &["audit", "verify"]),
        2,
        &["`k1`", "retired"],
    );
}

#[test]
fn a_mistyped_key_is_refused_before_it_writes_anything() {
    let env = Env::new();
    finished_run(&env, K1);
    let typo = Keys {
        signing: Some(("k1", "the-frist-key")),
        more: None,
    };
    let wf = env.workflow(
        "two.toml",
        "name = \"two\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = baton(&env, typo, &["run", wf.to_str().unwrap(), "--headless"]);
    expect(&o, 2, &["`k1`", "mistyped", "BATON_AUDIT_KEY"]);
    // Nothing was recorded, and the store still verifies with the right key.
    let runs = baton(&env, K1, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    expect(&baton(&env, K1, &["audit", "verify"]), 0, &["intact"]);
    // A store keyed before check values existed: the key's first check value is
    // recorded only if the key holds the chain's head, so a typo is refused there too.
    raw(&env)
        .execute("DELETE FROM meta WHERE key LIKE 'audit_key_check:%'", [])
        .unwrap();
    let o = baton(&env, typo, &["run", wf.to_str().unwrap(), "--headless"]);
    expect(&o, 2, &["`k1`", "mistyped"]);
    finished_run(&env, K1);
    expect(&baton(&env, K1, &["audit", "verify"]), 0, &["intact"]);
    // A mistyped verification key is named too, as such.
    let verify_typo = Keys {
        signing: None,
        more: Some("k1=the-frist-key"),
    };
    expect(
        &baton(&env, verify_typo, &["audit", "verify"]),
        2,
        &["`k1`", "BATON_AUDIT_KEYS"],
    );
}

/// (runs, events, audit rows, leases) in the store.
fn counts(env: &Env) -> [i64; 4] {
    let c = raw(env);
    ["runs", "events", "audit", "leases"].map(|t| {
        c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    })
}

#[test]
fn rotation_waits_for_an_engine_under_the_old_key_and_a_retired_key_writes_nothing() {
    let env = Env::new();
    let go = env.path().join("go");
    let wf = env.workflow(
        "wait.toml",
        &format!(
            "name = \"wait\"\n[[step]]\nid = \"a\"\nrun = \"while [ ! -e '{}' ]; do sleep 0.1; done\"\n",
            go.display()
        ),
    );
    let mut engine = cmd(&env, K1)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the engine");
    // Read-only, and only once it exists: never made here before the engine makes it.
    let run: String = wait_until("the run to start", Duration::from_secs(30), || {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        Connection::open_with_flags(env.db(), flags)
            .ok()?
            .query_row("SELECT id FROM runs", [], |r| r.get::<_, String>(0))
            .ok()
    });
    let both = Keys {
        more: Some("k1=the-first-key"),
        ..K2
    };
    // The engine writes under k1: rotating now would leave its next records under a
    // deleted key. Refused, naming the run and the engine's pid; nothing changed.
    let pid = format!("pid {} on ", engine.id());
    expect(
        &baton(&env, both, &["audit", "rotate"]),
        1,
        &["not rotated, nothing changed", &run, &pid, "`k1`"],
    );
    expect(&baton(&env, K1, &["audit", "verify"]), 0, &["intact"]);
    // The engine dies (kill -9): nothing writes under k1 any more, the rotation goes.
    engine.kill().unwrap();
    engine.wait().unwrap();
    expect(
        &baton(&env, both, &["audit", "rotate"]),
        0,
        &["re-keyed with `k2`"],
    );
    // The rotation is a decision about the store, on the chain: `baton audit` lists it.
    let listed = baton(&env, K2, &["audit", "--json"]);
    expect(&listed, 0, &[]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rotated: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "key_rotated")
        .collect();
    assert_eq!(rotated.len(), 1, "{rows}");
    assert_eq!(rotated[0]["details"]["key_id"], "k2");
    assert_eq!(rotated[0]["details"]["retired"], serde_json::json!(["k1"]));
    assert_eq!(rotated[0]["run_id"], "store");
    // A process with the retired key is refused before it writes anything: a resume
    // of the run, a new run.
    let before = counts(&env);
    expect(&baton(&env, K1, &["resume", &run]), 2, &["`k1`", "retired"]);
    expect(
        &baton(&env, K1, &["run", wf.to_str().unwrap(), "--headless"]),
        2,
        &["`k1`", "retired"],
    );
    assert_eq!(counts(&env), before);
    // Under the new key the run resumes and ends; the store verifies with it alone.
    std::fs::write(&go, "").unwrap();
    expect(&baton(&env, K2, &["resume", &run, "--headless"]), 0, &[]);
    expect(&baton(&env, K2, &["audit", "verify"]), 0, &["intact"]);
}

/// Drop the triggers that keep `events` append-only, as an attacker can.
fn drop_triggers(c: &Connection) {
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .unwrap();
}

#[test]
fn a_run_cut_off_the_audit_chain_with_an_earlier_head_put_back_is_a_rollback() {
    let env = Env::new();
    let kept = finished_run(&env, K1);
    let c = raw(&env);
    let head: String = c
        .query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let head_id: i64 = head.split(':').next().unwrap().parse().unwrap();
    let gone = finished_run(&env, K1);
    // The whole second run removed, its audit rows cut off, the earlier head put back.
    drop_triggers(&c);
    for table in [
        "events",
        "steps",
        "attempts",
        "errors",
        "approvals",
        "commands",
        "leases",
    ] {
        c.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [&gone])
            .unwrap();
    }
    c.execute("DELETE FROM runs WHERE id = ?1", [&gone])
        .unwrap();
    c.execute("DELETE FROM audit WHERE id > ?1", [head_id])
        .unwrap();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [&head],
    )
    .unwrap();
    let o = baton(&env, K1, &["audit", "verify"]);
    expect(
        &o,
        1,
        &[
            &format!("rows {}..=", head_id + 1),
            "are missing",
            "rolled back",
            "baton.db.witness",
        ],
    );
    // A takeover refuses to act on the rolled-back store.
    expect(
        &baton(&env, K1, &["resume", &kept]),
        3,
        &["rolled back", "Refusing"],
    );
    // Without its witness the same store cannot be told from a shorter history, and
    // verify says so.
    let witness = env.db().with_file_name("baton.db.witness");
    std::fs::rename(&witness, env.path().join("elsewhere")).unwrap();
    expect(
        &baton(&env, K1, &["audit", "verify"]),
        0,
        &["intact", "no witness", "cannot be told"],
    );
    // A witness given elsewhere (`--witness`) is compared as well.
    let elsewhere = env.path().join("elsewhere");
    expect(
        &baton(
            &env,
            K1,
            &["audit", "verify", "--witness", elsewhere.to_str().unwrap()],
        ),
        1,
        &["rolled back"],
    );
}

#[test]
fn a_run_whose_newest_events_are_cut_back_to_an_earlier_mark_is_not_resumed() {
    let env = Env::new();
    let go = env.path().join("go");
    let wf = env.workflow(
        "two.toml",
        &format!(
            "name = \"two\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n\n[[step]]\nid = \"b\"\nneeds = [\"a\"]\nrun = \"while [ ! -e {} ]; do sleep 0.05; done\"\n",
            go.display()
        ),
    );
    let child = cmd(&env, K1)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton");
    let run = env.wait_run_id();
    // While `b` runs, the attacker reads its mark (the run's newest event then).
    wait_until("b running", Duration::from_secs(30), || {
        let o = baton(&env, K1, &["show", &run, "--json"]);
        match serde_json::from_slice::<serde_json::Value>(&o.stdout) {
            Ok(v) if o.status.success() && step_state(&v, "b").as_deref() == Some("running") => {
                Ok(())
            }
            _ => Err(all(&o)),
        }
    });
    let c = raw(&env);
    let (seq, key_id, mac): (i64, String, Vec<u8>) = c
        .query_row(
            "SELECT seq, head_key_id, head_mac FROM events WHERE run_id = ?1 AND head_mac IS NOT NULL",
            [&run],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    std::fs::write(&go, "").unwrap();
    let out = crate::helpers::wait_child(child, 60);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));

    // The events after it cut off and its mark put back: `b` reads as running again.
    drop_triggers(&c);
    c.execute(
        "DELETE FROM events WHERE run_id = ?1 AND seq > ?2",
        params![run, seq],
    )
    .unwrap();
    c.execute(
        "UPDATE events SET head_key_id = ?3, head_mac = ?4 WHERE run_id = ?1 AND seq = ?2",
        params![run, seq, key_id, mac],
    )
    .unwrap();
    let attempts = |c: &Connection| -> i64 {
        c.query_row(
            "SELECT count(*) FROM attempts WHERE run_id = ?1 AND step_id = 'b'",
            [&run],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = attempts(&c);
    let o = baton(&env, K1, &["resume", &run]);
    expect(
        &o,
        3,
        &[
            &format!("events {}..=", seq + 1),
            "are missing",
            "rolled back",
        ],
    );
    // `b`, recorded succeeded, did not run again.
    assert_eq!(attempts(&c), before);
    expect(&baton(&env, K1, &["audit", "verify"]), 1, &[&run]);
}

#[test]
fn a_symlink_planted_where_the_witness_goes_is_not_followed() {
    let env = Env::new();
    finished_run(&env, K1);
    let target = env.path().join("profile");
    std::fs::write(&target, "kept\n").unwrap();
    let witness = env.db().with_file_name("baton.db.witness");
    std::fs::remove_file(&witness).unwrap();
    std::os::unix::fs::symlink(&target, &witness).unwrap();
    let wf = env.workflow(
        "one.toml",
        "name = \"one\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = baton(&env, K1, &["run", wf.to_str().unwrap(), "--headless"]);
    expect(&o, 3, &["audit witness", "symlink"]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept\n");
    // Refused before anything was recorded: still the one run.
    let runs = baton(&env, K1, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
}
