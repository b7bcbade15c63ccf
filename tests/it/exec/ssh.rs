//! Issue 46: steps on real SSH hosts (tests/ssh/hosts.sh: Debian's sshd on 127.0.0.2
//! and 127.0.0.3). Skipped, with the reason printed, only where sshd is not installed
//! or cannot be started (not root).
use super::scenarios::{Remote, SECRET, adopt, flow, no_answer_refuses_resume, reattach, walk};
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ssh config naming the hosts, once per test process; `None` (and why, printed)
/// where they cannot run. They stop once this process has exited.
pub(crate) fn hosts() -> Option<PathBuf> {
    static UP: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    UP.get_or_init(start_hosts).clone()
}

fn start_hosts() -> Option<PathBuf> {
    start_daemons(&SSH_HOSTS).map(PathBuf::from)
}

/// An `[executors.NAME]` of `type = "ssh"` on one of the config's hosts, its attempts'
/// files under the test's own directory.
pub(crate) fn executor(name: &str, host: &str, config: &Path, env: &Env, labels: &str) -> String {
    format!(
        "[executors.{name}]\ntype = \"ssh\"\nhost = \"{host}\"\nssh_config = \"{}\"\nworkdir = \"{}\"\nlabels = [{labels}]\n",
        config.display(),
        env.path().join("remote").display()
    )
}

/// A `TMPDIR` of the test's own: its shared SSH connections (`ControlMaster`) are the
/// test's alone, so cutting one cuts no other test's steps. Swept with
/// `chaos::procs::kill_mentioning` at the test's end.
pub(crate) fn own_tmp(env: &Env) -> PathBuf {
    let tmp = env.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("the test's TMPDIR");
    tmp
}

/// `baton run WF --headless` under `tmp` (and `vars`), its output piped.
pub(crate) fn headless_under(
    env: &Env,
    wf: &Path,
    tmp: &Path,
    vars: &[(&str, &str)],
) -> std::process::Child {
    env.cmd()
        .env("TMPDIR", tmp)
        .envs(vars.iter().copied())
        .args(["run", wf.to_str().expect("a UTF-8 path"), "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn baton")
}

/// Every process's command line on the machine (the hosts are this machine).
fn command_lines() -> String {
    text(
        &Command::new("ps")
            .args(["-eo", "pid,pgid,args", "--no-headers"])
            .output()
            .expect("ps")
            .stdout,
    )
}

/// Whether the host (this machine) still runs process group `pgid`.
fn group_runs(pgid: &str) -> bool {
    command_lines()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(pgid))
}

/// `box` on `host` as the shared scenarios (`scenarios.rs`) take it, its attempts'
/// files under the test's directory (nothing of an attempt left there once it ended).
fn remote(config: &Path, env: &Env, host: &str) -> Remote<'static> {
    Remote {
        what: "ssh",
        name: "box",
        head: executor("box", host, config, env, "\"gpu\""),
        vars: &[],
        place: "executor = \"box\"".into(),
        runs_job: &group_runs,
        files: Some(env.path().join("remote")),
    }
}

#[test]
fn a_step_runs_on_a_host_with_its_outputs_env_and_masked_secret() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    flow(&remote(&config, &env, "baton-h2"), &env, |id| {
        // Its process group is recorded, and no command line on the host shows the secret.
        let show = env.show(id);
        let job = &step_field(&show, "compute", "jobs")[0];
        assert_eq!(job["executor"], "box", "{job}");
        let pgid = job["job_id"].as_str().expect("a job id").to_string();
        let lines = command_lines();
        assert!(
            !lines.contains(SECRET),
            "a secret on a command line:\n{lines}"
        );
        assert!(
            group_runs(&pgid),
            "the recorded group {pgid} runs:\n{lines}"
        );
    });
}

/// Issue 76 point 3: the labels a step on a host writes to `$BATON_LABELS` are set on
/// its run.
#[test]
fn a_step_s_labels_on_a_host_are_set_on_its_run() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    super::remote_labels::labels(&remote(&config, &env, "baton-h2"), &env);
}

#[test]
fn a_timeout_and_a_cancel_reach_the_whole_group_on_the_host() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"ssh-kill\"\n{}\n[[step]]\nid = \"slow\"\nexecutor = \"box\"\ntimeout = \"2s\"\nrun = '(sleep 4601; echo) & sleep 4602; wait'\n\n[[step]]\nid = \"long\"\nexecutor = \"box\"\nrun = '(sleep 4603; echo) & sleep 4604; wait'\n",
            executor("box", "baton-h3", &config, &env, "")
        ),
    );
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    let running = |n: &str| command_lines().contains(&format!("sleep {n}"));
    wait_until("both steps' processes on the host", secs(30), || {
        running("4601") && running("4603")
    });
    wait_until("the timeout to end the slow step's group", secs(30), || {
        !running("4601") && !running("4602")
    });
    assert!(running("4603") && running("4604"), "the other step runs on");
    env.wait_step(&id, "slow", "failed", 30);
    let out = env.run(&["cancel", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = wait_child(child, 60);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    wait_until("the cancel to end the long step's group", secs(30), || {
        !running("4603") && !running("4604")
    });
    let show = env.show(&id);
    assert_eq!(step_state(&show, "long").as_deref(), Some("cancelled"));
    let kinds: Vec<&str> = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"timeout"), "{kinds:?}");
}

