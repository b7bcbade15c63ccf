//! Issue 11 points 1, 3 and 8: who decides is the operating-system account of the
//! process, never a typed name; several accounts share a store through a group; a mark
//! or `--auto-approve` never passes a gate meant for named people. Each attack from the
//! issue is a test here. Accounts other than this one need root (setpriv to `daemon` and
//! `nobody`); without it those tests say so and stop.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The gid of group `users`, which the tests share the store through.
fn users_gid() -> u32 {
    nix::unistd::Group::from_name("users")
        .unwrap()
        .expect("group `users`")
        .gid
        .as_raw()
}

/// A group store of `users` in a directory everybody may enter.
fn group_store(env: &Env) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = env.path().join("shared").join("baton.db");
    let out = env.run(&[
        "store",
        "init",
        "--db",
        db.to_str().unwrap(),
        "--group",
        "users",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

/// `baton ARGS` as `account` with group `users` among its groups (or without it).
fn baton_as(env: &Env, account: &str, with_group: bool, args: &[&str]) -> Output {
    let user = nix::unistd::User::from_name(account)
        .unwrap()
        .expect("the account exists");
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={}", user.uid))
        .arg(format!("--regid={}", user.gid));
    if with_group {
        c.arg(format!("--groups={}", users_gid()));
    } else {
        c.arg("--clear-groups");
    }
    c.arg(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env("XDG_CONFIG_HOME", env.config_home())
        .env_remove("BATON_DB")
        .current_dir(env.path())
        .output()
        .expect("setpriv")
}

fn workflow(env: &Env, gate: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = env.workflow(
        "w.toml",
        &format!("name = \"who\"\n[[step]]\nid = \"ship\"\nrun = \"touch shipped\"\ngate = {gate}\n[[step]]\nid = \"after\"\nneeds = [\"ship\"]\nrun = \"touch after\"\n"),
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    p
}

// The child goes back to the caller, who waits for it.
#[allow(clippy::zombie_processes)]
fn start(env: &Env, db: &Path, wf: &Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut args = vec![
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let child = env.spawn(&args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let out = env.run(&["runs", "--json", "--db", db.to_str().unwrap()]);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            && let Some(id) = v[0]["id"].as_str()
        {
            return (child, id.to_string());
        }
        assert!(std::time::Instant::now() < deadline, "no run appeared");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn state_of(env: &Env, db: &Path, id: &str, step: &str) -> Option<String> {
    let out = env.run(&["show", id, "--json", "--db", db.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    step_state(&v, step)
}

fn wait_state(env: &Env, db: &Path, id: &str, step: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while state_of(env, db, id, step).as_deref() != Some(want) {
        assert!(
            std::time::Instant::now() < deadline,
            "{step} never became {want} (is {:?})",
            state_of(env, db, id, step)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_typed_operator_is_refused_on_every_decision() {
    let env = Env::new();
    for args in [
        vec!["approve", "01x", "deploy", "--operator", "ALICE"],
        vec![
            "reject",
            "01x",
            "deploy",
            "--reason",
            "no",
            "--operator",
            "alice",
        ],
        vec![
            "mark",
            "01x",
            "s",
            "--state",
            "failed",
            "--reason",
            "r",
            "--operator",
            "",
        ],
        vec!["cancel", "01x", "--operator", " "],
        vec!["retry", "01x", "s", "--operator", "bob"],
        vec!["run", "w.toml", "--operator", "bob"],
    ] {
        let out = env.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("--operator is no longer accepted")
                && err.contains("operating-system account"),
            "{args:?}: {err}"
        );
    }
}

/// Two accounts of the group decide one gate; the starter (root) may not, a spelling
/// of one approver's name is the same person, and nobody outside the group can even
/// open the store.
#[test]
fn a_group_store_lets_several_accounts_decide_and_counts_people_not_strings() {
    if !root() {
        eprintln!("SKIPPED: deciding as other accounts needs root (setpriv)");
        return;
    }
    let env = Env::new();
    let db = group_store(&env);
    let dbs = db.to_str().unwrap();
    let wf = workflow(
        &env,
        r#"{ prompt = "ship?", approvers = ["root", "Daemon", "nobody"], quorum = 2, allow_self_approval = false }"#,
    );
    let (child, id) = start(&env, &db, &wf, &[]);
    wait_state(&env, &db, &id, "ship", "waiting_approval");
    // The starter, root, is an approver but may not approve its own run.
    let out = env.run(&["approve", &id, "ship", "--db", dbs]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("self-approval"),
        "{}",
        text(&out.stdout)
    );
    // `daemon` is the approver `Daemon`; it votes once.
    let out = baton_as(
        &env,
        "daemon",
        true,
        &["approve", &id, "ship", "--db", dbs, "--reason", "ok"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = baton_as(&env, "daemon", true, &["approve", &id, "ship", "--db", dbs]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("already approved"));
    assert_eq!(
        state_of(&env, &db, &id, "ship").as_deref(),
        Some("waiting_approval")
    );
    // Outside the group the store is closed.
    let out = baton_as(
        &env,
        "nobody",
        false,
        &["approve", &id, "ship", "--db", dbs],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(!env.path().join("shipped").exists());
    // The second person.
    let out = baton_as(
        &env,
        "nobody",
        true,
        &["approve", &id, "ship", "--db", dbs, "--reason", "ok"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(env.path().join("shipped").exists());
    let audit = text(&env.run(&["audit", &id, "--db", dbs]).stdout);
    assert!(
        audit.contains("daemon") && audit.contains("nobody"),
        "{audit}"
    );
    let verify = env.run(&["audit", "verify", &id, "--db", dbs]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

/// Group write is accepted only for the group the store records; world write never.
#[test]
fn group_write_needs_the_recorded_group_and_world_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"p\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(out.status.success());
    let db = env.db();
    // A plain store made group-writable by hand: not a group store.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o660)).unwrap();
    let out = env.run(&["runs"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("records no group"),
        "{}",
        text(&out.stderr)
    );
    // Made a group store: accepted.
    let out = env.run(&[
        "store",
        "init",
        "--db",
        db.to_str().unwrap(),
        "--group",
        "users",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(env.run(&["runs"]).status.success());
    let mode = std::fs::metadata(db.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o7777,
        0o2770,
        "the directory is setgid and group-writable"
    );
    // World-writable: refused whatever the store says.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = env.run(&["runs"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("group or others can write"),
        "{}",
        text(&out.stderr)
    );
    // An unknown group is a usage error.
    let out = env.run(&["store", "init", "--group", "no-such-group-here"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// `mark` (either state) does not pass a gate with named approvers, a quorum and no
/// self-approval; its dependants do not run.
#[test]
fn mark_cannot_pass_a_gate() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"m\"\n[[step]]\nid = \"ship\"\nrun = \"touch shipped\"\ngate = { prompt = \"ship?\", approvers = [\"alice\", \"bob\"], quorum = 2, allow_self_approval = false }\n[[step]]\nid = \"after\"\nneeds = [\"ship\"]\nrun = \"touch after\"\n",
    );
    let mut child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 15);
    for state in ["succeeded", "failed"] {
        let out = env.run(&[
            "mark", &id, "ship", "--state", state, "--reason", "trust me",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(
            text(&out.stdout).contains("has a gate"),
            "{}",
            text(&out.stdout)
        );
    }
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "ship").as_deref(),
        Some("waiting_approval")
    );
    assert_eq!(step_state(&show, "after").as_deref(), Some("pending"));
    assert!(!env.path().join("after").exists());
    let _ = child.kill();
    let _ = child.wait();
}
