//! Nothing lost silently (issue 16, points 1 and 4): reading commands never create a
//! store; an empty or truncated database is refused; a store owned by another user is
//! refused (root included); an engine whose database is deleted or replaced stops with
//! exit 3 and starts nothing further.
use crate::helpers::*;
use std::time::{Duration, Instant};

fn all(o: &std::process::Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

#[test]
fn reading_commands_never_create_a_store() {
    let env = Env::new();
    let db = env.path().join("typo").join("baton.db");
    for args in [
        vec!["runs", "--json"],
        vec!["show", "01abc", "--json"],
        vec!["audit", "verify"],
        vec!["logs", "01abc", "build"],
        vec!["approve", "01abc", "deploy"],
        vec!["resume", "01abc", "--headless"],
    ] {
        let o = env.cmd().args(&args).env("BATON_DB", &db).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", all(&o));
        assert!(
            all(&o).contains("no baton database at"),
            "{args:?}: {}",
            all(&o)
        );
        assert!(
            !db.exists() && !db.parent().unwrap().exists(),
            "{args:?} created a store"
        );
    }
}

#[test]
fn a_database_truncated_to_zero_bytes_is_refused_except_by_run() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", all(&o));
    std::fs::write(env.db(), b"").unwrap();
    for args in [vec!["runs"], vec!["audit", "verify"]] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", all(&o));
        assert!(
            all(&o).contains("is empty (0 bytes)"),
            "{args:?}: {}",
            all(&o)
        );
    }
    // `run` creates runs: it may start a new store in the empty file.
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", all(&o));
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", all(&o));
    let other = if nix::unistd::geteuid().is_root() {
        // Root too is refused: hand the store to `nobody`.
        let nobody = nix::unistd::Uid::from_raw(65534);
        for f in ["baton.db", "baton.db-wal", "baton.db-shm"] {
            let p = env.db().with_file_name(f);
            if p.exists() {
                nix::unistd::chown(&p, Some(nobody), None).unwrap();
            }
        }
        env.db()
    } else {
        // Not root: a file root owns, in a directory no one else can write.
        std::path::PathBuf::from("/etc/hostname")
    };
    let o = env
        .cmd()
        .args(["runs"])
        .env("BATON_DB", &other)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", all(&o));
    assert!(all(&o).contains("belongs to"), "{}", all(&o));
}

#[test]
fn an_engine_whose_database_is_deleted_stops_with_exit_3_and_starts_nothing() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"slow\"\nrun = \"sleep 60\"\n[[step]]\nid = \"after\"\nneeds = [\"slow\"]\nrun = \"touch after-ran\"\n[[step]]\nid = \"gated\"\nrun = \"touch gated-ran\"\ngate = { prompt = \"go?\" }\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "slow", "running", 20);
    env.wait_step(&run, "gated", "waiting_approval", 20);
    for f in ["baton.db", "baton.db-wal", "baton.db-shm"] {
        let _ = std::fs::remove_file(env.db().with_file_name(f));
    }
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("was deleted or replaced"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.path().join("after-ran").exists());
    assert!(!env.path().join("gated-ran").exists());
    // The step that was running is stopped too: nothing could record its end.
    wait_until("the step's processes to be stopped", secs(15), || {
        let left = processes_of(&run);
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("survived: {left:?}"))
        }
    });
}

/// Pids of live processes whose environment carries this run's id.
fn processes_of(run: &str) -> Vec<i32> {
    let needle = format!("BATON_RUN_ID={run}");
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| process_alive(*pid))
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/environ"))
                        .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
                        .unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_events_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let events = env.path().join("events.jsonl");
    let o = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--events",
        events.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", all(&o));
    let mode = std::fs::metadata(&events).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "events carry outputs and reasons: {mode:o}");
}

/// Malformed `$BATON_OUTPUT`/`$BATON_USAGE` lines are not dropped silently: each is an
/// error record on the step (low severity; the step still succeeds).
#[test]
fn malformed_output_and_usage_lines_become_error_records() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"a\"\nrun = 'echo version=1.2 >> \"$BATON_OUTPUT\"; echo not a pair >> \"$BATON_OUTPUT\"; echo cost=lots >> \"$BATON_USAGE\"'\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", all(&o));
    let run = run_id_of(&text(&o.stdout));
    let v = env.show(&run);
    assert_eq!(step_field(&v, "a", "state"), "succeeded");
    let errors: Vec<&serde_json::Value> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|e| e["step"] == "a")
        .collect();
    assert_eq!(errors.len(), 2, "{v:#}");
    assert!(
        errors
            .iter()
            .all(|e| e["kind"] == "output_invalid" && e["severity"] == "low")
    );
    let messages: String = errors.iter().map(|e| e["message"].to_string()).collect();
    assert!(
        messages.contains("not a pair") && messages.contains("lots"),
        "{messages}"
    );
}

