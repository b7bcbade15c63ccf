//! Issue 75 point 5: what a remote store sends is outside bytes, read bounded. A store
//! whose `baton` (a script on the sshd host) sends one endless line, says nothing, or
//! answers without end is named with why, and takes neither this process's memory
//! (capped at 1 GiB here: a regression fails on allocation) nor the others' answers.
use super::{Fleet, GATED};
use crate::helpers::*;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A `[[store]]` on `host` whose program there is the script `body`, written under the
/// test's directory.
pub(crate) fn fake_store(f: &Fleet, name: &str, host: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = f.local.path().join(format!("{name}-baton"));
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("write the fake baton");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod the fake baton");
    format!(
        "[[store]]\nname = \"{name}\"\nssh = \"{host}\"\nbaton = \"{}\"\nssh_config = \"{}\"\n\n",
        script.display(),
        f.ssh_config.display()
    )
}

/// `baton ARGS…` here with its address space capped at 1 GiB, its output piped.
fn capped(f: &Fleet, args: &[&str]) -> std::process::Child {
    let mut c = f.local.cmd();
    c.args(args)
        .env("TMPDIR", crate::exec::ssh::own_tmp(&f.local))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    c.spawn().expect("run baton")
}

/// An endless line with no `\n`: `x` as fast as the host makes it (the consoles'
/// tests, tests/it/console/tmux/fleet.rs).
pub(crate) const ENDLESS_LINE: &str = "tr '\\0' x </dev/zero";

#[test]
fn inbox_all_stores_names_a_silent_and_a_huge_store_and_lists_the_others() {
    let Some(f) = Fleet::new() else { return };
    let wf = f.local.workflow("w.toml", GATED);
    let (mut engine, run) = f.local.spawn_until(&wf, "deploy", "waiting_approval");
    f.local.config(&format!(
        "[[store]]\nname = \"here\"\ndb = \"{}\"\n\n{}{}",
        f.local.db().display(),
        // Connected, then nothing, for ever (the loop's shell is swept with the test).
        fake_store(&f, "silent", "baton-h3", "while sleep 1; do :; done"),
        fake_store(
            &f,
            "huge",
            "baton-h2",
            "echo '['; yes '{\"run_id\": \"x\"},'"
        ),
    ));
    let started = Instant::now();
    let out = wait_child(capped(&f, &["inbox", "--all-stores", "--json"]), 90);
    let took = started.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            "error: store `silent` did not answer: ssh to baton-h3: no answer within 20 s; stopped"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "error: store `huge` did not answer: baton on baton-h2 answered more than 16 MiB"
        ),
        "{err}"
    );
    // The silent store's deadline, not for ever (and not its sum with the others').
    assert!(took < Duration::from_secs(40), "took {took:?}");
    let rows: Value = serde_json::from_slice(&out.stdout).expect("inbox --json");
    let listed: Vec<(&str, &str)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["store"].as_str().unwrap_or(""),
                r["run_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(listed, vec![("here", run.as_str())], "{rows:#}");
    let _ = engine.kill();
    let _ = engine.wait();
}
