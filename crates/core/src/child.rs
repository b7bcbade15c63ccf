//! A child-run step (`workflow = "deploy.toml"`, docs/workflow/child-workflows.md): the
//! step's process is `baton run --parent RUN/STEP FILE` on the run's own store, so the
//! child is an ordinary run with its own engine, lease, gates and resume. Its command is
//! fixed text; the file, the params and their values reach it through its environment,
//! never as shell code. A public namespace (`child::COMMAND`, `child::params_in`): the
//! engine and the CLI read the same names.
use baton_model::RunState;
use std::collections::BTreeMap;
use std::path::Path;

/// What a parent step's attempt does with its child run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildStart {
    /// No child to go on with: make one.
    Create,
    /// The child an earlier attempt made has not ended: drive it on.
    Resume(String),
    /// The child failed and this attempt is a retry of the step (its previous attempt's
    /// failure is on record): its failed steps run again (`retry --failed`), its
    /// succeeded ones are kept.
    RetryFailed(String),
    /// The child ended: its result is the step's, nothing runs again.
    Ended { run: String, state: RunState },
}

/// What is on record of a parent step's newest child, as [`decide`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen<'a> {
    pub run: &'a str,
    /// The child's state as readers say it (`interrupted` once its engine is gone).
    pub state: RunState,
    /// Whether the step's previous attempt ended on record (not when there is none,
    /// it has not ended, or the engine went while it ran).
    pub previous_ended: bool,
}

/// What an attempt of a parent step does, given its newest child. A child that has
/// not ended is driven on; one that succeeded is the step's success. One that failed
/// is the step's failure again, unless the step's previous attempt ended on record
/// (this attempt is a retry, by the step's `retry` or an operator's): then the child's
/// failed steps run again. A parent resumed after a crash runs its step again as an
/// attempt whose previous one was interrupted: it takes the child's result, and
/// nothing of the child runs again.
pub fn decide(seen: Option<Seen<'_>>) -> ChildStart {
    let Some(s) = seen else {
        return ChildStart::Create;
    };
    let run = s.run.to_string();
    if !s.state.is_final() {
        return ChildStart::Resume(run);
    }
    if s.state != RunState::Succeeded && s.previous_ended {
        return ChildStart::RetryFailed(run);
    }
    ChildStart::Ended {
        run,
        state: s.state,
    }
}

/// What a child-run step's shell runs. `BATON_EXE` is the engine's own binary (the
/// driver adds it for a step that runs here; without it the step fails saying so,
/// never running another `baton` found on `PATH`); `BATON_DB` the run's store.
pub const COMMAND: &str = r#"exec "${BATON_EXE:?the engine could not name its own binary to run the child workflow}" run --headless --parent "$BATON_RUN_ID/$BATON_STEP_ID" -- "$BATON_CHILD_WORKFLOW""#;
/// The child's workflow file (absolute).
pub const WORKFLOW_ENV: &str = "BATON_CHILD_WORKFLOW";
/// The names of the params the step gives, separated by `,`: only these are read (a
/// grandchild's process inherits its parent's variables).
pub const PARAMS_ENV: &str = "BATON_CHILD_PARAMS";
/// `BATON_CHILD_PARAM_<name>`: one param's value.
pub const PARAM_PREFIX: &str = "BATON_CHILD_PARAM_";
/// The binary a child-run step starts.
pub const EXE_ENV: &str = "BATON_EXE";
/// `1` when the parent approves the gates `--auto-approve` would (the child does too);
/// `0` otherwise, always set, so that a grandchild never inherits its grandparent's.
pub const AUTO_APPROVE_ENV: &str = "BATON_CHILD_AUTO_APPROVE";

