//! Issue 24, finding 6: every suggestion baton records is a command the run accepts in
//! the state the record is made in, or advice. Each scenario brings a real run to a
//! state where records of a kind are made (a plain failure, a saga that compensated,
//! a kill by the run's timeout, a param that does not fit, `builtin.fail`, a gate
//! rejected or timed out, a budget stop, an interrupted engine, …); every command each
//! record suggests is then run against the real binary, each on a fresh copy of the
//! scenario, and must be accepted.
use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How a scenario is brought to its state: run to its end, or left with a live engine
/// (`Live`), or with its engine stopped while a step runs (`Stopped`).
#[derive(Clone, Copy, PartialEq)]
enum Drive {
    ToEnd,
    /// The engine stays and waits (a budget stop); wait for a record of this kind.
    Live(&'static str),
    /// Stop the engine (SIGTERM) once this step runs.
    Stopped(&'static str),
}

struct Scenario {
    name: &'static str,
    workflow: &'static str,
    drive: Drive,
    /// Error kinds the scenario must produce.
    kinds: &'static [&'static str],
    /// What `…` stands for in its commands (a reason, or a param's value).
    fill: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "exit_nonzero",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'echo oops; exit 3'\n",
        drive: Drive::ToEnd,
        kinds: &["exit_nonzero"],
        fill: "checked",
    },
    Scenario {
        name: "saga compensated",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'true'\ncompensate = 'true'\n[[step]]\nid = 'b'\nneeds = ['a']\nrun = 'exit 1'\n",
        drive: Drive::ToEnd,
        kinds: &["exit_nonzero"],
        fill: "checked",
    },
    Scenario {
        name: "compensation failed",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'true'\ncompensate = 'exit 4'\n[[step]]\nid = 'b'\nneeds = ['a']\nrun = 'exit 1'\n",
        drive: Drive::ToEnd,
        kinds: &["exit_nonzero", "compensation_failed"],
        fill: "checked",
    },
    Scenario {
        name: "killed by the run's timeout",
        workflow: "name = 'w'\ntimeout = '1s'\n[[step]]\nid = 'a'\nrun = 'sleep 30'\ntimeout = '10m'\n",
        drive: Drive::ToEnd,
        kinds: &["timeout"],
        fill: "checked",
    },
    Scenario {
        name: "step timeout",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'sleep 30'\ntimeout = '1s'\n",
        drive: Drive::ToEnd,
        kinds: &["timeout"],
        fill: "checked",
    },
    Scenario {
        name: "template error from a param",
        workflow: "name = 'w'\n[params.d]\ndefault = 'soon'\n[tools.wait]\nrun = 'true'\nparams = { N = { type = 'int', required = true } }\n[[step]]\nid = 'a'\nuses = 'wait'\nwith = { N = '${{ params.d }}' }\n",
        drive: Drive::ToEnd,
        kinds: &["template_error"],
        fill: "10",
    },
    Scenario {
        name: "builtin.fail",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nuses = 'builtin.fail'\n",
        drive: Drive::ToEnd,
        kinds: &["exit_nonzero"],
        fill: "checked",
    },
    Scenario {
        name: "dependency failed",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'exit 1'\n[[step]]\nid = 'b'\nneeds = ['a']\nrun = 'true'\n",
        drive: Drive::ToEnd,
        kinds: &["exit_nonzero", "dependency_failed"],
        fill: "checked",
    },
    Scenario {
        name: "gate timeout",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'true'\ngate = { timeout = '1s' }\n",
        drive: Drive::ToEnd,
        kinds: &["gate_timeout"],
        fill: "checked",
    },
    Scenario {
        name: "output invalid",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'true'\noutputs = { version = {} }\n",
        drive: Drive::ToEnd,
        kinds: &["output_invalid"],
        fill: "checked",
    },
    Scenario {
        name: "spawn failed",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = '/nonexistent/baton-no-such-command'\n",
        drive: Drive::ToEnd,
        kinds: &["spawn_failed"],
        fill: "checked",
    },
    Scenario {
        name: "a secret that cannot be read",
        workflow: "name = 'w'\n[secrets]\nDB = { file = 'no-such-secret' }\n[[step]]\nid = 'a'\nsecrets = ['DB']\nrun = 'true'\n",
        drive: Drive::ToEnd,
        kinds: &["spawn_failed"],
        fill: "checked",
    },
    Scenario {
        name: "killed by a signal",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'kill -9 $$'\n",
        drive: Drive::ToEnd,
        kinds: &["killed_by_signal"],
        fill: "checked",
    },
    Scenario {
        name: "service exited",
        workflow: "name = 'w'\n[[step]]\nid = 'svc'\nservice = true\nrun = 'sleep 0.2'\n[[step]]\nid = 'use'\nneeds = ['svc']\nrun = 'sleep 2'\n",
        drive: Drive::ToEnd,
        kinds: &["service_exited"],
        fill: "checked",
    },
    Scenario {
        name: "probe failed",
        workflow: "name = 'w'\n[[step]]\nid = 'svc'\nservice = true\nrun = 'sleep 30'\nready = { tcp = '127.0.0.1:9', interval = '1s', timeout = '1s' }\n[[step]]\nid = 'use'\nneeds = ['svc']\nrun = 'true'\n",
        drive: Drive::ToEnd,
        kinds: &["probe_failed"],
        fill: "checked",
    },
    Scenario {
        name: "output line malformed",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'echo nonsense >> \"$BATON_USAGE\"'\n",
        drive: Drive::ToEnd,
        kinds: &["output_invalid"],
        fill: "checked",
    },
    Scenario {
        name: "budget stop",
        workflow: "name = 'w'\nbudget = { cost = 1.0 }\n[[step]]\nid = 'a'\nrun = 'true'\ncost = 1.0\n[[step]]\nid = 'b'\nneeds = ['a']\nrun = 'true'\ncost = 1.0\n",
        drive: Drive::Live("budget_exceeded"),
        kinds: &["budget_exceeded"],
        fill: "checked",
    },
    Scenario {
        name: "engine stopped, idempotent step",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'sleep 30'\n",
        drive: Drive::Stopped("a"),
        kinds: &["interrupted"],
        fill: "checked",
    },
    Scenario {
        name: "engine stopped, step not idempotent",
        workflow: "name = 'w'\n[[step]]\nid = 'a'\nrun = 'sleep 30'\nidempotent = false\n",
        drive: Drive::Stopped("a"),
        kinds: &["interrupted"],
        fill: "checked",
    },
];

