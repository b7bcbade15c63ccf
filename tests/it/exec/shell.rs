//! The shell executor against real processes: modes, environment, logs, exit codes,
//! outputs, masking and injection safety.

use crate::helpers::{job, log_text};
use baton::exec::{ExecError, spawn};
use baton::model::mask::Masker;
use baton::model::{StepOutcome, Usage};
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn shell_step_gets_dir_environment_and_private_files() {
    let tmp = tempfile::tempdir().unwrap();
    let mut j = job(tmp.path(), "envcheck", "");
    j.command = r#"pwd; echo "foo=$FOO step=$BATON_STEP_ID"; echo "path=$PATH"; stat -c %a "$(dirname "$BATON_OUTPUT")" "$(dirname "$BATON_USAGE")"; test -e "$BATON_OUTPUT" || echo no-output-file; test -e "$BATON_USAGE" || echo no-usage-file; echo to-stderr >&2"#.into();
    j.env.push(("FOO".into(), "bar baz".into()));
    let f = spawn(j).await.unwrap().wait().await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    let log_path = f.log_path.clone().unwrap();
    assert_eq!(log_path, tmp.path().join("logs/envcheck.1.log"));
    assert_eq!(mode(&log_path), 0o600);
    assert_eq!(mode(&tmp.path().join("logs")), 0o700);
    let log = log_text(&log_path);
    let dir = tmp.path().canonicalize().unwrap();
    assert!(log.contains(&format!("{}\n", dir.display())), "{log}");
    assert!(log.contains("foo=bar baz step=envcheck\n"), "{log}");
    assert!(log.contains(&format!("path={}\n", std::env::var("PATH").unwrap())));
    // The files live in a private directory and exist only once the step writes them.
    assert!(
        log.contains("700\n700\nno-output-file\nno-usage-file\n"),
        "{log}"
    );
    assert!(
        log.contains("to-stderr\n"),
        "stderr goes to the same log: {log}"
    );
    assert_eq!(
        f.stderr_tail, "to-stderr",
        "the stderr tail has stderr only"
    );
}

#[tokio::test]
async fn plain_word_lists_are_execed_directly_others_through_sh() {
    let tmp = tempfile::tempdir().unwrap();
    // Direct exec: a missing program cannot start at all.
    let err = spawn(job(tmp.path(), "direct", "no-such-program-baton arg"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-program-baton"), "{err}");
    let f = err.into_finished();
    assert!(
        matches!(&f.outcome, StepOutcome::SpawnFailed { message } if message.contains("cannot start"))
    );
    assert!(log_text(f.log_path.as_ref().unwrap()).contains("baton: cannot start"));
    // The same through sh (quotes are shell syntax): sh starts and reports 127.
    let f = spawn(job(tmp.path(), "viash", "no-such-program-baton \"arg\""))
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 127 });
    // Direct exec passes the words as arguments.
    let f = spawn(job(tmp.path(), "args", "printf %s-%s: a b"))
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    assert_eq!(log_text(f.log_path.as_ref().unwrap()), "a-b:");
    // Relative programs resolve in the step's directory; a script without `#!` still
    // runs (through sh, as `sh -c` would run it).
    for (name, body) in [
        ("with.sh", "#!/bin/sh\necho with $1\n"),
        ("without.sh", "echo without $1\n"),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = spawn(job(tmp.path(), name, &format!("./{name} x")))
            .await
            .unwrap()
            .wait()
            .await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 }, "{name}");
        assert_eq!(
            log_text(f.log_path.as_ref().unwrap()),
            format!("{} x\n", &name[..name.len() - 3])
        );
    }
}