/// Exit codes follow docs/commands.md ("Exit codes") on every path: a corrupt store is a storage error (3)
/// for every command, and a failed migration says which and why in one line.
#[test]
fn a_corrupt_store_is_exit_3_everywhere_and_a_failed_migration_is_one_line() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", all(&o));
    let run = run_id_of(&text(&o.stdout));
    // A schema one version behind whose next migration cannot apply.
    {
        let c = rusqlite::Connection::open(env.db()).unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
    }
    let o = env.run(&["runs"]);
    assert_eq!(o.status.code(), Some(3), "{}", all(&o));
    let err = text(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("migration 3 (commands have a deadline) failed"),
        "{err}"
    );
    // Corrupt pages.
    let mut bytes = std::fs::read(env.db()).unwrap();
    for i in (100..bytes.len()).step_by(7) {
        bytes[i] = bytes[i].wrapping_add(13);
    }
    std::fs::write(env.db(), bytes).unwrap();
    for f in ["baton.db-wal", "baton.db-shm"] {
        let _ = std::fs::remove_file(env.db().with_file_name(f));
    }
    for args in [
        vec!["approve", run.as_str(), "a"],
        vec!["reject", run.as_str(), "a", "--reason", "x"],
        vec!["retry", run.as_str(), "a"],
        vec!["cancel", run.as_str()],
        vec![
            "mark",
            run.as_str(),
            "a",
            "--state",
            "failed",
            "--reason",
            "x",
        ],
        vec!["resume", run.as_str(), "--headless"],
        vec!["show", run.as_str()],
    ] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", all(&o));
    }
}

/// An unwritable log directory is not silent: the step's lost output becomes an error
/// record on it. (As root, permissions do not bind: the run goes as `nobody`.)
#[test]
fn an_unwritable_log_directory_becomes_an_error_record() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"talk\"\nrun = 'echo hello'\n",
    );
    let state = env.db().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(state.join("logs")).unwrap();
    let root = nix::unistd::geteuid().is_root();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    if !root {
        std::fs::set_permissions(state.join("logs"), std::fs::Permissions::from_mode(0o500))
            .unwrap();
    }
    // As root, `logs` stays root's: nobody cannot create the run's log directory in it.
    let mut cmd = baton_as_user(&[env.path(), &wf, &state]);
    let o = cmd
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("BATON_DB", env.db())
        .env("HOME", env.path())
        .current_dir(env.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let run = run_id_of(&text(&o.stdout));
    let show = baton_as_user(&[])
        .args(["show", &run, "--json"])
        .env("BATON_DB", env.db())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).expect("show --json");
    let lost = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["step"] == "talk" && e["kind"] == "storage")
        .unwrap_or_else(|| panic!("no error record for the lost log: {v:#}"));
    assert!(
        lost["message"]
            .as_str()
            .unwrap()
            .contains("cannot write the log"),
        "{lost}"
    );
    if !root {
        std::fs::set_permissions(state.join("logs"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
    }
}

/// A store being made is never seen half made: a reader that finds the file (`baton
/// runs` while a first `baton run` starts) finds its schema too, never the 0-byte file
/// that `open_existing` refuses as truncated. Before, the file was created empty and
/// the schema written into it afterwards.
#[test]
fn a_new_store_appears_whole() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state").join("baton.db");
        let done = Arc::new(AtomicBool::new(false));
        let seen_empty = Arc::new(Mutex::new(false));
        let watcher = {
            let (db, done, seen_empty) = (db.clone(), done.clone(), seen_empty.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(20);
                while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                    if std::fs::metadata(&db).is_ok_and(|m| m.len() == 0) {
                        *seen_empty.lock().unwrap() = true;
                    }
                }
            })
        };
        let store = baton::store::Store::open(&db);
        done.store(true, Ordering::SeqCst);
        watcher.join().unwrap();
        assert!(store.is_ok(), "round {round}: {:?}", store.err());
        assert!(!*seen_empty.lock().unwrap(), "round {round}: seen 0 bytes");
        // Nothing but the store (and its WAL files) is left beside it.
        let names: Vec<String> = std::fs::read_dir(db.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("baton.db"))
            .collect();
        assert!(names.is_empty(), "round {round}: left behind {names:?}");
    }
}

/// New-user review: a database its owner cannot read was reported as "read-only".
#[test]
fn a_database_its_owner_cannot_read_is_called_unreadable_not_read_only() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs an account that permissions apply to: run it as root (it acts as nobody)"
    );
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.finished_run();
    env.give_store_to(65534);
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let o = baton_as_user(&[])
        .args(["runs"])
        .env("BATON_DB", env.db())
        .env("HOME", env.path())
        .current_dir(env.path())
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("cannot read the database"), "{err}");
    assert!(err.contains("chmod u+rw"), "{err}");
    assert!(!err.contains("read-only"), "{err}");
}
