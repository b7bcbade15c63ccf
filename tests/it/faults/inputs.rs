//! Issue 16 points 3 and 7: bounded inputs (what is not a regular file, or too large, is
//! refused before it is read) and closed pipes (no panic, truthful exit codes). The
//! load errors themselves (NUL bytes, long durations, env cycles) are in the invalid
//! corpus (tests/it/workflow/invalid_corpus.rs).
use crate::helpers::*;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::Stdio;

const LIMIT_ENV: &str = "BATON_MAX_WORKFLOW_BYTES";

/// A baton command whose address space is capped at 1 GiB: a regression that reads an
/// endless file fails on allocation instead of taking the machine's memory.
fn capped(env: &Env) -> std::process::Command {
    let mut c = env.cmd();
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
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn validate_on_a_fifo_returns_at_once_with_exit_2() {
    let env = Env::new();
    let fifo = env.path().join("w.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    // Nobody ever writes to the FIFO: a reader that opened it would wait forever.
    let child = capped(&env).args(["validate", "w.toml"]).spawn().unwrap();
    let out = wait_child(child, 20);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("w.toml: error: is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn dev_zero_is_refused_by_validate_and_run_with_exit_2() {
    let env = Env::new();
    for args in [
        &["validate", "/dev/zero"][..],
        &["run", "/dev/zero", "--headless"][..],
    ] {
        let child = capped(&env).args(args).spawn().unwrap();
        let out = wait_child(child, 20);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("/dev/zero: error: is a character device, not a regular file"),
            "{args:?}: {err}"
        );
    }
    // Nothing was recorded for the refused run.
    assert!(!env.db().exists() || env.runs().as_array().is_some_and(|a| a.is_empty()));
}

const SMALL: &str = "name = \"small\"\n\n[[step]]\nid = \"a\"\nuses = \"builtin.noop\"\n";

#[test]
fn a_file_over_the_limit_is_refused_naming_the_limit_and_its_override() {
    let env = Env::new();
    env.workflow("w.toml", SMALL);
    let limit = (SMALL.len() - 1).to_string();
    for args in [
        &["validate", "w.toml"][..],
        &["run", "w.toml", "--headless"][..],
    ] {
        let out = capped(&env)
            .env(LIMIT_ENV, &limit)
            .args(args)
            .spawn()
            .map(|c| wait_child(c, 20))
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "w.toml: error: the file is larger than the limit of {limit} bytes"
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(LIMIT_ENV),
            "the hint names the override: {err}"
        );
    }
    // At the limit exactly, the file is read.
    let out = capped(&env)
        .env(LIMIT_ENV, SMALL.len().to_string())
        .args(["validate", "w.toml"])
        .spawn()
        .map(|c| wait_child(c, 20))
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_200_mb_workflow_is_refused_at_the_default_limit_without_being_read() {
    let env = Env::new();
    // Sparse: 200 MB long, no disk used. Under the 1 GiB cap a reader of it all (it took
    // 807 MB before) would fail on allocation rather than report the limit.
    let f = std::fs::File::create(env.path().join("big.toml")).unwrap();
    f.set_len(200_000_000).unwrap();
    let out = capped(&env)
        .env_remove(LIMIT_ENV)
        .args(["validate", "big.toml"])
        .spawn()
        .map(|c| wait_child(c, 20))
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "big.toml: error: the file is larger than the limit of 16 MiB (16777216 bytes)"
        ),
        "{err}"
    );
}

#[test]
fn a_malformed_limit_is_a_usage_error() {
    let env = Env::new();
    env.workflow("w.toml", SMALL);
    for bad in ["lots", "0", "-5"] {
        let out = capped(&env)
            .env(LIMIT_ENV, bad)
            .args(["validate", "w.toml"])
            .spawn()
            .map(|c| wait_child(c, 20))
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains(&format!(
                "{LIMIT_ENV}=\"{bad}\" is not a positive whole number of bytes"
            )),
            "{err}"
        );
    }
}