#[tokio::test]
async fn exit_codes_signals_and_spawn_failures_are_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let f = spawn(job(tmp.path(), "three", "exit 3"))
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 3 });
    let f = spawn(job(tmp.path(), "sig", "kill -9 $$"))
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(f.outcome, StepOutcome::Signalled { signal: 9 });
    let mut bad_dir = job(tmp.path(), "baddir", "true");
    bad_dir.dir = tmp.path().join("missing");
    match spawn(bad_dir).await {
        Err(e @ ExecError::Spawn { .. }) => {
            assert!(e.to_string().contains("missing"), "{e}");
            assert!(matches!(
                e.into_finished().outcome,
                StepOutcome::SpawnFailed { .. }
            ));
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
    // A step id is never a path: its log's name encodes `../` (`%2E%2E%2F`), so the
    // log stays in the run's log directory.
    let escape = job(tmp.path(), "../escape", "true");
    if let Ok(r) = spawn(escape).await {
        r.wait().await;
    }
    assert!(!tmp.path().join("escape.1.log").exists());
    let logs: Vec<_> = std::fs::read_dir(tmp.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        logs.iter()
            .all(|n| !n.contains('/') && !n.starts_with("..")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn outputs_and_usage_are_parsed_and_the_files_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut j = job(tmp.path(), "outs", "");
    j.command = r#"
        echo version=1.2 >> "$BATON_OUTPUT"
        echo "bad line" >> "$BATON_OUTPUT"
        echo version=1.3 >> "$BATON_OUTPUT"
        echo "token=$TOKEN" >> "$BATON_OUTPUT"
        printf 'cost=0.5\ntokens=10\ncost=0.25\n' >> "$BATON_USAGE"
        echo "files $BATON_OUTPUT $BATON_USAGE"
    "#
    .into();
    j.env.push(("TOKEN".into(), "s3cr3t-t0ken".into()));
    j.masker = Masker::new(["s3cr3t-t0ken".to_string()]);
    let f = spawn(j).await.unwrap().wait().await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    assert_eq!(
        f.outputs,
        vec![
            ("version".to_string(), "1.3".to_string()),
            // Handed to the core as is: it withholds an output holding a secret.
            ("token".to_string(), "s3cr3t-t0ken".to_string())
        ]
    );
    assert_eq!(
        f.usage,
        Usage {
            cost: 0.75,
            tokens: 10,
            calls: 0
        }
    );
    assert_eq!(f.output_errors.len(), 1, "{:?}", f.output_errors);
    assert!(f.output_errors[0].contains("line 2"));
    let log = log_text(f.log_path.as_ref().unwrap());
    let mut paths = log.trim().strip_prefix("files ").unwrap().split(' ');
    let (out, usage) = (paths.next().unwrap(), paths.next().unwrap());
    assert!(!std::path::Path::new(out).exists(), "$BATON_OUTPUT removed");
    assert!(
        !std::path::Path::new(usage).exists(),
        "$BATON_USAGE removed"
    );
    assert!(
        !std::path::Path::new(out).parent().unwrap().exists(),
        "private dir removed"
    );
}

#[tokio::test]
async fn secrets_are_masked_in_log_tail_and_stderr_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = "hunter2-very-secret";
    let mut j = job(tmp.path(), "mask", "");
    // The secret on stdout, on stderr, and inside a 200 KB line where 64 KiB reads are
    // sure to cut some occurrences.
    j.command = r#"echo "pw=$PW"; echo "err $PW" >&2
        i=0; while [ $i -lt 9000 ]; do printf 'ab%s' "$PW"; i=$((i+1)); done; echo"#
        .into();
    j.env.push(("PW".into(), secret.into()));
    j.masker = Masker::new([secret.to_string()]);
    let running = spawn(j).await.unwrap();
    let tail = running.tail();
    let f = running.wait().await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    let log = log_text(f.log_path.as_ref().unwrap());
    assert!(
        !log.contains(secret) && !log.contains("hunter2"),
        "secret leaked into the log"
    );
    assert!(log.contains("pw=***\n") && log.contains("err ***\n"));
    assert_eq!(log.matches("ab***").count(), 9000);
    assert_eq!(f.stderr_tail, "err ***");
    assert!(tail.lines().iter().all(|l| !l.contains("hunter2")));
    assert!(tail.lines().contains(&"pw=***".to_string()));
}

#[tokio::test]
async fn values_in_the_environment_never_become_shell_code() {
    let tmp = tempfile::tempdir().unwrap();
    for (n, value) in ["$(touch pwned)", "`touch pwned`", "'; touch pwned; '"]
        .into_iter()
        .enumerate()
    {
        let mut j = job(tmp.path(), &format!("inject{n}"), "echo \"$X\"");
        j.env.push(("X".into(), value.into()));
        let f = spawn(j).await.unwrap().wait().await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
        assert_eq!(log_text(f.log_path.as_ref().unwrap()), format!("{value}\n"));
        assert!(!tmp.path().join("pwned").exists(), "{value} ran");
    }
}

#[tokio::test]
async fn each_attempt_has_a_private_dir_of_its_own_in_the_runs_unlistable_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = baton::exec::FilesDir::create("run1").unwrap();
    let dir = shared.path().to_path_buf();
    // Enter and create, not list: a step cannot find its siblings' directories.
    assert_eq!(mode(&dir), 0o300);
    let mut seen = Vec::new();
    for attempt in 1..=2 {
        let mut j = job(tmp.path(), "outs", "");
        j.attempt = attempt;
        j.files_dir = Some(shared.clone());
        // What a sibling did to a directory the run's steps shared (issue 24): make
        // its own listable and write every file in it. It holds only its own.
        j.command = format!(
            r#"test -e "$BATON_OUTPUT" || echo absent; d=$(dirname "$BATON_OUTPUT"); echo "files $BATON_OUTPUT $BATON_USAGE $(stat -c %a "$d")"; ls -A "$d"; echo n={attempt} >> "$BATON_OUTPUT"; echo cost=1 >> "$BATON_USAGE""#
        );
        let f = spawn(j).await.unwrap().wait().await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
        assert_eq!(f.outputs, vec![("n".to_string(), attempt.to_string())]);
        assert_eq!(f.usage.cost, 1.0);
        let log = log_text(f.log_path.as_ref().unwrap());
        let mut lines = log.lines();
        assert_eq!(lines.next(), Some("absent"), "created by the step: {log}");
        let files: Vec<&str> = lines.next().unwrap().split(' ').skip(1).collect();
        assert_eq!(files[2], "700", "the attempt's directory is private: {log}");
        assert_eq!(lines.next(), None, "nothing else in it: {log}");
        let own = std::path::Path::new(files[0])
            .parent()
            .unwrap()
            .to_path_buf();
        assert_eq!(std::path::Path::new(files[1]).parent(), Some(own.as_path()));
        assert_eq!(
            own.parent(),
            Some(dir.as_path()),
            "inside the run's directory"
        );
        let name = own.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name.len(), 32, "a random name no sibling can guess: {name}");
        assert!(!own.exists(), "{} removed once read", own.display());
        seen.push(own);
    }
    assert_ne!(seen[0], seen[1], "each attempt has its own directory");
    assert!(dir.exists(), "the run's dir outlives its attempts");
    drop(shared);
    assert!(!dir.exists(), "removed with its owner");
}