/// A scenario brought to its state: the run's id, and its engine if one still runs.
struct Staged {
    env: Env,
    run: String,
    engine: Option<Child>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(mut c) = self.engine.take() {
            terminate(&mut c);
        }
    }
}

/// SIGTERM to a process this test started (by its id), then wait for it.
pub(crate) fn terminate(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        let _ = Command::new("kill").arg(child.id().to_string()).status();
    }
    let _ = child.wait();
}

fn stage(s: &Scenario) -> Staged {
    let env = Env::new();
    env.workflow("wf.toml", s.workflow);
    match s.drive {
        Drive::ToEnd => {
            let out = wait_child(env.spawn(&["run", "wf.toml", "--headless"]), 60);
            let run = run_id_of(&text(&out.stdout));
            Staged {
                env,
                run,
                engine: None,
            }
        }
        Drive::Live(kind) => {
            let engine = env.spawn(&["run", "wf.toml", "--headless"]);
            let run = env.wait_run_id();
            wait_until(&format!("a {kind} record"), Duration::from_secs(30), || {
                records(&env.show(&run)).iter().any(|(k, _, _)| k == kind)
            });
            Staged {
                env,
                run,
                engine: Some(engine),
            }
        }
        Drive::Stopped(step) => {
            let mut engine = env.spawn(&["run", "wf.toml", "--headless"]);
            let run = env.wait_run_id();
            env.wait_step(&run, step, "running", 30);
            terminate(&mut engine);
            Staged {
                env,
                run,
                engine: None,
            }
        }
    }
}

