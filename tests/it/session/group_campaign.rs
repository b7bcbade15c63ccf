//! Issue 41 point 1: a crash campaign on one concurrency group. Two runs of the group
//! alternate; at a random moment one engine is killed with -9 (holder or queued), and
//! the killed run is resumed. The step's process outlives its engine (it is in its own
//! process group): the group is handed over only once it ended, or once a takeover
//! stopped it, so no two runs' `work` ever overlap. Bounded: `BATON_GROUP_CYCLES`
//! cycles (default 6), each within its own deadlines; the seed is `BATON_GROUP_SEED`.
use crate::helpers::*;
use rand::{Rng, SeedableRng};
use std::process::Child;
use std::time::Duration;

const WORKFLOW: &str = r#"
name = "deploy"
concurrency = { group = "deploy-prod" }
[[step]]
id = "work"
run = '''
trap 'echo "$BATON_RUN_ID end" >> ledger; exit 143' TERM
echo "$BATON_RUN_ID start" >> ledger
sleep 2
echo "$BATON_RUN_ID end" >> ledger
'''
"#;

fn ledger(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Each run's `work` ends (its own `end`, or its process stopped) before another's
/// starts. A process stopped by a takeover may say `end` twice (its trap and its last
/// line race): an `end` of a run not open is no overlap.
fn overlaps(lines: &[String]) -> Vec<String> {
    let mut open: Option<&str> = None;
    let mut found = Vec::new();
    for l in lines {
        let Some((run, what)) = l.split_once(' ') else {
            continue;
        };
        match what {
            "start" => {
                if let Some(other) = open.filter(|o| *o != run) {
                    found.push(format!("{run} started while {other} ran"));
                }
                open = Some(run);
            }
            "end" if open == Some(run) => open = None,
            _ => {}
        }
    }
    found
}

fn interrupted(env: &Env) -> Vec<String> {
    env.runs()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| r["state"] == "interrupted")
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn kill_dash_nine_while_two_runs_of_a_group_alternate_never_overlaps_them() {
    let cycles: usize = std::env::var("BATON_GROUP_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("BATON_GROUP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(41);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let env = Env::new();
    let wf = env.workflow("deploy.toml", WORKFLOW);
    let wf = wf.to_str().unwrap();
    let mut kills = 0;
    for cycle in 0..cycles {
        let before = ledger(&env).len();
        let mut engines: Vec<Child> = (0..2)
            .map(|_| env.spawn(&["run", wf, "--headless"]))
            .collect();
        wait_until("a run of this cycle to start its work", secs(30), || {
            ledger(&env).len() > before
        });
        // The chaos: a random moment of the holder's work (or just after it).
        std::thread::sleep(Duration::from_millis(rng.random_range(0..2000)));
        let victim = rng.random_range(0..engines.len());
        if engines[victim].try_wait().ok().flatten().is_none() {
            let _ = engines[victim].kill(); // SIGKILL
            let _ = engines[victim].wait();
            kills += 1;
        }
        // The killed run is taken over at once (racing the queued run for the
        // group) or once the other run ended; a resume refused while the other holds
        // the group is tried again once it ended.
        if rng.random_bool(0.5) {
            for e in engines.drain(..) {
                let _ = wait_child(e, 60);
            }
        }
        for _ in 0..10 {
            for run in interrupted(&env) {
                engines.push(env.spawn(&["resume", &run, "--headless"]));
            }
            for e in engines.drain(..) {
                let _ = wait_child(e, 60);
            }
            if interrupted(&env).is_empty() {
                break;
            }
        }
        let lines = ledger(&env);
        let found = overlaps(&lines);
        assert!(
            found.is_empty(),
            "cycle {cycle} (seed {seed}): {found:?}\n{lines:#?}"
        );
    }
    assert!(kills >= cycles / 2, "the campaign killed {kills} engines");
    let runs = env.runs();
    let states: Vec<&str> = runs
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["state"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        states.iter().all(|s| *s == "succeeded"),
        "every run ends, once: {states:?}"
    );
}
