//! Found by the chaos campaign (seed 103, `at_most_one_active_run_per_group`): an
//! engine that gets SIGHUP while a step runs on an SSH host records the step and the
//! run `interrupted` as its stop begins (the write-ahead rule), and the group was free
//! from that commit on; the next run started while the step, its stop still on the
//! way, lived on. A run whose engine still stops it now holds its group until the
//! engine lets the run go, once the stops it sent have landed (`store::slots`).
use super::ssh::{executor, headless_under, hosts, own_tmp};
use crate::helpers::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The first run's step waits until stopped, then takes a second to end (its TERM
/// trap); any later run's step ends at once. Each stamps its start and end.
const STEP: &str = r#"
echo "$R start $(date +%s.%N)" >> "$D/stamps"
trap 'sleep 1; echo "$R end $(date +%s.%N)" >> "$D/stamps"; exit 143' TERM
if [ -e "$D/first" ]; then sleep 0.2; else touch "$D/first"; sleep 60 & wait; fi
echo "$R end $(date +%s.%N)" >> "$D/stamps"
"#;

/// The stamps: each run's (start, end).
fn lives(env: &Env) -> Vec<(String, f64, Option<f64>)> {
    let text = std::fs::read_to_string(env.path().join("stamps")).unwrap_or_default();
    let mut out: Vec<(String, f64, Option<f64>)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [run, what, at] = f[..] else {
            panic!("a stamp reads `RUN start|end TIME`: {line:?}");
        };
        let at: f64 = at.parse().expect("a time");
        match what {
            "start" => out.push((run.into(), at, None)),
            _ => {
                if let Some(l) = out.iter_mut().rev().find(|l| l.0 == run && l.2.is_none()) {
                    l.2 = Some(at);
                }
            }
        }
    }
    out
}

#[test]
fn a_run_whose_engine_stops_it_holds_its_group_until_its_ssh_step_ended() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"hup\"\nconcurrency = {{ group = \"hup\", on_conflict = \"queue\" }}\n{}\n[[step]]\nid = \"push\"\nexecutor = \"box\"\nrun = '''{STEP}'''\nenv = {{ D = \"{}\", R = \"${{{{ run.id }}}}\" }}\n",
            executor("box", "baton-h2", &config, &env, ""),
            env.path().display()
        ),
    );
    // A `TMPDIR` of its own: its shared SSH connections are this test's alone.
    let tmp = own_tmp(&env);
    let spawn = || headless_under(&env, &wf, &tmp, &[]);
    let first = spawn();
    let a = env.wait_run_id();
    wait_until("the first step to start on the host", secs(30), || {
        env.path().join("first").exists()
    });
    let second = spawn();
    let b = wait_until("the second run, queued", secs(20), || {
        let runs = env.runs();
        let b = runs
            .as_array()?
            .iter()
            .find(|r| r["id"].as_str() != Some(a.as_str()))?;
        (b["state"] == "queued").then(|| b["id"].as_str().map(str::to_string))?
    });
    kill(Pid::from_raw(first.id() as i32), Signal::SIGHUP).expect("SIGHUP the engine");
    let out = wait_child(first, 60);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = wait_child(second, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.show(&a)["state"], "interrupted");
    assert_eq!(env.show(&b)["state"], "succeeded");
    let seen = lives(&env);
    let life = |run: &str| {
        seen.iter()
            .find(|l| l.0 == run)
            .unwrap_or_else(|| panic!("no stamp of {run}: {seen:?}"))
            .clone()
    };
    let (first_end, second_start) = (life(&a).2, life(&b).1);
    let first_end = first_end.unwrap_or_else(|| panic!("the stopped step wrote its end: {seen:?}"));
    assert!(
        second_start > first_end,
        "the second run's step started {:.3} s before the stopped one ended: {seen:?}",
        first_end - second_start
    );
    // Its shared SSH connections go with it.
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
}
