//! Issue 60: a transfer that stalls mid-copy (the host's reader or writer stopped with
//! SIGSTOP: the host and its connection answer, no byte moves) is stopped within its
//! deadline (the executor's `copy_stall`, 60 s by default, `exec::ssh::stall`; 10 s
//! here, so that each test waits out a short one), as an error naming the artifact and the host
//! (`engine::artifact_files`' unit tests read it), and copied again: a copy back is
//! read again, a copy out written again before the reader starts; no step runs twice.
//! A copy out that stalls every time fails its reader after 3 tries, the record naming
//! the artifact, the host and the executor's `copy_stall`.
//! Only this test's processes are stopped: the host's scripts name its directory.
use super::ssh::{executor, hosts, own_tmp};
use crate::chaos::procs::{self, Proc};
use crate::helpers::*;
use std::path::Path;
use std::process::Stdio;

/// Large enough to be still on its way when the test finds its copy.
const MIB: u64 = 256;

/// `h3_extra`: more fields of the reader's executor.
fn workflow(env: &Env, config: &Path, h3_extra: &str) -> std::path::PathBuf {
    let head = format!(
        "{}copy_stall = \"10s\"\n{}{h3_extra}",
        executor("h2", "baton-h2", config, env, ""),
        executor("h3", "baton-h3", config, env, "")
    );
    env.workflow(
        "wf.toml",
        &format!(
            r#"name = "transfer-stall"
{head}
[[step]]
id = "train"
executor = "h2"
run = "mkdir -p out && head -c {MIB}M /dev/zero > out/m.ckpt && echo train >> ledger"
artifacts = {{ model = "out/m.ckpt" }}

[[step]]
id = "eval"
executor = "h3"
needs = ["train"]
uses_artifacts = ["train.model"]
run = "echo eval >> ledger"
"#
        ),
    )
}

/// The host's process of this test's copy: the `sh` running the script that holds
/// `script_text` in `env`'s directory, and its child `program`.
fn stop_the_copy(env: &Env, script_text: &str, program: &str) -> Proc {
    let dir = env.path().to_string_lossy().into_owned();
    let p = wait_until(
        &format!("the host's {program} of the copy"),
        secs(120),
        || {
            procs::mentioning_all(&[script_text, &dir])
                .iter()
                .flat_map(procs::children)
                .find(|c| c.args.first().is_some_and(|a| a.ends_with(program)))
        },
    );
    assert!(
        procs::signal(&p, crate::chaos::plan::Sig::Stop(std::time::Duration::ZERO)),
        "SIGSTOP {p:?}"
    );
    p
}

fn ended(env: &Env, child: std::process::Child, stopped: &Proc) -> (String, serde_json::Value) {
    let out = wait_child(child, 400);
    procs::cont(stopped);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    assert_eq!(
        std::fs::read_to_string(env.path().join("ledger")).unwrap_or_default(),
        "train\neval\n",
        "each step ran once: {show:#}"
    );
    (run, show)
}

fn run(env: &Env, wf: &Path, tmp: &Path) -> std::process::Child {
    env.cmd()
        .env("TMPDIR", tmp)
        .args(["run", wf.to_str().expect("UTF-8"), "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton")
}

#[test]
fn a_copy_out_that_stalls_is_written_again_before_the_reader_starts() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    // The copy out written when the reader starts, not sent ahead (`ssh_ahead`).
    let wf = workflow(&env, &config, "copy_stall = \"10s\"\nsend_ahead = false\n");
    let child = run(&env, &wf, &tmp);
    // PUT's `cat` on baton-h3 writes the handed copy (PUT alone names `.tmp-`).
    let stopped = stop_the_copy(&env, ".tmp-", "cat");
    let (_, show) = ended(&env, child, &stopped);
    procs::kill_mentioning(&tmp.to_string_lossy());
    // Written again before the reader started: its one attempt ran.
    assert_eq!(step_field(&show, "eval", "attempts"), 1, "{show:#}");
    assert_eq!(step_field(&show, "train", "attempts"), 1, "{show:#}");
    // The stopped copy, continued, was never renamed into place, and the reader's
    // copy went once it ended.
    let handed = env.path().join(".baton-artifacts");
    wait_until("nothing left on the host", secs(30), || {
        let left: Vec<_> = walkdir::WalkDir::new(&handed)
            .into_iter()
            .flatten()
            .map(|e| e.path().display().to_string())
            .collect();
        left.is_empty()
            .then_some(())
            .ok_or_else(|| format!("{left:?}"))
    });
}

#[test]
fn a_copy_back_that_stalls_is_read_again_never_running_the_step_again() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow(&env, &config, "");
    let child = run(&env, &wf, &tmp);
    // FETCH's `cat` on baton-h2 reads the file back.
    let stopped = stop_the_copy(&env, "stat -L -c", "cat");
    // Stopped before it exited, it holds the copy's channel open: the run's end says
    // the copy was read again.
    let (_, show) = ended(&env, child, &stopped);
    procs::kill_mentioning(&tmp.to_string_lossy());
    assert_eq!(step_field(&show, "train", "attempts"), 1, "{show:#}");
    assert_eq!(
        step_state(&show, "train").as_deref(),
        Some("succeeded"),
        "{show:#}"
    );
}

#[test]
fn a_copy_out_that_stalls_every_time_fails_its_reader_naming_the_artifact_and_host() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow(&env, &config, "copy_stall = \"4s\"\nsend_ahead = false\n");
    let mut child = run(&env, &wf, &tmp);
    // Every PUT's `cat` on baton-h3 stopped as it appears, until the run ends.
    let dir = env.path().to_string_lossy().into_owned();
    let mut stopped: Vec<Proc> = Vec::new();
    wait_until("the run's end, each copy out stopped", secs(400), || {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Ok(());
        }
        let fresh = procs::mentioning_all(&[".tmp-", &dir])
            .iter()
            .flat_map(procs::children)
            .filter(|c| c.args.first().is_some_and(|a| a.ends_with("cat")))
            .find(|c| !stopped.iter().any(|s| s.pid == c.pid));
        if let Some(p) = fresh
            && procs::signal(&p, crate::chaos::plan::Sig::Stop(std::time::Duration::ZERO))
        {
            stopped.push(p);
        }
        Err(format!("{} copies stopped", stopped.len()))
    });
    let out = wait_child(child, 10);
    for p in &stopped {
        procs::cont(p);
    }
    procs::kill_mentioning(&tmp.to_string_lossy());
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(stopped.len(), 3, "one copy per try: {stopped:?}");
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    // The maker ran once and is kept; the reader never started.
    assert_eq!(
        std::fs::read_to_string(env.path().join("ledger")).unwrap_or_default(),
        "train\n",
        "{show:#}"
    );
    assert_eq!(
        step_state(&show, "train").as_deref(),
        Some("succeeded"),
        "{show:#}"
    );
    let said = show["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["step"] == "eval")
        .filter_map(|e| e["message"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for part in [
        "artifact `train.model`",
        "nothing moved for 4 s",
        "host baton-h3",
        "`copy_stall`",
    ] {
        assert!(said.contains(part), "{part:?} not in {said:?}\n{show:#}");
    }
}