#[test]
fn run_env_entries_may_read_entries_named_after_them() {
    // `A` reads `B`, which sorts after it: rendered in reading order, not name order.
    let env = Env::new();
    env.workflow(
        "w.toml",
        r#"
name = "env-order"
env = { A = "${{ env.B }}/a", B = "${{ env.C }}-b", C = "c" }

[[step]]
id = "check"
run = 'test "$A" = "c-b/a"'
"#,
    );
    let out = wait_child(env.spawn(&["run", "w.toml", "--headless"]), 60);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A finished run of `n` no-op steps (enough for `show --json` to overflow a pipe).
fn finished_run(env: &Env, n: usize) -> String {
    let mut wf = String::from("name = \"many\"\n");
    for i in 0..n {
        wf.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nuses = \"builtin.noop\"\n"
        ));
    }
    env.workflow("many.toml", &wf);
    // Its output is more than a pipe holds: to a file, so the run never waits on us.
    let log = env.path().join("many.out");
    let child = env
        .cmd()
        .args(["run", "many.toml", "--headless"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_child(child, 120);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    run_id_of(&std::fs::read_to_string(&log).unwrap())
}

/// Start `args` with stdout piped, read `keep` bytes and close the pipe (`| head -c N`).
fn read_then_close(env: &Env, args: &[&str], keep: usize) -> std::process::Output {
    let mut child = env
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0u8; keep];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    wait_child(child, 60)
}

#[test]
fn printing_commands_stop_quietly_when_the_reader_closes_the_pipe() {
    let env = Env::new();
    let run = finished_run(&env, 1500);
    for args in [
        vec!["show", run.as_str(), "--json"],
        vec!["audit", run.as_str(), "--json"],
        vec!["runs"],
    ] {
        let out = read_then_close(&env, &args, 10);
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        // Either ended by SIGPIPE (as `cat` is) or done before the pipe closed.
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.signal() == Some(libc::SIGPIPE) || out.status.success(),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
    // `show` prints far more than a pipe holds: it must have met the closed pipe.
    let out = read_then_close(&env, &["show", &run, "--json"], 10);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}

#[test]
fn a_run_whose_stdout_closes_still_finishes_with_its_own_exit_code() {
    let env = Env::new();
    env.workflow(
        "w.toml",
        "name = \"closed\"\n\n[[step]]\nid = \"a\"\nrun = \"sleep 0.3\"\n\n[[step]]\nid = \"b\"\nneeds = [\"a\"]\nuses = \"builtin.noop\"\n",
    );
    // Closed before baton prints its first line (`run ID NAME`).
    let out = read_then_close(&env, &["run", "w.toml", "--headless"], 0);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    let run = env.wait_run_id();
    assert_eq!(env.show(&run)["state"], "succeeded");
}

/// New-user review: `baton run` printed a workflow's errors without ending the last
/// line, so the shell's prompt landed on it (`validate` ended it).
#[test]
fn run_ends_the_last_line_of_a_workflows_errors() {
    let env = Env::new();
    let wf = env.workflow(
        "cycle.toml",
        "name = \"c\"\n[[step]]\nid = \"a\"\nrun = \"true\"\nneeds = [\"b\"]\n[[step]]\nid = \"b\"\nrun = \"true\"\nneeds = [\"a\"]\n",
    );
    for cmd in ["run", "validate"] {
        let out =
            env.run(&[cmd, wf.to_str().unwrap(), "--headless"][..if cmd == "run" { 3 } else { 2 }]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("cycle"), "{cmd}: {err}");
        assert!(
            err.ends_with('\n') && !err.ends_with("\n\n"),
            "{cmd}: {err:?}"
        );
    }
}

/// New-user review: an empty `BATON_DB` was taken for `--db` given without a value.
/// Empty means unset: the default store is used.
#[test]
fn an_empty_baton_db_means_the_default_store() {
    let env = Env::new();
    let state = env.path().join("xdg-state");
    let out = env
        .cmd()
        .env("BATON_DB", "")
        .env("XDG_STATE_HOME", &state)
        .args(["runs"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("a value is required"), "{err}");
    let default = state.join("baton").join("baton.db");
    assert!(
        err.contains(&format!("no baton database at {}", default.display())),
        "{err}"
    );
}
