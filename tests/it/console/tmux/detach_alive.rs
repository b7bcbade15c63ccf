//! Issue 55 point 3: detach leaves the work running. `q` → Detach and a lost terminal
//! (SIGHUP) hand each running step to the background engine alive: the same process
//! counts on, its log holds every number once, a non-idempotent step ends succeeded on
//! its own exit (no mark, no second attempt), and no baton process (a frozen group's
//! anchor included) is left once the work is done.
use super::*;
use std::path::PathBuf;

/// A non-idempotent step that writes its pid once, then counts to 80 (one number each
/// tenth of a second), each number to its log and to `progress`, and one token of
/// usage for each.
const COUNTER: &str = r#"
name = "alive"
[[step]]
id = "count"
idempotent = false
run = '''
echo $$ > pid
i=0
while [ $i -lt 80 ]; do
  i=$((i+1)); echo "n $i"; echo $i > progress; echo tokens=1 >> "$BATON_USAGE"
  sleep 0.1
done
'''
"#;

/// [`COUNTER`] counting to `n` as workflow `name`, its files in `dir`, on the executor
/// `head` defines (`[executors.NAME]`) when `head` is not empty (a host, a cluster's
/// node: this machine).
fn counter_in(dir: &std::path::Path, name: &str, head: &str, n: u64) -> String {
    let quoted = shell_quote(&dir.to_string_lossy());
    let mut counter = COUNTER
        .replace("-lt 80", &format!("-lt {n}"))
        .replace("echo $$ > pid", &format!("echo $$ > {quoted}/pid"))
        .replace("> progress", &format!("> {quoted}/progress"))
        .replacen(
            "name = \"alive\"\n",
            &format!("name = \"{name}\"\n{head}\n"),
            1,
        );
    let executor = head
        .split_once("[executors.")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(name, _)| name);
    if let Some(executor) = executor {
        counter = counter.replace(
            "idempotent = false",
            &format!("idempotent = false\nexecutor = \"{executor}\""),
        );
    }
    counter
}