/// The environment of a child-run step: its file, its params, rendered, and whether
/// the run approves gates itself (`--auto-approve`, kept by the child).
pub(crate) fn env(
    path: &Path,
    params: BTreeMap<String, String>,
    auto_approve: bool,
) -> Vec<(String, String)> {
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    let mut env = vec![
        (WORKFLOW_ENV.to_string(), path.display().to_string()),
        (PARAMS_ENV.to_string(), names.join(",")),
        (
            AUTO_APPROVE_ENV.to_string(),
            u8::from(auto_approve).to_string(),
        ),
    ];
    env.extend(
        params
            .iter()
            .map(|(k, v)| (format!("{PARAM_PREFIX}{k}"), v.clone())),
    );
    env
}

/// The child's own last word on how it ended, from its step's stderr tail (the line
/// `baton run --parent` ends with: `child run ID failed: step X failed …`): what the
/// step's error record says instead of a bare exit code.
pub(crate) fn ending(stderr_tail: &str) -> Option<&str> {
    stderr_tail
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with("child run "))
}

/// The params a child-run step gave its process, read from `vars` (its environment):
/// those `BATON_CHILD_PARAMS` names, in that order.
pub fn params_in(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let vars: BTreeMap<String, String> = vars.into_iter().collect();
    let Some(names) = vars.get(PARAMS_ENV) else {
        return Vec::new();
    };
    names
        .split(',')
        .filter(|n| !n.is_empty())
        .filter_map(|n| {
            let v = vars.get(&format!("{PARAM_PREFIX}{n}"))?;
            Some((n.to_string(), v.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(state: RunState, previous_ended: bool) -> Option<Seen<'static>> {
        Some(Seen {
            run: "01child",
            state,
            previous_ended,
        })
    }

    #[test]
    fn a_step_without_a_child_makes_one() {
        assert_eq!(decide(None), ChildStart::Create);
    }

    #[test]
    fn a_child_not_ended_is_driven_on_whatever_came_before() {
        for state in [RunState::Running, RunState::Waiting, RunState::Interrupted] {
            for previous in [false, true] {
                assert_eq!(
                    decide(seen(state, previous)),
                    ChildStart::Resume("01child".into())
                );
            }
        }
    }

    #[test]
    fn a_finished_child_is_the_steps_result_after_a_crash() {
        assert!(matches!(
            decide(seen(RunState::Succeeded, true)),
            ChildStart::Ended {
                state: RunState::Succeeded,
                ..
            }
        ));
        // The parent's engine died before it recorded the child's failure: the step
        // runs again after an interrupted attempt and takes that failure, nothing runs.
        assert!(matches!(
            decide(seen(RunState::Failed, false)),
            ChildStart::Ended {
                state: RunState::Failed,
                ..
            }
        ));
    }

    #[test]
    fn a_retry_of_a_failed_child_step_runs_the_childs_failed_steps_again() {
        for state in [RunState::Failed, RunState::Cancelled] {
            assert_eq!(
                decide(seen(state, true)),
                ChildStart::RetryFailed("01child".into())
            );
        }
    }

    #[test]
    fn the_params_read_back_are_those_the_step_named() {
        let params = BTreeMap::from([
            ("env".to_string(), "prod $(rm -rf /)".to_string()),
            ("region".to_string(), String::new()),
        ]);
        let mut vars = env(Path::new("/w/deploy.toml"), params, false);
        // Inherited from a grandparent: not named, not read.
        vars.push((format!("{PARAM_PREFIX}stale"), "x".into()));
        assert_eq!(
            params_in(vars),
            vec![
                ("env".to_string(), "prod $(rm -rf /)".to_string()),
                ("region".to_string(), String::new()),
            ]
        );
        assert!(params_in(Vec::new()).is_empty());
    }

    #[test]
    fn the_childs_ending_is_its_last_line_that_names_it() {
        let tail =
            "13:00:01 boom failed\nchild run 01abc failed: step boom failed (`baton show 01abc`)\n";
        assert_eq!(
            ending(tail),
            Some("child run 01abc failed: step boom failed (`baton show 01abc`)")
        );
        assert_eq!(ending("error: no such file\n"), None);
    }
}
