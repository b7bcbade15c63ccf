//! Child runs (`workflow = "deploy.toml"` on a step, docs/workflow/child-workflows.md).
//! The parent's step runs `baton run --parent RUN/STEP FILE` (`core::child::COMMAND`):
//! an engine of its own for the child, on the parent's store, so a child has all a run
//! has (its lease, gates on every desk, resume). This module is what that engine does
//! first: find the child its parent's step already made, on record, and resume or
//! report it, and make a new one only when there is none to go on with. So a parent
//! resumed after a crash, which runs its interrupted step again, never makes a second
//! child and never runs again a child step that finished.
pub mod cancel;

use super::SessionError;
use super::prepare::{Loaded, Ready};
use baton_model::view::ParentLink;
use baton_model::{EventKind, RunState, Timestamp};
use baton_store::{ChildRun, Store};
use std::time::{Duration, Instant};

/// How long a child's engine waits for the engine of an earlier attempt to let go of
/// its run (the parent's resume stops it first: `host::clear_leftovers`), and a
/// parent's cancel for an engine that holds its child ([`cancel::attempt`]). Public
/// for the simulator, whose holds end on both sides of it.
pub const HANDOVER_WAIT: Duration = Duration::from_secs(30);

pub use baton_core::child::ChildStart;

/// What is on record of a step's newest child, for [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub child: ChildRun,
    /// The child's state as readers say it (`interrupted` once its engine is gone).
    pub state: RunState,
    /// How the step's previous attempt ended on record (`None`: there is none, it has
    /// not ended, or it was interrupted: the engine went while it ran).
    pub previous_ended: Option<String>,
}

/// What an attempt of a parent step does, given its newest child on record: the
/// core's decision (`baton_core::child::decide`).
pub fn decide(found: Option<&Found>) -> ChildStart {
    baton_core::child::decide(found.map(|f| baton_core::child::Seen {
        run: &f.child.run,
        state: f.state,
        previous_ended: f.previous_ended.is_some(),
    }))
}

/// `RUN/STEP` of `--parent` (a run id has no `/`; a step id may be an instance's).
pub fn parse_parent(text: &str, attempt: u32) -> Result<ParentLink, SessionError> {
    match text.split_once('/') {
        Some((run, step)) if !run.is_empty() && !step.is_empty() => Ok(ParentLink {
            run: run.to_string(),
            step: step.to_string(),
            attempt,
        }),
        _ => Err(SessionError::Usage(format!(
            "--parent {text}: expected RUN/STEP, the parent run's id and the step that runs this workflow"
        ))),
    }
}

/// What the store holds of `parent`'s step's newest child whose link is proven
/// (`Store::proven_child_of`). A link that is not is said on stderr (the step's log)
/// and ignored: a row any member of a group store can write never stands for a child.
pub fn find(store: &Store, parent: &ParentLink) -> Result<Option<Found>, SessionError> {
    let (child, unproven) = store.proven_child_of(&parent.run, &parent.step)?;
    for u in &unproven {
        // The run id comes from a row any member can write: sanitised before any log.
        let shown_run = baton_model::sanitize::for_terminal(&u.child.run);
        crate::stdio::errln!(
            "warning: run {}/{}: ignoring the link that names run {} as its child (attempt {}): {}; this step's own engine did not make it (`baton show {}`)",
            parent.run,
            parent.step,
            shown_run,
            u.child.attempt,
            baton_model::sanitize::for_terminal(&u.why),
            shown_run
        );
    }
    let Some(child) = child else {
        return Ok(None);
    };
    let state = store.run_liveness(&child.run)?.state;
    let previous_ended = match parent.attempt.checked_sub(1).filter(|&a| a > 0) {
        Some(previous) => store
            .attempt_state(&parent.run, &parent.step, previous)?
            .filter(|s| !matches!(s.as_str(), "running" | "interrupted")),
        None => None,
    };
    Ok(Some(Found {
        child,
        state,
        previous_ended,
    }))
}

/// Take the child `run_id` over to drive it on, waiting (bounded) for an engine that
/// still holds it (an earlier attempt's, or an operator's that took it over to apply a
/// command) to let go. `None`: it ended meanwhile; its result is the step's.
pub fn take_over(
    store: &mut Store,
    run_id: &str,
    params: &[(String, String)],
    operator: &str,
    auto_approve: bool,
) -> Result<Option<Ready>, SessionError> {
    // `baton run --parent` waits here before its runtime starts: a thread's sleep.
    let deadline = Instant::now() + HANDOVER_WAIT;
    loop {
        match take_once(store, run_id, (params, operator), None, auto_approve)? {
            Handover::Taken(ready) => return Ok(Some(*ready)),
            Handover::Ended => return Ok(None),
            Handover::Driven { .. } if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Handover::Driven { holder } => {
                return Err(SessionError::Driven {
                    run_id: run_id.to_string(),
                    holder,
                });
            }
        }
    }
}