fn progress(dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(dir.join("progress"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The step's pid, once it has written it.
fn step_pid(dir: &std::path::Path) -> i32 {
    wait_until("the step's pid", secs(30), || {
        std::fs::read_to_string(dir.join("pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
    })
}

/// `baton run` of `wf` in a console in tmux, its step counting: the run, the step's
/// pid and the console.
fn counting_in_a_console(env: &Env, wf: &std::path::Path) -> (String, i32, Tmux) {
    counting_in(env, &console_run(env, wf))
}

/// The same, the console started by `command`.
fn counting_in(env: &Env, command: &str) -> (String, i32, Tmux) {
    let tmux = Tmux::new(env, 160, 40, command);
    tmux.wait_for(
        "the console driving its run",
        |s| s.contains("drives 1 run"),
        30,
    );
    let run = env.wait_run_id();
    let pid = step_pid(env.path());
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    (run, pid, tmux)
}

/// `q` → `d`: the console exits, handing its run on.
fn quit_detaching(tmux: &Tmux) {
    tmux.keys(&["q"]);
    tmux.wait_for("the quit dialog", |s| s.contains("[ Detach ]"), 10);
    tmux.keys(&["d"]);
    handed_on(tmux, 1);
}

/// baton has exited, saying it handed `runs` runs to background engines.
fn handed_on(tmux: &Tmux, runs: usize) {
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 30);
    assert_eq!(
        screen.matches("handed to a background engine (pid").count(),
        runs,
        "{screen}"
    );
}

/// Once the console has gone: the step's process `pid` still runs and counts on, and
/// the run ends as [`ends_alive`] says.
fn runs_on_alive(env: &Env, dir: &std::path::Path, run: &str, pid: i32, n: u64) {
    counts_on(env, dir, run, pid);
    ends_alive(env, dir, run, pid, n);
}

/// The step's process `pid` outlived the console and counts on.
fn counts_on(env: &Env, dir: &std::path::Path, run: &str, pid: i32) {
    let counted = progress(dir);
    assert!(
        process_alive(pid),
        "the step's process outlives the console"
    );
    wait_until("the same process to count on", secs(30), || {
        if progress(dir) > counted + 3 && process_alive(pid) {
            Ok(())
        } else {
            let show = env.show(run);
            Err(format!(
                "counted {}; run {} driven by {}; count: {}",
                progress(dir),
                show["state"],
                show["driven_by"],
                step(&show, "count")
            ))
        }
    });
}

/// The run ends succeeded on the step's own exit, its first attempt, every number in
/// its log once and in order, its usage whole, its duration its whole life; then
/// nothing baton started for it is left.
fn ends_alive(env: &Env, dir: &std::path::Path, run: &str, pid: i32, n: u64) {
    wait_until("the run to succeed in the background", secs(120), || {
        (env.show(run)["state"] == "succeeded").then_some(())
    });
    let show = env.show(run);
    assert_eq!(step_state(&show, "count").as_deref(), Some("succeeded"));
    assert_eq!(
        step_field(&show, "count", "attempts"),
        1,
        "not run again: {show:#}"
    );
    assert_eq!(
        step_field(&show, "count", "exit_code"),
        0,
        "its own exit on record, not a mark: {show:#}"
    );
    let pid_now = std::fs::read_to_string(dir.join("pid")).unwrap();
    assert_eq!(pid_now.trim(), pid.to_string(), "never started again");
    let log = step_field(&show, "count", "log_path");
    let log = std::fs::read_to_string(log.as_str().unwrap()).unwrap();
    let want: Vec<String> = (1..=n).map(|i| format!("n {i}")).collect();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        want,
        "every number once, in order"
    );
    assert_eq!(
        step_field(&show, "count", "usage")["tokens"],
        n,
        "its usage whole, counted once: {show:#}"
    );
    // `n` tenths of a second of counting: the duration is the step's life, not the
    // part after the hand-over.
    let ms = step_field(&show, "count", "duration_ms")
        .as_u64()
        .unwrap_or(0);
    assert!(ms >= n * 100, "duration {ms} ms: {show:#}");
    wait_until("no anchor left for the step's group", secs(10), || {
        anchors_of(pid).is_empty()
    });
    // Nor a files directory of the run (`baton-RUN-…`, where an engine made its
    // attempts' `$BATON_OUTPUT`s): in the runtime directory (a tmpfs) nor in the
    // consoles' `TMPDIR` (tmux's).
    // The background engine sweeps them as it ends, a moment after the run's end.
    let prefix = format!("baton-{run}-");
    wait_until("no files directory of the run left", secs(10), || {
        let left: Vec<PathBuf> = [env.runtime_dir(), env.path().join("tmp")]
            .iter()
            .flat_map(|d| std::fs::read_dir(d).into_iter().flatten())
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("left: {left:?}"))
        }
    });
}

/// `q` → Detach of a console that started the run: its running step goes on alive.
#[test]
fn q_detach_leaves_a_running_local_step_running() {
    let env = Env::new();
    let wf = env.workflow("alive.toml", COUNTER);
    let (run, pid, tmux) = counting_in_a_console(&env, &wf);
    quit_detaching(&tmux);
    runs_on_alive(&env, env.path(), &run, pid, 80);
}

/// SIGHUP (the terminal closed) of a console that started the run: the same.
#[test]
fn sighup_leaves_a_running_local_step_running() {
    let env = Env::new();
    let wf = env.workflow("alive.toml", COUNTER);
    let (run, pid, tmux) = counting_in_a_console(&env, &wf);
    hang_up(&wf.to_string_lossy());
    handed_on(&tmux, 1);
    runs_on_alive(&env, env.path(), &run, pid, 80);
}

/// A run of `counter` with a step `first` before its count: its engine killed (-9)
/// while `first` runs, then `go` written so that `first` ends at once when run again.
fn interrupted_before_counting(env: &Env, file: &str, counter: &str) -> String {
    let wf = env.workflow(
        file,
        &counter.replace(
            "[[step]]\nid = \"count\"",
            "[[step]]\nid = \"first\"\nrun = \"while [ ! -e go ] && [ -e $PWD ]; do sleep 0.1; done\"\n[[step]]\nid = \"count\"\nneeds = [\"first\"]",
        ),
    );
    let (mut engine, run) = env.spawn_until(&wf, "first", "running");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    std::fs::write(env.path().join("go"), "").unwrap();
    run
}

/// A run whose first engine was killed (-9) before its counting step started, taken
/// over (`R`) by `baton tui` in tmux, which now drives it.
fn taken_over_in_a_console(env: &Env) -> (String, Tmux) {
    // Not yet started when the first engine goes: the takeover starts it (attempt 1).
    let run = interrupted_before_counting(env, "alive.toml", COUNTER);
    let command = format!(
        "cd {} && XDG_CONFIG_HOME={} USER=carol {} tui --db {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        // On its command line, so that this test's console is found among the others
        // running at once (`hang_up`).
        shell_quote(&env.db().to_string_lossy()),
    );
    let tmux = Tmux::new(env, 160, 40, &command);
    tmux.wait_for("the runs", |s| s.contains("interrupted"), 20);
    tmux.keys(&["5"]);
    tmux.wait_for("the Runs tab", |s| s.contains("Runs ·"), 10);
    tmux.keys(&["R"]);
    tmux.wait_for("the takeover", |s| s.contains("drives 1 run"), 30);
    (run, tmux)
}

/// A run the console took over (`R`) and then lost its terminal: handed on, its
/// running step alive.
#[test]
fn sighup_after_a_takeover_leaves_the_taken_over_step_running() {
    let env = Env::new();
    let (run, tmux) = taken_over_in_a_console(&env);
    let pid = step_pid(env.path());
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    hang_up(&env.db().to_string_lossy());
    handed_on(&tmux, 1);
    runs_on_alive(&env, env.path(), &run, pid, 80);
}

/// The same run, taken over and then its terminal closed for real (the tmux server
/// killed: the console's input ends and the hang-up reaches every process in it).
#[test]
fn closing_the_terminal_after_a_takeover_leaves_the_taken_over_step_running() {
    let env = Env::new();
    let (run, tmux) = taken_over_in_a_console(&env);
    let pid = step_pid(env.path());
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    drop(tmux);
    runs_on_alive(&env, env.path(), &run, pid, 80);
}

/// A step on an SSH host: left running there at `q` → Detach; the background engine
/// re-attaches to it (the same process on the host, its log whole, no mark).
#[test]
fn q_detach_leaves_a_running_ssh_step_running() {
    let Some(config) = crate::exec::ssh::hosts() else {
        return;
    };
    let env = Env::new();
    let head = crate::exec::ssh::executor("box", "baton-h2", &config, &env, "");
    let wf = env.workflow("alive.toml", &counter_in(env.path(), "alive", &head, 80));
    // Its own `TMPDIR`: the shared connections it leaves are the test's, swept at its end.
    let tmp = crate::exec::ssh::own_tmp(&env);
    let command = format!(
        "export TMPDIR={}; {}",
        shell_quote(&tmp.to_string_lossy()),
        console_run(&env, &wf)
    );
    let (run, pid, tmux) = counting_in(&env, &command);
    quit_detaching(&tmux);
    runs_on_alive(&env, env.path(), &run, pid, 80);
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
}

/// One console drives two runs: one it started, one it took over (`R`); its terminal
/// hangs up: both go to background engines, each running step alive.
#[test]
fn sighup_hands_every_run_a_console_drives_on_alive() {
    let env = Env::new();
    let (a, b) = (env.path().join("a"), env.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
    }
    let run_b = interrupted_before_counting(&env, "beta.toml", &counter_in(&b, "beta", "", 250));
    let wf_a = env.workflow("alpha.toml", &counter_in(&a, "alpha", "", 250));
    let tmux = Tmux::new(&env, 160, 40, &console_run(&env, &wf_a));
    tmux.wait_for(
        "the console driving its run",
        |s| s.contains("drives 1 run"),
        30,
    );
    let pid_a = step_pid(&a);
    let run_a = wait_until("alpha's run", secs(30), || {
        env.runs()
            .as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != run_b)
            .map(str::to_string)
    });
    tmux.keys(&["5"]);
    tmux.wait_for("the Runs tab", |s| s.contains("Runs ·"), 10);
    // The newest first: beta is the row below alpha.
    tmux.keys(&["j"]);
    tmux.keys(&["R"]);
    tmux.wait_for("the takeover", |s| s.contains("drives 2 runs"), 30);
    let pid_b = step_pid(&b);
    wait_until("both steps to count", secs(30), || {
        progress(&a) >= 5 && progress(&b) >= 5
    });
    hang_up(&wf_a.to_string_lossy());
    handed_on(&tmux, 2);
    counts_on(&env, &a, &run_a, pid_a);
    counts_on(&env, &b, &run_b, pid_b);
    ends_alive(&env, &a, &run_a, pid_a, 250);
    ends_alive(&env, &b, &run_b, pid_b, 250);
}