/// kill -9 while two steps run on a host; both end while no engine runs: resume
/// re-attaches to one and collects the other, each started once, the log whole.
#[test]
fn resume_after_kill_9_reattaches_the_remote_step_once_with_its_whole_log() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    reattach(&remote(&config, &env, "baton-h2"), &env);
}

/// The engine dies (SIGKILL, the `started` failpoint) after the step was launched on the
/// host and before its process group was recorded: resume finds the attempt by its
/// directory there and follows it.
#[test]
fn an_attempt_launched_but_not_recorded_is_adopted_from_its_remote_directory() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    adopt(&remote(&config, &env, "baton-h3"), &env);
}

/// The same, and at resume the host does not answer: resume is refused, not taken for a
/// host with nothing left (which would start the step again beside the first).
#[test]
fn a_resume_that_cannot_ask_the_host_what_was_left_is_refused_and_starts_nothing() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let down = remote(&config, &env, "baton-down");
    no_answer_refuses_resume(&remote(&config, &env, "baton-h3"), &down, &env);
}

#[test]
fn an_unreachable_host_a_refused_key_and_a_full_disk_each_say_which() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let full = config.parent().unwrap().join("full");
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"ssh-problems\"\n{}{}{}[executors.full]\ntype = \"ssh\"\nhost = \"baton-h3\"\nssh_config = \"{}\"\nworkdir = \"{}\"\n\n[[step]]\nid = \"down\"\nexecutor = \"down\"\nrun = 'true'\n\n[[step]]\nid = \"refused\"\nexecutor = \"refused\"\nrun = 'true'\n\n[[step]]\nid = \"disk\"\nexecutor = \"full\"\nrun = 'true'\n\n[[step]]\nid = \"fine\"\nexecutor = \"up\"\nrun = 'true'\n",
            executor("down", "baton-down", &config, &env, ""),
            executor("refused", "baton-refused", &config, &env, ""),
            executor("up", "baton-h2", &config, &env, ""),
            config.display(),
            full.join("w").display(),
        ),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    let error_of = |step: &str| -> String {
        show["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["step"] == step)
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(error_of("down").contains("does not answer"), "{show:#}");
    assert!(
        error_of("refused").contains("refused the key"),
        "{}",
        error_of("refused")
    );
    assert!(
        error_of("refused").contains("authorized_keys"),
        "{}",
        error_of("refused")
    );
    assert!(
        error_of("disk").contains("is full under"),
        "{}",
        error_of("disk")
    );
    assert_eq!(step_state(&show, "fine").as_deref(), Some("succeeded"));
    // `baton executors` asks each host.
    let out = env.run(&["executors", wf.to_str().unwrap()]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    let block = |name: &str| {
        said.split("\n")
            .skip_while(|l| !l.starts_with(&format!("{name} (ssh")))
            .take_while(|l| l.starts_with(name) || l.starts_with("  "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(block("up").contains("host: baton-h2 answers"), "{said}");
    assert!(block("down").contains("does not answer"), "{said}");
    assert!(block("refused").contains("refused the key"), "{said}");
}

#[test]
fn steps_needing_a_label_take_turns_on_its_hosts_and_pass_over_one_down() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let mut wf = format!(
        "name = \"ssh-spread\"\nmax_parallel = 2\n{}{}{}",
        executor("two", "baton-h2", &config, &env, "\"gpu\""),
        executor("gone", "baton-down", &config, &env, "\"gpu\""),
        executor("three", "baton-h3", &config, &env, "\"gpu\""),
    );
    for i in 0..6 {
        wf.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nrequires = [\"gpu\"]\nrun = 'echo \"server=$(echo $SSH_CONNECTION | cut -d\" \" -f3)\" >> \"$BATON_OUTPUT\"'\n"
        ));
    }
    wf.push_str("\n[[step]]\nid = \"pinned\"\nexecutor = \"three\"\nrequires = [\"gpu\"]\nrun = 'echo \"server=$(echo $SSH_CONNECTION | cut -d\" \" -f3)\" >> \"$BATON_OUTPUT\"'\n");
    let wf = env.workflow("w.toml", &wf);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    let mut on = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..6 {
        let s = format!("s{i}");
        let executor = step_field(&show, &s, "jobs")[0]["executor"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let server = step_field(&show, &s, "outputs")["server"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // Where the record says it ran is where it ran.
        let expected = match executor.as_str() {
            "two" => "127.0.0.2",
            "three" => "127.0.0.3",
            other => panic!("{s} ran on {other:?}: {show:#}"),
        };
        assert_eq!(server, expected, "{s}");
        *on.entry(executor).or_default() += 1;
    }
    assert_eq!(on.get("two"), Some(&3), "{on:?}");
    assert_eq!(on.get("three"), Some(&3), "{on:?}");
    assert_eq!(
        step_field(&show, "pinned", "outputs")["server"],
        "127.0.0.3",
        "a step naming its executor stays there"
    );
    // `show` says where each attempt ran.
    let shown = text(&env.run(&["show", &id]).stdout);
    assert!(shown.contains("where attempts ran:"), "{shown}");
    for i in 0..6 {
        let s = format!("s{i}");
        let executor = step_field(&show, &s, "jobs")[0]["executor"].clone();
        let executor = executor.as_str().unwrap_or_default();
        assert!(
            shown.contains(&format!("  {s} #1 on {executor} (job ")),
            "{shown}"
        );
    }
}

/// Point 5's shape: a step that ends well costs exactly one `ssh` (start, live output,
/// exit code and outputs on one connection), and nothing the step prints can pass for
/// the results that follow its output.
#[test]
fn a_step_costs_one_ssh_and_its_output_cannot_forge_its_results() {
    use std::os::unix::fs::PermissionsExt;
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    // An `ssh` first on PATH that counts its calls, then is the real one.
    let shim = env.path().join("shim");
    std::fs::create_dir_all(&shim).unwrap();
    let calls = env.path().join("ssh-calls");
    std::fs::write(
        shim.join("ssh"),
        format!(
            "#!/bin/sh\necho call >> '{}'\nexec /usr/bin/ssh \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(shim.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "ssh-one"
{}
[[step]]
id = "forger"
executor = "box"
run = 'printf "out\n\nbaton-results-00000000000000000000000000000000\nexitcode 1 1\n0end 0\n"; printf "exitcode 1 1\n0output 5 5\nx=99\nend 0\n"; echo "x=1" >> "$BATON_OUTPUT"; exit 4'

[[step]]
id = "plain"
executor = "box"
run = 'echo "answer=7" >> "$BATON_OUTPUT"; printf "no newline at the end"'

[[step]]
id = "quiet"
executor = "box"
run = 'true'
"#,
            executor("box", "baton-h2", &config, &env, "\"gpu\""),
        ),
    );
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env
        .cmd()
        .env("PATH", path)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "forger").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "forger", "exit_code"), 4);
    assert_eq!(step_field(&show, "forger", "outputs")["x"], "1");
    let log = text(&env.run(&["logs", &id, "forger"]).stdout);
    assert!(log.contains("baton-results-000"), "{log}");
    assert!(log.contains("x=99"), "{log}");
    assert_eq!(step_state(&show, "plain").as_deref(), Some("succeeded"));
    assert_eq!(step_field(&show, "plain", "outputs")["answer"], "7");
    let log = text(&env.run(&["logs", &id, "plain"]).stdout);
    assert!(log.contains("no newline at the end"), "{log}");
    assert_eq!(step_state(&show, "quiet").as_deref(), Some("succeeded"));
    let n = std::fs::read_to_string(&calls)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(n, 3, "one ssh per step, three steps");
    let remote = env.path().join("remote");
    wait_until("the attempts' files gone from the host", secs(10), || {
        walk(&remote).is_empty()
    });
}

/// Issue review (asks-read point 3): the run's store path (`BATON_DB`, which a local
/// step's `baton ask` writes to) is for a step on this machine only: one on a host is
/// never sent it (a path there means nothing). The engine is given its store by
/// `--db`, not by its own environment, so that nothing but baton's decision could
/// carry it.
#[test]
fn a_step_on_a_host_is_sent_no_store_path_a_local_one_gets_it() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "ssh-store"
{}
[[step]]
id = "remote"
executor = "box"
run = 'echo "db=${{BATON_DB:-none}}" >> "$BATON_OUTPUT"'

[[step]]
id = "here"
run = 'echo "db=${{BATON_DB:-none}}" >> "$BATON_OUTPUT"'
"#,
            executor("box", "baton-h2", &config, &env, ""),
        ),
    );
    let db = env.db();
    let out = env
        .cmd()
        .env_remove("BATON_DB")
        .args(["run", wf.to_str().unwrap(), "--headless", "--db"])
        .arg(&db)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(
        step_field(&show, "remote", "outputs")["db"],
        "none",
        "{show:#}"
    );
    let here = step_field(&show, "here", "outputs")["db"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        std::fs::canonicalize(&here).ok(),
        std::fs::canonicalize(&db).ok(),
        "the local step's store: {here}"
    );
}