/// What one look at an unended child found ([`take_once`]).
enum Handover {
    /// Taken over (applying the command asked): this process drives it now.
    Taken(Box<Ready>),
    /// It ended: its result stands.
    Ended,
    /// Another live engine holds it (`holder`): look again, or give up.
    Driven { holder: String },
}

/// One look at child `run_id`: ended, or taken over applying `command` (a cancel:
/// [`cancel::attempt`]), or held by another engine. How long to look again is the
/// caller's ([`take_over`], [`cancel::Waiting`]).
fn take_once(
    store: &mut Store,
    run_id: &str,
    (params, operator): (&[(String, String)], &str),
    command: Option<baton_model::Command>,
    auto_approve: bool,
) -> Result<Handover, SessionError> {
    if store.run_liveness(run_id)?.state.is_final() {
        return Ok(Handover::Ended);
    }
    let taken = super::command::take_over_with(
        store,
        run_id,
        params,
        operator,
        command,
        false,
        auto_approve,
    );
    match taken {
        Ok((ready, _)) => Ok(Handover::Taken(Box::new(ready))),
        Err(SessionError::Driven { holder, .. }) => Ok(Handover::Driven { holder }),
        Err(e) => Err(e),
    }
}

/// Run the failed steps of the ended child `run_id` again (`baton retry --failed`),
/// taking it over to drive it. `None`: it has none to run again (it was cancelled
/// before it failed, or its compensations ran): the step makes a new child.
pub fn retry_failed(
    store: &mut Store,
    run_id: &str,
    params: &[(String, String)],
    operator: &str,
    auto_approve: bool,
) -> Result<Option<Ready>, SessionError> {
    let command = baton_model::Command::RetryFailed {
        operator: operator.to_string(),
    };
    let taken = super::command::take_over_with(
        store,
        run_id,
        params,
        operator,
        Some(command),
        true,
        auto_approve,
    );
    match taken {
        Ok((ready, _)) => Ok(Some(ready)),
        Err(SessionError::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the engine of an attempt of a parent's step (`baton run --parent RUN/STEP`)
/// starts from.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The parent's run, its step and the step's attempt this engine is the process of.
    pub link: &'a ParentLink,
    /// The params the step gave (`core::child::params_in`), for a child driven on.
    pub params: &'a [(String, String)],
    pub operator: &'a str,
    /// The parent approves its own gates (`--auto-approve`): the child does too.
    pub auto_approve: bool,
}

/// How an attempt goes on with its step's child, decided before anything of it runs.
pub enum Started {
    /// The failed child to drive, its failed steps to run again.
    Retry(Box<Ready>),
    /// The unended child to drive on, taken over.
    Resume(Box<Ready>),
    /// No child to go on with: the caller makes one, linked to this attempt
    /// (the CLI: `session::load_new` and [`create`]).
    Create,
    /// The step's child had ended: its result is the step's, nothing run again.
    Ended { run: String, state: RunState },
}

/// What `baton run --parent` does first, one function for the CLI and the simulator
/// (crates/sim): the parent checked to be a run of this store, the step's child on
/// record found ([`find`]) and the core's decision ([`decide`]) carried out by
/// [`start_decided`].
pub fn start(store: &mut Store, attempt: Attempt<'_>) -> Result<Started, SessionError> {
    // The parent must be a run of this store (a mistyped `--parent` makes nothing).
    store.run(&attempt.link.run)?;
    let found = find(store, attempt.link)?;
    start_decided(store, attempt, decide(found.as_ref()))
}

/// [`start`] past its decision: a failed child's failed steps run again
/// ([`retry_failed`], a new child when none is left to run), an unended one taken
/// over ([`take_over`]; ended meanwhile, its result), an ended one reported.
/// Public for the simulator, whose `--bug` switches decide otherwise.
pub fn start_decided(
    store: &mut Store,
    attempt: Attempt<'_>,
    decided: ChildStart,
) -> Result<Started, SessionError> {
    let Attempt {
        params,
        operator,
        auto_approve,
        ..
    } = attempt;
    match decided {
        ChildStart::Create => Ok(Started::Create),
        ChildStart::Ended { run, state } => Ok(Started::Ended { run, state }),
        ChildStart::RetryFailed(run) => {
            Ok(
                match retry_failed(store, &run, params, operator, auto_approve)? {
                    Some(ready) => Started::Retry(Box::new(ready)),
                    // Nothing of it to run again: a new child.
                    None => Started::Create,
                },
            )
        }
        ChildStart::Resume(run) => match take_over(store, &run, params, operator, auto_approve)? {
            Some(ready) => Ok(Started::Resume(Box::new(ready))),
            // It ended while another engine held it.
            None => {
                let state = store.run_liveness(&run)?.state;
                Ok(Started::Ended { run, state })
            }
        },
    }
}

/// Make the child run of `loaded` (its `spec.parent` set): recorded with its link.
pub fn create(store: &mut Store, loaded: Loaded) -> Result<Ready, SessionError> {
    let made = super::concurrency::create(store, loaded, &super::lease_holder(), None)?;
    if let Some(said) = made.said() {
        crate::stdio::errln!("{said}");
    }
    Ok(made.ready)
}

/// Whether the parent of a child run asked to cancel since `since` (the child's
/// start): its engine then stops this child's step, and the child is cancelled, not
/// interrupted. Public for the simulator (crates/sim), which plays that engine.
pub fn parent_cancelling(store: &Store, parent: &ParentLink, since: Timestamp) -> bool {
    store.events(&parent.run).is_ok_and(|events| {
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::CancelRequested { .. }) && e.at >= since)
    })
}