/// `baton resume RUN --detach` of a run whose engine died (kill -9) while its step
/// ran on an SSH host: the background engine re-attaches to it there, alive.
#[test]
fn resume_detach_leaves_a_running_ssh_step_running() {
    let Some(config) = crate::exec::ssh::hosts() else {
        return;
    };
    let env = Env::new();
    let head = crate::exec::ssh::executor("box", "baton-h3", &config, &env, "");
    let wf = env.workflow("alive.toml", &counter_in(env.path(), "alive", &head, 80));
    // Its own `TMPDIR`: the shared connections it leaves are the test's, swept at its end.
    let tmp = crate::exec::ssh::own_tmp(&env);
    let mut engine = crate::exec::ssh::headless_under(&env, &wf, &tmp, &[]);
    let run = env.wait_run_id();
    let pid = step_pid(env.path());
    wait_until("the step to count", secs(30), || progress(env.path()) >= 5);
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    let out = env
        .cmd()
        .env("TMPDIR", &tmp)
        .args(["resume", &run, "--detach"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton resume");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("driven in the background (pid"),
        "{}",
        text(&out.stdout)
    );
    runs_on_alive(&env, env.path(), &run, pid, 80);
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
}

/// A job on a real Slurm cluster (`type = "slurm"`): left running at `q` → Detach; the
/// background engine re-attaches to it (the same process, its log whole, no mark).
#[test]
fn q_detach_leaves_a_running_slurm_job_running() {
    if !crate::exec::slurm::cluster() {
        return;
    }
    let env = Env::new();
    let head = crate::exec::slurm::HEAD;
    let wf = env.workflow("alive.toml", &counter_in(env.path(), "alive", head, 80));
    let (run, pid, tmux) = counting_in_a_console(&env, &wf);
    quit_detaching(&tmux);
    runs_on_alive(&env, env.path(), &run, pid, 80);
}

/// A job of the generic batch executor (`type = "batch"`, here on the Slurm cluster):
/// the same at `q` → Detach.
#[test]
fn q_detach_leaves_a_running_batch_job_running() {
    let Some(scheduler) = crate::exec::batch::slurm() else {
        return;
    };
    let env = Env::new();
    let head = format!(
        "{}workdir = \"{}\"\n",
        scheduler.definition,
        env.path().join("jobs").display()
    );
    let wf = env.workflow("alive.toml", &counter_in(env.path(), "alive", &head, 80));
    let (run, pid, tmux) = counting_in_a_console(&env, &wf);
    quit_detaching(&tmux);
    runs_on_alive(&env, env.path(), &run, pid, 80);
}
