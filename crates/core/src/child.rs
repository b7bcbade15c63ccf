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

/// The names of the params whose value holds a secret of the parent (a secret param,
/// a `secrets` entry, or a value made from one), separated by `,`: the child masks
/// them as its own secrets. Always set, so that a grandchild never inherits its
/// grandparent's.
pub const SECRET_PARAMS_ENV: &str = "BATON_CHILD_SECRET_PARAMS";

/// The names of the environment variables the parent reads its secrets from (its
/// `secrets = [...]`, its `[secrets]` entries `{ env = "…" }`), separated by `,`: the
/// child's engine inherits them, and masks their values as its own secrets.
pub const SECRET_ENV_ENV: &str = "BATON_CHILD_SECRET_ENV";

/// What a child-run step's environment says of the parent's secrets.
pub(crate) struct Secrets<'a> {
    /// Whether a rendered value holds a secret (the parent's masker).
    pub holds: &'a dyn Fn(&str) -> bool,
    /// The variables the parent's secrets are read from ([`SECRET_ENV_ENV`]).
    pub env_names: Vec<String>,
}

/// The environment of a child-run step: its file, its params, rendered, which of them
/// hold a secret and where the parent's secrets are read from (`secrets`), and whether
/// the run approves gates itself (`--auto-approve`, kept by the child).
pub(crate) fn env(
    path: &Path,
    params: BTreeMap<String, String>,
    auto_approve: bool,
    secrets: &Secrets<'_>,
) -> Vec<(String, String)> {
    let holds_secret = secrets.holds;
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    let secret: Vec<&str> = params
        .iter()
        .filter(|(_, v)| holds_secret(v))
        .map(|(k, _)| k.as_str())
        .collect();
    let mut env = vec![
        (WORKFLOW_ENV.to_string(), path.display().to_string()),
        (PARAMS_ENV.to_string(), names.join(",")),
        (SECRET_PARAMS_ENV.to_string(), secret.join(",")),
        (SECRET_ENV_ENV.to_string(), secrets.env_names.join(",")),
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

/// The names a child's parent handed it in variable `var` ([`SECRET_PARAMS_ENV`]: the
/// params holding a secret; [`SECRET_ENV_ENV`]: the variables holding one), read
/// from `vars` (its environment).
pub fn names_in(var: &str, vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    vars.into_iter()
        .find(|(k, _)| k == var)
        .map(|(_, names)| {
            names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
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
        let secrets = Secrets {
            holds: &|v: &str| v.contains("rm -rf"),
            env_names: vec!["API_TOKEN".into(), "HOOK".into()],
        };
        let mut vars = env(Path::new("/w/deploy.toml"), params, false, &secrets);
        assert_eq!(names_in(SECRET_PARAMS_ENV, vars.clone()), ["env"]);
        assert_eq!(
            names_in(SECRET_ENV_ENV, vars.clone()),
            ["API_TOKEN", "HOOK"]
        );
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
