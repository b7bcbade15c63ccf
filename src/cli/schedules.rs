//! `baton schedules` lists what `baton serve` serves; `baton schedule pause|resume|trigger`
//! are operators' decisions about it, recorded on the audit chain under the OS account.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::schedule::{Cadence, schedule_name};
use crate::model::{RunState, Timestamp};
use crate::session::{self, SessionError, identity};
use crate::store::Store;
use crate::store::schedules::ScheduleRow;
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
    let rows = match store.schedules() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let now = Timestamp::now();
    let listed: Vec<Listed> = rows.iter().map(|r| listed(&store, r, now)).collect();
    if args.json {
        let v: Vec<serde_json::Value> = listed.iter().map(Listed::json).collect();
        crate::stdio::outln!("{}", serde_json::Value::Array(v));
        return exit::OK;
    }
    if listed.is_empty() {
        crate::stdio::outln!(
            "no schedules served (`baton serve --workflows DIR` serves the [[schedule]] blocks of DIR's workflows)"
        );
        return exit::OK;
    }
    let table: Vec<[String; 5]> = listed.iter().map(Listed::cells).collect();
    crate::stdio::out!(
        "{}",
        super::table::render(&["SCHEDULE", "CRON", "NEXT", "LAST RUN", "PAUSED"], &table)
    );
    if let Ok(errors) = store.load_errors() {
        for (_, e) in errors {
            crate::stdio::errln!("{e}");
        }
    }
    exit::OK
}

/// One schedule as listed: the same facts for the table, `--json` and the console.
pub struct Listed {
    pub name: String,
    pub row: ScheduleRow,
    pub next: Option<Timestamp>,
    pub last_run: Option<(String, RunState)>,
    pub now: Timestamp,
}

pub fn listed(store: &Store, row: &ScheduleRow, now: Timestamp) -> Listed {
    let next = Cadence::new(&row.cron, &row.timezone)
        .ok()
        .and_then(|c| c.next_after(now.max(row.last.as_ref().map_or(now, |l| l.slot_at))));
    let last_run = row.last.as_ref().and_then(|l| l.run_id.clone()).map(|id| {
        // Read through its lease: a run whose engine is gone is interrupted.
        let state = store
            .run(&id)
            .map(|r| r.liveness().state)
            .unwrap_or(RunState::Interrupted);
        (id, state)
    });
    Listed {
        name: schedule_name(&row.workflow, row.index),
        row: row.clone(),
        next,
        last_run,
        now,
    }
}

impl Listed {
    pub fn cells(&self) -> [String; 5] {
        let clean = crate::sanitize::for_terminal;
        let next = match self.next {
            Some(t) => format!(
                "{} (in {})",
                t.wall(self.now, self.now.local_offset()),
                crate::workflow::format_duration(t.since(self.now))
            ),
            None => "-".into(),
        };
        let last = match &self.last_run {
            Some((id, state)) => format!("{} {state}", &id[..id.len().min(10)]),
            None => "-".into(),
        };
        let paused = match &self.row.paused {
            Some(p) => format!("paused by {}: {}", p.by, p.reason),
            None => "no".into(),
        };
        [
            clean(&self.name),
            format!("{} {}", clean(&self.row.cron), self.row.timezone),
            next,
            last,
            clean(&paused),
        ]
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "workflow": self.row.workflow,
            "schedule": self.name,
            "index": self.row.index,
            "file": self.row.file,
            "cron": self.row.cron,
            "timezone": self.row.timezone,
            "catch_up": self.row.catch_up,
            "overlap": self.row.overlap,
            "next": self.next.map(Timestamp::to_rfc3339),
            "paused": self.row.paused.as_ref().map(|p| serde_json::json!({
                "by": p.by, "reason": p.reason, "at": p.at.to_rfc3339(),
            })),
            "last_run": self.last_run.as_ref().map(|(id, state)| serde_json::json!({
                "id": id, "state": state.as_str(),
            })),
        })
    }
}