/// What a child run's engine says last, on stderr (its parent's step records the tail):
/// the child and how it ended, naming its failed steps.
pub fn ending_line(store: &Store, run_id: &str) -> Option<String> {
    let view = super::inspect(store, run_id, Timestamp::now()).ok()?;
    let failed: Vec<&str> = view
        .steps
        .iter()
        .filter(|s| s.state.is_failure())
        .map(|s| s.id.as_str())
        .collect();
    Some(match (view.state, failed.as_slice()) {
        (RunState::Succeeded, _) => format!("child run {run_id} succeeded"),
        (state, []) => format!("child run {run_id} {state}"),
        (state, steps) => format!(
            "child run {run_id} {state}: step {} failed (`baton show {run_id}`)",
            steps.join(", ")
        ),
    })
}

/// The outputs a child run hands its parent's step, Dagu's child `outputs`
/// (dagu-org/dagu 59d92fc1, `internal/runtime/agent/dbclient.go`
/// `GetSubDAGRunStatus`: every output its steps gave, a later step's value winning):
/// the step writes them to its `$BATON_OUTPUT`, so the parent reads
/// `${{ steps.STEP.outputs.NAME }}`. The second list names those kept back.
///
/// Taint: the child's core never records an output holding a secret it knows (its
/// own, and the parent's it was handed: `BATON_CHILD_SECRET_PARAMS`,
/// `BATON_CHILD_SECRET_ENV`); `secrets` (the values the parent handed, from
/// [`handed_secrets`]) are checked again here, and the parent's core withholds
/// what holds one of its own. So an output made from a secret reaches the parent
/// only as a consumer of the child would see it: missing.
pub fn outputs_for_parent(
    store: &Store,
    run_id: &str,
    secrets: &[String],
) -> (Vec<(String, String)>, Vec<String>) {
    match super::inspect(store, run_id, Timestamp::now()) {
        Ok(view) => handed(view.steps.iter().map(|s| &s.outputs), secrets),
        Err(_) => (Vec::new(), Vec::new()),
    }
}

