//! Issue 61 point 6, the chaos campaign's open finding (docs/simulator.md): an engine
//! stopped (SIGSTOP) past its 15 s lease loses its concurrency group to the next run
//! in line; continued, it must start nothing more of its run beside that run's steps.
//! Its next commit or heartbeat is fenced (`store::fence`): it stops driving the run,
//! which `baton resume` continues once the group is free. The steps' own stamps are
//! the ground truth.
use crate::helpers::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// `build` of the first run sleeps a second (it ends while its engine is stopped);
/// any later one waits for the file `go`. `ship` after it. Each stamps its life.
const WORKFLOW: &str = r#"
name = "deploy"
concurrency = { group = "prod", on_conflict = "queue" }

[[step]]
id = "build"
run = '''
echo "$BATON_RUN_ID build start $(date +%s.%N)" >> stamps
if [ -e first ]; then until [ -e go ]; do sleep 0.1; done; else touch first; sleep 1; fi
echo "$BATON_RUN_ID build end $(date +%s.%N)" >> stamps
'''

[[step]]
id = "ship"
needs = ["build"]
run = '''
echo "$BATON_RUN_ID ship start $(date +%s.%N)" >> stamps
sleep 0.2
echo "$BATON_RUN_ID ship end $(date +%s.%N)" >> stamps
'''
"#;

fn signal(child: &std::process::Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).expect("signal the engine");
}

/// Each step's life from the stamps: (run, step, start, end).
fn lives(env: &Env) -> Vec<(String, String, f64, Option<f64>)> {
    let text = std::fs::read_to_string(env.path().join("stamps")).unwrap_or_default();
    let mut out: Vec<(String, String, f64, Option<f64>)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [run, step, what, at] = f[..] else {
            panic!("a stamp reads `RUN STEP start|end TIME`: {line:?}");
        };
        let at: f64 = at.parse().expect("a time");
        if what == "start" {
            out.push((run.into(), step.into(), at, None));
        } else if let Some(l) = out
            .iter_mut()
            .rev()
            .find(|l| l.0 == run && l.1 == step && l.3.is_none())
        {
            l.3 = Some(at);
        }
    }
    out
}

/// No two runs' steps alive at once (a step with no end stamp lives to `now`).
fn overlaps(lives: &[(String, String, f64, Option<f64>)], now: f64) -> Vec<String> {
    let mut seen = Vec::new();
    for (i, a) in lives.iter().enumerate() {
        for b in &lives[i + 1..] {
            let (a_end, b_end) = (a.3.unwrap_or(now), b.3.unwrap_or(now));
            if a.0 != b.0 && a.2 < b_end && b.2 < a_end {
                seen.push(format!("{a:?} and {b:?}"));
            }
        }
    }
    seen
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

#[test]
fn an_engine_stopped_past_its_lease_starts_nothing_beside_the_group_s_next_run() {
    let env = Env::new();
    let wf = env.workflow("deploy.toml", WORKFLOW);
    let (first, a) = env.spawn_until(&wf, "build", "running");
    signal(&first, Signal::SIGSTOP);
    // The next run waits in the group's line, then takes the group once the stopped
    // engine's lease lapsed (15 s) and its build (ended meanwhile) is gone.
    let second = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let b = wait_until("the second run", secs(20), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != a)
            .map(str::to_string)
    });
    env.wait_step(&b, "build", "running", 60);
    // Continued: the stopped engine learns its build ended, and would start `ship`.
    signal(&first, Signal::SIGCONT);
    let out = wait_child(first, 60);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("run {a} lost concurrency group `prod` to run {b}"))
            && err.contains(&format!("baton resume {a}")),
        "says what happened and what to do: {err}"
    );
    let seen = lives(&env);
    assert!(
        !seen.iter().any(|l| l.0 == a && l.1 == "ship"),
        "the stopped engine's ship never started: {seen:?}"
    );
    assert_eq!(overlaps(&seen, now_secs()), Vec::<String>::new());
    // The group's run ends; the first run is resumed and ends too, its ship once.
    std::fs::write(env.path().join("go"), "").expect("write go");
    let out = wait_child(second, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = env.run(&["resume", &a, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.show(&a)["state"], "succeeded");
    let seen = lives(&env);
    let ships = seen.iter().filter(|l| l.0 == a && l.1 == "ship").count();
    assert_eq!(ships, 1, "{seen:?}");
    assert_eq!(overlaps(&seen, now_secs()), Vec::<String>::new());
}