pub fn exec(args: ScheduleArgs) -> i32 {
    let r = match args.cmd {
        ScheduleCmd::Pause(d) => pause(&d, true),
        ScheduleCmd::Resume(d) => pause(&d, false),
        ScheduleCmd::Trigger(t) => trigger(&t),
    };
    match r {
        Ok(code) => code,
        Err(e) => session::report(&e),
    }
}

/// The schedules `target` (`WORKFLOW` or `WORKFLOW#N`) names.
pub fn resolve(rows: &[ScheduleRow], target: &str) -> Result<Vec<ScheduleRow>, SessionError> {
    let (name, index) = match target.rsplit_once('#') {
        Some((n, i)) => {
            let i: u32 = i.parse().map_err(|_| {
                SessionError::Usage(format!(
                    "`{target}`: after # comes the schedule's number, e.g. nightly#2"
                ))
            })?;
            (n, Some(i))
        }
        None => (target, None),
    };
    let found: Vec<ScheduleRow> = rows
        .iter()
        .filter(|r| r.workflow == name && index.is_none_or(|i| r.index == i))
        .cloned()
        .collect();
    if found.is_empty() {
        let names: Vec<String> = rows
            .iter()
            .map(|r| schedule_name(&r.workflow, r.index))
            .collect();
        return Err(SessionError::Usage(format!(
            "no served schedule is `{target}`; {}",
            if names.is_empty() {
                "none is served (`baton serve --workflows DIR` serves them)".to_string()
            } else {
                format!("the schedules are: {}", names.join(", "))
            }
        )));
    }
    Ok(found)
}

fn pause(d: &Decide, paused: bool) -> Result<i32, SessionError> {
    let actor = identity::os_account()?;
    if d.reason.trim().is_empty() {
        return Err(SessionError::Usage(
            "--reason is empty: say why, it goes on the audit chain".into(),
        ));
    }
    let mut store = d.db.open()?;
    let found = resolve(&store.schedules()?, &d.target)?;
    let targets: Vec<(String, u32, String)> = found
        .iter()
        .map(|r| (r.file.clone(), r.index, r.workflow.clone()))
        .collect();
    store.set_paused(&targets, paused, &actor, &d.reason)?;
    for (_, i, w) in &targets {
        crate::stdio::outln!(
            "{} {}",
            crate::sanitize::for_terminal(&schedule_name(w, *i)),
            if paused { "paused" } else { "resumed" }
        );
    }
    Ok(exit::OK)
}

fn trigger(t: &TriggerArgs) -> Result<i32, SessionError> {
    let actor = identity::os_account()?;
    let mut store = t.db.open()?;
    let files = store.served_files()?;
    let Some((file, _)) = files.iter().find(|(_, w)| *w == t.workflow) else {
        let names: Vec<&str> = files.iter().map(|(_, w)| w.as_str()).collect();
        return Err(SessionError::Usage(format!(
            "no served workflow is named `{}`; the served workflows are: {}",
            t.workflow,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    // The params are checked now, as `baton run` would: a bad one is refused here.
    let plan = crate::workflow::load_file(std::path::Path::new(file))
        .map_err(|d| SessionError::Diagnostics(d.to_string()))?;
    crate::workflow::resolve_params(&plan, &t.params)
        .map_err(|e| SessionError::Usage(e.join("\nerror: ")))?;
    store.request_trigger(file, &t.workflow, &t.params, &actor, &t.reason)?;
    match store.serve_holder(crate::session::serve::SERVE_LEASE) {
        Some(holder) => {
            crate::stdio::outln!("triggered {}: the serve ({holder}) starts it", t.workflow)
        }
        None => crate::stdio::outln!(
            "triggered {}: recorded; no serve is running, the next `baton serve` starts it",
            t.workflow
        ),
    }
    Ok(exit::OK)
}
