//! `baton triggers` lists the `[[trigger]]`s `baton serve` serves, each with its last
//! events and what they started; `baton trigger pause|resume` are operators' decisions
//! about them, on the audit chain under the OS account.
use super::db::{DbOpt, fail};
use super::exit;
use crate::session::{self, SessionError};
use crate::store::trigger_events::{EventRow, TriggerRow};
use clap::{Args, Subcommand};

/// How many events of each trigger are listed.
const LAST: usize = 5;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton triggers\n  baton triggers --json | jq '.[] | select(.paused)'"
)]
pub struct TriggersArgs {
    /// Print a JSON array (workflow, index, name, kind, what, since, paused, last events)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    #[command(subcommand)]
    pub cmd: TriggerCmd,
}

#[derive(Debug, Subcommand)]
pub enum TriggerCmd {
    /// Stop a trigger starting runs (its events are recorded refused) until it is resumed
    #[command(
        after_help = "Examples:\n  baton trigger pause publish --reason \"registry down\"\n  baton trigger pause publish#2 --reason \"quarter close\""
    )]
    Pause(Decide),
    /// Let a paused trigger start runs again, from its next event
    #[command(after_help = "Examples:\n  baton trigger resume publish --reason \"registry back\"")]
    Resume(Decide),
}

#[derive(Debug, Args)]
pub struct Decide {
    /// The workflow's name (every trigger of it), or WORKFLOW#N (its Nth trigger) or WORKFLOW#NAME
    #[arg(value_name = "WORKFLOW[#N]")]
    pub target: String,
    /// Why (recorded on the audit chain)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn list(args: TriggersArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let rows = match store.triggers(LAST) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if args.json {
        let v = serde_json::to_value(&rows).unwrap_or_default();
        crate::stdio::outln!("{v}");
        return exit::OK;
    }
    if rows.is_empty() {
        crate::stdio::outln!(
            "no triggers served (`baton serve --workflows DIR` serves the [[trigger]] blocks of DIR's workflows)"
        );
        return exit::OK;
    }
    crate::stdio::out!("{}", crate::sanitize::for_terminal(&text(&rows)));
    exit::OK
}

/// Each trigger, then its last events (newest first) and what each started.
fn text(rows: &[TriggerRow]) -> String {
    let mut out = String::new();
    for t in rows {
        let paused = match &t.paused {
            Some(p) => format!(
                "  paused by {}{}",
                p.by,
                p.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        out.push_str(&format!("{}  {}: {}{paused}\n", name(t), t.kind, t.what));
        if t.last.is_empty() {
            out.push_str(&format!("  no event since {}\n", t.since.to_rfc3339()));
        }
        for e in &t.last {
            out.push_str(&format!("  {}\n", event_line(e)));
        }
    }
    out
}

fn name(t: &TriggerRow) -> String {
    match &t.name {
        Some(n) => format!("{}#{} ({n})", t.workflow, t.index),
        None => format!("{}#{}", t.workflow, t.index),
    }
}

fn event_line(e: &EventRow) -> String {
    let at = e.at.to_rfc3339();
    match (&e.run_id, &e.why) {
        (Some(run), _) => format!("{at}  {}  {} run {run}", e.detail, e.fate),
        (None, Some(why)) => format!("{at}  {}  {}: {why}", e.detail, e.fate),
        (None, None) => format!("{at}  {}  {}", e.detail, e.fate),
    }
}

pub fn exec(args: TriggerArgs) -> i32 {
    let (d, paused) = match &args.cmd {
        TriggerCmd::Pause(d) => (d, true),
        TriggerCmd::Resume(d) => (d, false),
    };
    match pause(d, paused) {
        Ok(code) => code,
        Err(e) => session::report(&e),
    }
}

fn pause(d: &Decide, paused: bool) -> Result<i32, SessionError> {
    let actor = session::os_account()?;
    let mut store = d.db.open()?;
    let rows = store.triggers(0)?;
    let (workflow, which) = match d.target.split_once('#') {
        Some((w, n)) => (w, Some(n)),
        None => (d.target.as_str(), None),
    };
    let targets: Vec<(String, u32, String)> = rows
        .iter()
        .filter(|t| t.workflow == workflow)
        .filter(|t| which.is_none_or(|n| n == t.index.to_string() || t.name.as_deref() == Some(n)))
        .map(|t| {
            (
                t.file.clone(),
                t.index,
                format!("{}#{}", t.workflow, t.index),
            )
        })
        .collect();
    if targets.is_empty() {
        return Err(SessionError::Usage(format!(
            "no served trigger is `{}`: `baton triggers` lists them (WORKFLOW, WORKFLOW#N or WORKFLOW#NAME)",
            d.target
        )));
    }
    store.set_trigger_paused(&targets, paused, &actor, &d.reason)?;
    let verb = if paused { "paused" } else { "resumed" };
    for (_, _, name) in &targets {
        crate::stdio::outln!("{} {verb}", crate::sanitize::for_terminal(name));
    }
    Ok(exit::OK)
}