#[tokio::test]
async fn a_step_that_sets_path_finds_programs_on_its_own_path_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let tool = bin.join("steptool");
    std::fs::write(&tool, "#!/bin/sh\necho steptool ran \"$1\"\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A relative entry is taken from the step's directory, as the shell would.
    for (n, path) in [bin.to_string_lossy().into_owned(), "bin".to_string()]
        .into_iter()
        .enumerate()
    {
        let mut j = job(tmp.path(), &format!("tool{n}"), "steptool x");
        j.env.push(("PATH".into(), path.clone()));
        let f = spawn(j).await.unwrap().wait().await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 }, "{path}");
        assert_eq!(log_text(f.log_path.as_ref().unwrap()), "steptool ran x\n");
    }
    // `true` is on baton's PATH but not on the step's: it does not start.
    let mut j = job(tmp.path(), "nopath", "true");
    j.env
        .push(("PATH".into(), bin.to_string_lossy().into_owned()));
    let err = spawn(j).await.unwrap_err();
    assert!(
        err.to_string().contains("not found in the step's PATH"),
        "{err}"
    );
}

/// Until the leader `pid` has exited (a zombie: nothing has reaped it yet).
async fn exited(pid: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let state = stat[stat.rfind(')').unwrap() + 2..].chars().next();
        if state == Some('Z') {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{pid} still runs");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

// A step over before its follower first looks (most short steps are: its pidfd and
// pipes are then reaped and read without being registered with the runtime) ends as
// one still running then: the same outcome, log and tails.
#[tokio::test]
async fn a_step_over_at_its_first_look_ends_as_one_still_running() {
    let tmp = tempfile::tempdir().unwrap();
    let script = "echo out; echo err >&2; exit 3";
    let mut seen = Vec::new();
    for (step, before) in [("running", "sleep 0.3; "), ("over", "")] {
        let running = spawn(job(tmp.path(), step, &format!("{before}{script}")))
            .await
            .unwrap();
        if before.is_empty() {
            exited(running.pgid()).await;
        }
        let tail = running.tail();
        let f = running.wait().await;
        let mut log: Vec<String> = log_text(f.log_path.as_ref().unwrap())
            .lines()
            .map(String::from)
            .collect();
        log.sort();
        let mut tail = tail.lines();
        tail.sort();
        seen.push((f.outcome, log, f.stderr_tail, tail, f.log_errors.len()));
    }
    assert_eq!(seen[0], seen[1]);
    let lines = vec!["err".to_string(), "out".to_string()];
    assert_eq!(
        seen[1],
        (
            StepOutcome::Exited { exit_code: 3 },
            lines.clone(),
            "err".into(),
            lines,
            0
        )
    );
}

// Over at its first look but for what it left in the background holding its stdout:
// that is stopped with the group, and the pipe read to its end.
#[tokio::test]
async fn a_step_over_at_its_first_look_with_a_background_process_on_its_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(job(tmp.path(), "bg", "sleep 1000 & echo started"))
        .await
        .unwrap();
    let pgid = running.pgid();
    exited(pgid).await;
    assert_ne!(crate::helpers::live_members(pgid), Vec::<i32>::new());
    let f = tokio::time::timeout(std::time::Duration::from_secs(20), running.wait())
        .await
        .expect("it ends");
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    assert_eq!(crate::helpers::live_members(pgid), Vec::<i32>::new());
    assert_eq!(log_text(f.log_path.as_ref().unwrap()), "started\n");
}

// A step that writes more than its pipe holds, over by the time the follower looks
// (it could not be before its output was read): every byte in its log.
#[tokio::test]
async fn a_step_that_fills_its_pipe_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(job(
        tmp.path(),
        "much",
        "head -c 1000000 /dev/zero | tr '\\0' a",
    ))
    .await
    .unwrap();
    let f = running.wait().await;
    assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
    let log = std::fs::read(f.log_path.unwrap()).unwrap();
    assert_eq!(log.len(), 1_000_000);
    assert!(log.iter().all(|b| *b == b'a'));
}