/// [`outputs_for_parent`] of the child's steps (plan order): names `$BATON_OUTPUT`
/// takes, `child_run` left to the step (it names the child), a value of one line
/// (the file's form), and none holding one of `secrets`, in its name or value.
fn handed<'a>(
    steps: impl IntoIterator<Item = &'a std::collections::BTreeMap<String, String>>,
    secrets: &[String],
) -> (Vec<(String, String)>, Vec<String>) {
    let holds = |s: &str| {
        secrets
            .iter()
            .any(|x| !x.is_empty() && s.contains(x.as_str()))
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut kept_back = Vec::new();
    for (k, v) in steps.into_iter().flatten() {
        if !baton_model::output_name::is_output_name(k) || k == "child_run" {
            continue;
        }
        if holds(k) || holds(v) {
            kept_back.push(if holds(k) {
                "***".to_string()
            } else {
                k.clone()
            });
            out.retain(|(o, _)| o != k);
            continue;
        }
        if v.contains(['\n', '\r']) {
            kept_back.push(k.clone());
            continue;
        }
        match out.iter_mut().find(|(o, _)| o == k) {
            Some(slot) => slot.1.clone_from(v),
            None => out.push((k.clone(), v.clone())),
        }
    }
    (out, kept_back)
}

/// The values of the parent's secrets this child was handed, read from `vars` (its
/// environment): the params `BATON_CHILD_SECRET_PARAMS` names and the variables
/// `BATON_CHILD_SECRET_ENV` names.
pub fn handed_secrets(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    use baton_core::child::{PARAM_PREFIX, SECRET_ENV_ENV, SECRET_PARAMS_ENV, names_in};
    let vars: Vec<(String, String)> = vars.into_iter().collect();
    let value = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let params = names_in(SECRET_PARAMS_ENV, vars.clone())
        .into_iter()
        .filter_map(|n| value(&format!("{PARAM_PREFIX}{n}")));
    let env = names_in(SECRET_ENV_ENV, vars.clone())
        .into_iter()
        .filter_map(|n| value(&n));
    params.chain(env).filter(|v| !v.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core decides (`baton_core::child::decide`, its tests); here only what the
    /// record gives it: a previous attempt that ended makes a failed child's retry.
    #[test]
    fn what_is_on_record_reaches_the_core_s_decision() {
        let found = |previous: Option<&str>| Found {
            child: ChildRun {
                run: "01child".into(),
                attempt: 1,
            },
            state: RunState::Failed,
            previous_ended: previous.map(str::to_string),
        };
        assert_eq!(decide(None), ChildStart::Create);
        assert_eq!(
            decide(Some(&found(Some("failed")))),
            ChildStart::RetryFailed("01child".into())
        );
        assert!(matches!(
            decide(Some(&found(None))),
            ChildStart::Ended { .. }
        ));
    }

    fn step(outputs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        outputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The taint rule of a child's outputs: one holding a secret the parent handed
    /// (in its value or its name) never reaches the parent's step, nor does an
    /// earlier value of its name; the rest do, a later step's value winning (Dagu).
    #[test]
    fn a_child_output_holding_a_handed_secret_never_reaches_its_parent() {
        let steps = [
            step(&[("A", "1"), ("TOKEN", "plain"), ("child_run", "01x")]),
            step(&[("A", "2"), ("TOKEN", "Bearer s3cr3t!"), ("s3cr3t", "n")]),
            step(&[("LINES", "a\nb"), ("+label", "x"), ("B", "ok")]),
        ];
        let (out, kept_back) = handed(&steps, &["s3cr3t".to_string(), String::new()]);
        assert_eq!(
            out,
            [
                ("A".to_string(), "2".to_string()),
                ("B".into(), "ok".into())
            ]
        );
        assert_eq!(kept_back, ["TOKEN", "***", "LINES"]);
        // Without secrets, every well-formed one of a line.
        let (out, _) = handed(&steps, &[]);
        let names: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["A", "TOKEN", "s3cr3t", "B"]);
    }

    #[test]
    fn the_secrets_a_child_was_handed_are_the_named_params_and_variables() {
        let vars = [
            ("BATON_CHILD_SECRET_PARAMS", "token"),
            ("BATON_CHILD_PARAM_token", "tk-1"),
            ("BATON_CHILD_PARAM_region", "eu"),
            ("BATON_CHILD_SECRET_ENV", "HOOK,UNSET"),
            ("HOOK", "https://h/x"),
            ("OTHER", "o"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(handed_secrets(vars), ["tk-1", "https://h/x"]);
    }

    /// `baton run --parent` of a mistyped parent makes nothing; a parent's step with
    /// no child on record has its caller make one (`Started::Create`).
    #[test]
    fn a_child_starts_only_from_a_parent_of_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("b.db")).expect("store");
        store
            .create_run(&baton_store::NewRun {
                id: "01parent".into(),
                workflow: "w".into(),
                source_path: "/w.toml".into(),
                source_text: "name = \"w\"\n".into(),
                params_json: "{}".into(),
                operator: "ana".into(),
                started_at: Timestamp(1),
                steps: vec!["deploy".into()],
                parent: None,
            })
            .expect("the parent");
        let attempt = |link| Attempt {
            link,
            params: &[],
            operator: "ana",
            auto_approve: false,
        };
        let stray = parse_parent("01nope/deploy", 1).expect("parses");
        assert!(start(&mut store, attempt(&stray)).is_err());
        let link = parse_parent("01parent/deploy", 1).expect("parses");
        let started = start(&mut store, attempt(&link)).expect("decided");
        assert!(matches!(started, Started::Create));
        let runs = store.list_runs().expect("runs");
        assert_eq!(runs.len(), 1, "no run made: {}", runs.len());
    }

    #[test]
    fn parent_is_run_slash_step() {
        let p = parse_parent("01run/deploy", 2).expect("parses");
        assert_eq!(
            (p.run.as_str(), p.step.as_str(), p.attempt),
            ("01run", "deploy", 2)
        );
        assert!(parse_parent("01run", 1).is_err());
        assert!(parse_parent("/deploy", 1).is_err());
    }
}
