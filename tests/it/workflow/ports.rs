//! Issue 25 point 5: faithful ports of real workflows (examples/gh-release.toml,
//! gh-ci.toml, airflow-branch.toml), run by the real binary in each situation their
//! originals distinguish; every step's final state is the original's.
use crate::helpers::*;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// Run `name` headless with `params` to its end: the run's state and `show --json`.
fn run(env: &Env, name: &str, params: &[&str]) -> (String, serde_json::Value) {
    let wf = example(name);
    let mut args = vec!["run", wf.to_str().unwrap(), "--headless"];
    for p in params {
        args.extend(["--param", p]);
    }
    let out = env.run(&args);
    let stdout = text(&out.stdout);
    let id = run_id_of(&stdout);
    let show = env.show(&id[..8]);
    let state = show["state"].as_str().unwrap_or("").to_string();
    (state, show)
}

fn assert_states(show: &serde_json::Value, want: &[(&str, &str)]) {
    for (step, state) in want {
        assert_eq!(
            step_state(show, step).as_deref(),
            Some(*state),
            "{step}: {show:#}"
        );
    }
}

#[test]
fn the_airflow_branch_dag_runs_one_branch_and_skips_the_others() {
    for pick in ["a", "b", "c", "d"] {
        let env = Env::new();
        let (state, show) = run(&env, "airflow-branch.toml", &[&format!("branch={pick}")]);
        assert_eq!(state, "succeeded");
        let mut want = vec![
            ("run_this_first", "succeeded"),
            ("branching", "succeeded"),
            ("join", "succeeded"),
        ];
        let names: Vec<(String, String)> = ["a", "b", "c", "d"]
            .iter()
            .map(|b| (format!("branch_{b}"), format!("follow_{b}")))
            .collect();
        for (b, (branch, follow)) in ["a", "b", "c", "d"].iter().zip(&names) {
            let s = if *b == pick { "succeeded" } else { "skipped" };
            want.push((branch, s));
            want.push((follow, s));
        }
        assert_states(&show, &want);
        // Why a branch did not run: the condition and the value it read.
        let other = if pick == "a" { "b" } else { "a" };
        let why = step_field(&show, &format!("branch_{other}"), "why");
        assert_eq!(
            why.as_str().unwrap_or(""),
            format!(
                "condition false: steps.branching.outputs.branch == 'branch_{other}' (steps.branching.outputs.branch = \"branch_{pick}\")"
            )
        );
    }
}

#[test]
fn the_ci_workflow_reports_a_failure_and_only_then() {
    let env = Env::new();
    let (state, show) = run(&env, "gh-ci.toml", &[]);
    assert_eq!(state, "succeeded");
    assert_states(
        &show,
        &[
            ("build", "succeeded"),
            ("test", "succeeded"),
            ("lint", "succeeded"),
            ("report-failure", "skipped"),
        ],
    );
    // A test failing: failure() holds, the report runs, the run fails.
    let env = Env::new();
    let (state, show) = run(&env, "gh-ci.toml", &["break=test"]);
    assert_eq!(state, "failed");
    assert_states(
        &show,
        &[
            ("build", "succeeded"),
            ("test", "failed"),
            ("lint", "succeeded"),
            ("report-failure", "succeeded"),
        ],
    );
    // The build failing: GitHub skips `test` (its need failed): here upstream_failed,
    // which failure() counts; the report runs.
    let env = Env::new();
    let (state, show) = run(&env, "gh-ci.toml", &["break=build"]);
    assert_eq!(state, "failed");
    assert_states(
        &show,
        &[
            ("build", "failed"),
            ("test", "upstream_failed"),
            ("lint", "succeeded"),
            ("report-failure", "succeeded"),
        ],
    );
}

/// The release example keeps its packages where a CI runner would,
/// `/tmp/baton-gh-release-RUN`: removed for each of the env's runs when the test ends,
/// also on failure.
struct Dists<'a>(&'a Env);

impl Drop for Dists<'_> {
    fn drop(&mut self) {
        let out = self.0.run(&["runs", "--json"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        for r in runs.as_array().into_iter().flatten() {
            if let Some(id) = r["id"].as_str() {
                let _ = std::fs::remove_dir_all(format!("/tmp/baton-gh-release-{id}"));
            }
        }
    }
}

#[test]
fn the_release_workflow_publishes_only_on_a_tag_and_asks_only_then() {
    // A push to a branch: PyPI and the release are skipped, nobody is asked.
    let env = Env::new();
    let _dists = Dists(&env);
    let (state, show) = run(&env, "gh-release.toml", &["ref=refs/heads/main"]);
    assert_eq!(state, "succeeded");
    assert_states(
        &show,
        &[
            ("build", "succeeded"),
            ("publish-to-testpypi", "succeeded"),
            ("publish-to-pypi", "skipped"),
            ("github-release", "skipped"),
        ],
    );
    assert_eq!(show["gates"].as_array().map_or(0, Vec::len), 0, "{show:#}");
    // A tag: the `pypi` environment's reviewers are asked.
    let env = Env::new();
    let _dists = Dists(&env);
    let wf = example("gh-release.toml");
    let child = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "ref=refs/tags/v1.0",
    ]);
    let id = env.wait_run_id();
    env.wait_step(&id, "publish-to-pypi", "waiting_approval", 20);
    let show = env.show(&id);
    assert_states(
        &show,
        &[
            ("build", "succeeded"),
            ("publish-to-testpypi", "succeeded"),
            ("github-release", "pending"),
        ],
    );
    let out = env.run(&["cancel", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_child(child, 20);
}
