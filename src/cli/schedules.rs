//! `baton schedules` lists what `baton serve` serves; `baton schedule pause|resume|trigger`
//! are operators' decisions about it, recorded on the audit chain under the OS account.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::Timestamp;
use crate::session::{self, SessionError, schedules};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton schedules\n  baton schedules --json | jq '.[] | select(.paused)'"
)]
pub struct SchedulesArgs {
    /// Print a JSON array (workflow, schedule, cron, timezone, next, paused, last_run, …)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub cmd: ScheduleCmd,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCmd {
    /// Stop a schedule firing (its slots are recorded as paused) until it is resumed
    #[command(
        after_help = "Examples:\n  baton schedule pause nightly --reason \"db maintenance\"\n  baton schedule pause nightly#2 --reason \"quarter close\""
    )]
    Pause(Decide),
    /// Let a paused schedule fire again from its next slot
    #[command(
        after_help = "Examples:\n  baton schedule resume nightly --reason \"maintenance done\""
    )]
    Resume(Decide),
    /// Ask the serve to start a run of a served workflow now
    #[command(
        after_help = "Examples:\n  baton schedule trigger nightly --param env=staging --reason \"rerun after fix\""
    )]
    Trigger(TriggerArgs),
    /// Start each slot of a past range that never ran, once, one after the other (listed first)
    #[command(
        after_help = "Examples:\n  baton schedule backfill nightly --from 2026-03-01 --to 2026-03-07 --dry-run\n  baton schedule backfill nightly#2 --from 2026-03-01T00:00:00Z --to 2026-03-02T00:00:00Z --reason \"outage\"\n\nA date or a time without an offset is read in the schedule's time zone; both ends count.\nA slot that made a run, or was asked for already, is listed and never started again.\nEach run gets its slot as ${{ run.slot }} and $BATON_SLOT."
    )]
    Backfill(BackfillArgs),
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The workflow's name (every schedule of it), or WORKFLOW#N for its Nth schedule
    #[arg(value_name = "WORKFLOW[#N]")]
    pub target: String,
    /// The range's first instant (RFC 3339, or a date or date and time in the schedule's zone)
    #[arg(long, value_name = "T")]
    pub from: String,
    /// The range's last instant (included; not after now)
    #[arg(long, value_name = "T")]
    pub to: String,
    /// List the slots and what would become of each; record nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON array (schedule, slot, starts, fate, run)
    #[arg(long)]
    pub json: bool,
    /// Why (recorded on the audit chain)
    #[arg(long, value_name = "TEXT", default_value = "backfill")]
    pub reason: String,
    #[command(flatten)]
    pub db: DbOpt,
}

#[derive(Debug, Args)]
pub struct Decide {
    /// The workflow's name (every schedule of it), or WORKFLOW#N for its Nth schedule
    #[arg(value_name = "WORKFLOW[#N]")]
    pub target: String,
    /// Why (recorded on the audit chain)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub db: DbOpt,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The served workflow's name
    pub workflow: String,
    /// A run parameter, `--param name=value` (repeatable)
    #[arg(long = "param", value_name = "K=V", value_parser = super::run::parse_kv)]
    pub params: Vec<(String, String)>,
    /// Why (recorded on the audit chain)
    #[arg(long, value_name = "TEXT", default_value = "triggered by hand")]
    pub reason: String,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn list(args: SchedulesArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let now = Timestamp::now();
    let board = match schedules::board(&store, now) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    if args.json {
        let v: Vec<serde_json::Value> = board.rows.iter().map(|l| l.json()).collect();
        crate::stdio::outln!("{}", serde_json::Value::Array(v));
    } else if board.rows.is_empty() {
        crate::stdio::outln!(
            "no schedules served (`baton serve --workflows DIR` serves the [[schedule]] blocks of DIR's workflows)"
        );
    } else {
        let offset = now.local_offset();
        let table: Vec<[String; 5]> = board.rows.iter().map(|l| l.cells(now, offset)).collect();
        crate::stdio::out!("{}", super::table::render(&schedules::COLUMNS, &table));
    }
    // Each file that does not load, once: its previous version (if any) serves.
    let mut errors: Vec<&str> = board
        .rows
        .iter()
        .filter_map(|l| l.error.as_deref())
        .collect();
    errors.dedup();
    for e in errors
        .into_iter()
        .chain(board.broken.iter().map(|(_, e)| e.as_str()))
    {
        crate::stdio::errln!("{}", crate::sanitize::for_terminal(e));
    }
    exit::OK
}

pub fn exec(args: ScheduleArgs) -> i32 {
    let r = match args.cmd {
        ScheduleCmd::Pause(d) => pause(&d, true),
        ScheduleCmd::Resume(d) => pause(&d, false),
        ScheduleCmd::Trigger(t) => trigger(&t),
        ScheduleCmd::Backfill(b) => backfill(&b),
    };
    match r {
        Ok(code) => code,
        Err(e) => session::report(&e),
    }
}

fn pause(d: &Decide, paused: bool) -> Result<i32, SessionError> {
    let actor = session::os_account()?;
    let mut store = d.db.open()?;
    let names = schedules::pause(&mut store, &d.target, paused, &actor, &d.reason)?;
    for name in names {
        crate::stdio::outln!(
            "{} {}",
            crate::sanitize::for_terminal(&name),
            if paused { "paused" } else { "resumed" }
        );
    }
    Ok(exit::OK)
}

fn trigger(t: &TriggerArgs) -> Result<i32, SessionError> {
    let actor = session::os_account()?;
    let mut store = t.db.open()?;
    let said = schedules::trigger(&mut store, &t.workflow, &t.params, &actor, &t.reason)?;
    crate::stdio::outln!("{}", crate::sanitize::for_terminal(&said));
    Ok(exit::OK)
}

fn backfill(b: &BackfillArgs) -> Result<i32, SessionError> {
    let actor = session::os_account()?;
    let mut store = b.db.open()?;
    let lines = schedules::backfill(
        &mut store,
        &b.target,
        (&b.from, &b.to),
        b.dry_run,
        &actor,
        &b.reason,
    )?;
    if b.json {
        let v: Vec<serde_json::Value> = lines.iter().map(|l| l.json()).collect();
        crate::stdio::outln!("{}", serde_json::Value::Array(v));
        return Ok(exit::OK);
    }
    for l in &lines {
        crate::stdio::outln!("{}", crate::sanitize::for_terminal(&l.text()));
    }
    let starts = lines
        .iter()
        .filter(|l| l.fate == crate::store::schedules::Backfilled::Requested)
        .count();
    let said = if b.dry_run {
        format!(
            "dry run: {starts} of {} slot(s) would start; nothing recorded",
            lines.len()
        )
    } else {
        match store.serve_holder(session::SERVE_LEASE) {
            Some(holder) => format!(
                "{starts} of {} slot(s) asked for: the serve ({holder}) starts them one after the other",
                lines.len()
            ),
            None => format!(
                "{starts} of {} slot(s) asked for: recorded; no serve is running, the next `baton serve` starts them",
                lines.len()
            ),
        }
    };
    crate::stdio::errln!("{said}");
    Ok(exit::OK)
}