/// Each record's (kind, step, suggestion).
fn records(show: &Value) -> Vec<(String, String, String)> {
    show["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["step"].as_str().unwrap_or_default().to_string(),
                e["suggestion"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The first line a command prints (it may go on driving the run: it is stopped
/// then), and its exit code if it ended by itself.
pub(crate) fn first_line(env: &Env, args: &[String]) -> (String, Option<i32>, String) {
    let mut child = env
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start baton");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let code = match poll(Duration::from_secs(3), || {
        child.try_wait().ok().flatten().map(|st| st.code())
    }) {
        Ok(code) => code,
        // Still driving the run it took over: what it first said is the verdict.
        Err(_) => {
            terminate(&mut child);
            None
        }
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    (line, code, err)
}

/// Run one suggested command in `staged`'s state; panics unless it is accepted.
fn check_accepted(s: &Scenario, staged: &Staged, old: &(String, String), command: &str) {
    let new_dir = staged.env.path().display().to_string();
    let command = command
        .replace(&old.0, &staged.run)
        .replace(&old.1, &new_dir);
    let words = shlex::split(&command).expect("a suggested command splits as shell words");
    assert_eq!(words[0], "baton", "{command}");
    let args: Vec<String> = words[1..]
        .iter()
        .map(|w| w.replace('…', s.fill).replace("=N", "=5"))
        .collect();
    let (line, code, err) = first_line(&staged.env, &args);
    let what = format!(
        "[{}] `{command}` said {line:?} (exit {code:?}) {err}",
        s.name
    );
    assert_ne!(code, Some(2), "refused as bad usage: {what}");
    assert!(!line.starts_with("refused"), "{what}");
    match args[0].as_str() {
        "logs" => assert_eq!(code, Some(0), "{what}"),
        "run" => assert!(line.starts_with("run "), "{what}"),
        "resume" => assert!(!line.is_empty() && !err.contains("error"), "{what}"),
        _ => assert!(
            line.starts_with("accepted") || line.starts_with("recorded"),
            "{what}"
        ),
    }
}

#[test]
fn every_suggested_command_is_accepted_in_the_state_it_is_made_in() {
    let mut kinds_seen = BTreeSet::new();
    let mut commands_run = 0;
    for s in SCENARIOS {
        let first = stage(s);
        let recs = records(&first.env.show(&first.run));
        for k in s.kinds {
            assert!(
                recs.iter().any(|(kind, _, _)| kind == k),
                "[{}] no {k} record: {recs:?}",
                s.name
            );
        }
        let old = (first.run.clone(), first.env.path().display().to_string());
        drop(first);
        for (kind, step, suggestion) in &recs {
            kinds_seen.insert(kind.clone());
            assert!(
                !suggestion.is_empty(),
                "[{}] {kind} on {step}: no suggestion",
                s.name
            );
            for c in baton::model::suggest::commands(suggestion) {
                // Each on a fresh copy of the state: one command must not change
                // what the next is tried against.
                let staged = stage(s);
                check_accepted(s, &staged, &old, &c);
                commands_run += 1;
            }
        }
    }
    for k in [
        "exit_nonzero",
        "compensation_failed",
        "timeout",
        "template_error",
        "dependency_failed",
        "gate_timeout",
        "output_invalid",
        "spawn_failed",
        "killed_by_signal",
        "service_exited",
        "probe_failed",
        "budget_exceeded",
        "interrupted",
    ] {
        assert!(kinds_seen.contains(k), "no scenario made a {k} record");
    }
    assert!(
        commands_run >= 15,
        "only {commands_run} commands were tried"
    );
}

/// The cases the issue named, by what they must not suggest.
#[test]
fn suggestions_that_could_not_be_followed_are_gone() {
    let by_name = |n: &str| SCENARIOS.iter().find(|s| s.name == n).unwrap();
    let recs_of = |n: &str| {
        let st = stage(by_name(n));
        let r = records(&st.env.show(&st.run));
        (st.run.clone(), r)
    };
    // After the saga compensated: no retry of the failed step.
    let (run, recs) = recs_of("saga compensated");
    let (_, _, sug) = recs
        .iter()
        .find(|(k, s, _)| k == "exit_nonzero" && s == "b")
        .unwrap_or_else(|| panic!("{recs:?}"));
    assert!(!sug.contains("baton retry"), "{sug}");
    assert!(sug.contains("baton run /"), "{sug}");
    assert!(sug.contains(&format!("baton logs {run} b")), "{sug}");
    // Killed by the run's timeout: the workflow's timeout, not the step's.
    let (_, recs) = recs_of("killed by the run's timeout");
    for (k, _, sug) in recs.iter().filter(|(k, _, _)| k == "timeout") {
        assert!(
            !sug.contains("baton retry") && !sug.contains("step's"),
            "{k}: {sug}"
        );
    }
    // A param that does not fit: a new run with another value, not a retry.
    let (_, recs) = recs_of("template error from a param");
    let (_, _, sug) = recs.iter().find(|(k, _, _)| k == "template_error").unwrap();
    assert!(
        sug.contains("--param d=…") && !sug.contains("baton retry"),
        "{sug}"
    );
    // builtin.fail has no log.
    let (_, recs) = recs_of("builtin.fail");
    let (_, _, sug) = recs.iter().find(|(k, _, _)| k == "exit_nonzero").unwrap();
    assert!(!sug.contains("baton logs"), "{sug}");
}
