//! `baton runs rm RUN…` and `baton gc --older-than D`: choose runs, ask on a terminal,
//! delete (see `Store::delete_run`; which runs may go is `model::retention`).
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::retention::{collectable, deletion_refusal};
use crate::model::{RunState, Timestamp};
use crate::store::{Store, StoreError};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Clone, Args)]
pub struct DeleteOpts {
    /// List what would be deleted and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (it is asked only when stdin is a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Age counts from the run's end (an interrupted run's last event). Asks first \
                  when stdin is a terminal (--yes skips it). Each deletion is recorded in the \
                  audit chain, so `baton audit verify` still holds.\n\n\
                  Examples:\n  baton gc --older-than 30d --dry-run\n  baton gc --older-than 7d --include-interrupted --yes"
)]
pub struct GcArgs {
    /// Delete runs that ended at least this long ago (`12h`, `30d`, `1d12h`)
    #[arg(long, value_name = "DURATION", value_parser = crate::workflow::parse_duration)]
    pub older_than: std::time::Duration,
    /// Also delete interrupted runs (kept by default: `baton resume` may continue them)
    #[arg(long)]
    pub include_interrupted: bool,
    #[command(flatten)]
    pub opts: DeleteOpts,
    #[command(flatten)]
    pub db: DbOpt,
}

/// A run chosen for deletion.
struct Target {
    id: String,
    workflow: String,
    state: RunState,
}

/// `baton runs rm RUN…`: every run given, or none if any is refused.
pub fn rm(db: &DbOpt, prefixes: &[String], opts: &DeleteOpts) -> i32 {
    let mut store = match db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut targets: Vec<Target> = Vec::new();
    let mut refused = false;
    for prefix in prefixes {
        let run = match store.resolve_run(prefix).and_then(|id| store.run(&id)) {
            Ok(r) => r,
            Err(e) => return fail(&e),
        };
        if targets.iter().any(|t| t.id == run.id) {
            continue;
        }
        if let Some(why) = deletion_refusal(&run.id, &run.liveness()) {
            crate::stdio::errln!("refused: {why}");
            refused = true;
            continue;
        }
        targets.push(Target {
            id: run.id,
            workflow: run.workflow,
            state: run.state,
        });
    }
    if refused {
        crate::stdio::errln!("nothing deleted");
        return exit::FAILED;
    }
    delete(&mut store, &targets, "baton runs rm", opts)
}

/// `baton gc --older-than D [--include-interrupted]`.
pub fn gc(args: GcArgs) -> i32 {
    let mut store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let now = Timestamp::now();
    let chosen = store.list_runs().and_then(|runs| {
        let ends = store.runs_ended_at()?;
        let mut out = Vec::new();
        for r in runs {
            let l = crate::model::Liveness {
                state: r.state,
                driven_by: r.driven_by.clone(),
            };
            // A run deleted between the two reads is not collected again.
            let Some(&ended) = ends.get(&r.id) else {
                continue;
            };
            if collectable(&l, ended, now, args.older_than, args.include_interrupted) {
                out.push(Target {
                    id: r.id,
                    workflow: r.workflow,
                    state: r.state,
                });
            }
        }
        Ok(out)
    });
    let targets = match chosen {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let age = crate::workflow::format_duration(args.older_than);
    if targets.is_empty() {
        crate::stdio::outln!(
            "nothing to delete: no {}run ended {age} ago or earlier",
            if args.include_interrupted {
                "finished or interrupted "
            } else {
                "finished "
            }
        );
        return exit::OK;
    }
    let mut reason = format!("baton gc --older-than {age}");
    if args.include_interrupted {
        reason.push_str(" --include-interrupted");
    }
    delete(&mut store, &targets, &reason, &args.opts)
}

/// List the targets, ask when stdin is a terminal, delete each in its own transaction.
fn delete(store: &mut Store, targets: &[Target], reason: &str, opts: &DeleteOpts) -> i32 {
    let rows: Vec<[String; 3]> = targets
        .iter()
        .map(|t| [t.id.clone(), t.workflow.clone(), t.state.to_string()])
        .collect();
    crate::stdio::out!(
        "{}",
        super::table::render(&["RUN", "WORKFLOW", "STATE"], &rows)
    );
    let n = targets.len();
    let runs = if n == 1 { "run" } else { "runs" };
    if opts.dry_run {
        crate::stdio::outln!("dry run: {n} {runs} would be deleted");
        return exit::OK;
    }
    // The deletion is recorded under the OS account, as every decision is: a uid with
    // no name is refused, never recorded under `$USER`.
    let actor = match crate::session::os_account() {
        Ok(a) => a,
        Err(e) => return crate::session::report(&e),
    };
    if !opts.yes
        && std::io::stdin().is_terminal()
        && !confirm(&format!("delete {n} {runs} and their logs?"))
    {
        crate::stdio::outln!("nothing deleted");
        return exit::OK;
    }
    let mut code = exit::OK;
    for t in targets {
        match store.delete_run(&t.id, &actor, reason) {
            Ok(d) => {
                crate::stdio::outln!(
                    "deleted run {} ({}, {}, {} events; audit row {})",
                    d.run_id,
                    d.workflow,
                    d.state,
                    d.events,
                    d.audit_row
                );
                if let Some(e) = d.log_error {
                    crate::stdio::errln!("warning: could not remove {}: {e}", d.log_dir.display());
                }
            }
            Err(StoreError::Refused(why)) => {
                crate::stdio::errln!("refused: {why}");
                code = code.max(exit::FAILED);
            }
            Err(e) => return fail(&e),
        }
    }
    match store.collect_artifact_garbage() {
        Ok(g) if g.objects > 0 || g.stages > 0 => crate::stdio::outln!(
            "removed {} artifact content(s) no kept run uses ({} bytes) and the handed copies of {} run(s)",
            g.objects,
            g.bytes,
            g.stages
        ),
        Ok(_) => {}
        Err(e) => crate::stdio::errln!("warning: artifacts not collected: {e}"),
    }
    code
}

/// Ask a yes/no question on the terminal; anything but `y`/`yes` is No.
fn confirm(question: &str) -> bool {
    crate::stdio::err!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    is_yes(&line)
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_yes_confirms() {
        for a in ["y\n", "Y", " yes ", "YES\n"] {
            assert!(is_yes(a), "{a:?}");
        }
        for a in ["", "\n", "n", "no", "yep", "sure"] {
            assert!(!is_yes(a), "{a:?}");
        }
    }
}
