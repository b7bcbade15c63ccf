//! `baton run FILE --parent RUN/STEP`: the child run of a step with `workflow = "…"`
//! (the step's process, `core::child::COMMAND`). It goes on with the child an earlier
//! attempt of the step made (the core decides: `baton_core::child::decide`), so a parent resumed after a
//! crash never makes a second child; its exit code is the child's result, and its last
//! line on stderr names the child and its failed steps for the parent's record.
use super::drive;
use super::run::{RunArgs, operator_name};
use crate::session::{self, SessionError, child};
use crate::store::Store;
use std::io::Write;

pub(super) fn exec(args: &RunArgs, parent: &str) -> i32 {
    match start(args, parent) {
        Ok(Started::Drive(driven)) => {
            let (store, ready, display) = *driven;
            let db = display.db_path.clone();
            let run_id = ready.run_id.clone();
            let code = drive::drive(store, ready, display);
            say_ending(&db, &run_id);
            hand_outputs(&db, &run_id);
            code
        }
        Ok(Started::Ended { db, run, code }) => {
            say_ending(&db, &run);
            hand_outputs(&db, &run);
            code
        }
        Err(e) => session::report(&e),
    }
}

enum Started {
    /// Boxed: a run's core is large, and the other variant small.
    Drive(Box<(Store, session::Ready, drive::Display)>),
    /// The step's child had ended: its result, nothing run again.
    Ended {
        db: std::path::PathBuf,
        run: String,
        code: i32,
    },
}

/// Find, resume or make the child run, before anything of it runs (the decision is
/// the session's: `session::child::start`).
fn start(args: &RunArgs, parent: &str) -> Result<Started, SessionError> {
    let operator = operator_name(args.engine.operator.as_deref())?;
    // The attempt of the parent's step that runs this (its environment says).
    let attempt = std::env::var("BATON_ATTEMPT")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let link = child::parse_parent(parent, attempt)?;
    // The params the step gave, through the environment (never argv: `ps` shows it).
    let mut params = args.engine.params.clone();
    // A variable that is not UTF-8 is none of the step's (`vars` would panic on it).
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    params.extend(crate::engine::core::child::params_in(vars));
    let mut display = args.engine.display()?;
    display.params.clone_from(&params);
    // The parent's store, which exists: a mistyped `--db` makes none.
    let mut store = Store::open_existing(&display.db_path)?;
    store.wait_as_engine()?;
    // A parent that approves its own gates (`--auto-approve`) has its child do so too.
    let auto_approve = args.auto_approve
        || std::env::var_os(crate::engine::core::child::AUTO_APPROVE_ENV).is_some_and(|v| v == "1");
    let attempt = child::Attempt {
        link: &link,
        params: &params,
        operator: &operator,
        auto_approve,
    };
    let ready = match child::start(&mut store, attempt)? {
        child::Started::Retry(ready) | child::Started::Resume(ready) => *ready,
        child::Started::Ended { run, state } => {
            return Ok(ended(&link, run, state, display.db_path));
        }
        child::Started::Create => {
            let loaded = session::load_new(session::NewRunSpec {
                workflow: args.workflow.clone(),
                params,
                max_parallel: args.max_parallel,
                auto_approve,
                operator,
                no_cache: args.no_cache,
                slot: None,
                zone: None,
                labels: Default::default(),
                parent: Some(link),
            })?;
            child::create(&mut store, loaded)?
        }
    };
    note_output(&ready.run_id);
    Ok(Started::Drive(Box::new((store, ready, display))))
}

/// The step's child had ended: said, noted, and its result is the step's.
fn ended(
    link: &crate::model::view::ParentLink,
    run: String,
    state: crate::model::RunState,
    db: std::path::PathBuf,
) -> Started {
    crate::stdio::errln!(
        "run {}/{}: its child run {run} already ended {state}; not run again",
        link.run,
        link.step
    );
    note_output(&run);
    Started::Ended {
        db,
        run,
        code: state.exit_code(),
    }
}

/// The child's id as the step's output `child_run` (`$BATON_OUTPUT`), when run as a step.
fn note_output(run: &str) {
    append_output(&format!("child_run={run}\n"), "the child run");
}

/// The child's outputs as the step's own, once it ended (Dagu's child `outputs`,
/// `session::child::outputs_for_parent`): the parent reads
/// `${{ steps.STEP.outputs.NAME }}`. None holds a secret the child was handed.
fn hand_outputs(db: &std::path::Path, run: &str) {
    if std::env::var_os("BATON_OUTPUT").is_none() {
        return;
    }
    let Ok(store) = Store::open_existing(db) else {
        return;
    };
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let secrets = child::handed_secrets(vars);
    let (outputs, kept_back) = child::outputs_for_parent(&store, run, &secrets);
    for k in kept_back {
        crate::stdio::errln!(
            "warning: child run {run}: its output `{k}` holds a secret or a line break; not handed to the parent's step"
        );
    }
    let lines: String = outputs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    if !lines.is_empty() {
        append_output(&lines, "the child's outputs");
    }
}

/// Append `lines` to the step's `$BATON_OUTPUT`, when run as a step.
fn append_output(lines: &str, what: &str) {
    let Some(path) = std::env::var_os("BATON_OUTPUT") else {
        return;
    };
    use std::os::unix::fs::OpenOptionsExt;
    // In the attempt's private directory, made for it; the file is made by the first
    // line written to it.
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()));
    if let Err(e) = written {
        crate::stdio::errln!("warning: cannot note {what} in $BATON_OUTPUT: {e}");
    }
}

/// The child's last line, on stderr: the parent's step records it.
fn say_ending(db: &std::path::Path, run: &str) {
    if let Some(line) = Store::open_existing(db)
        .ok()
        .and_then(|s| child::ending_line(&s, run))
    {
        crate::stdio::errln!("{line}");
    }
}
