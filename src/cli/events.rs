//! `baton events RUN [--follow] [--json] [--from SEQ]`: a run's events from the store,
//! whoever drives it: the headless lines (`--json`: the `--events` JSON lines), from
//! the start or from a sequence number; `--follow` waits for new ones until the run
//! ends (or its engine is gone), looking at the store only when it changed.
use super::db::{DbOpt, fail};
use super::exit;
use crate::engine::{event_json_line, event_lines};
use crate::model::{Event, RunState};
use crate::store::{Store, StoreError};
use clap::Args;
use std::time::Duration;

/// How often a follower asks the store whether anything changed (`PRAGMA
/// data_version`, one integer; the events are read only when it moved).
const FOLLOW_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton events 01J9Z3\n  baton events 01J9Z3 --follow --json | jq -c 'select(.type == \"step_state_changed\")'\n  baton events 01J9Z3 --from 120 --follow"
)]
pub struct EventsArgs {
    /// The run id, or a unique prefix of it
    pub run: String,
    /// Keep printing new events until the run ends (or its engine is gone)
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// One JSON object a line, as `baton run --events` writes them
    #[arg(long)]
    pub json: bool,
    /// Start at the event with this sequence number (the first is 1)
    #[arg(long, value_name = "SEQ", default_value_t = 1)]
    pub from: u64,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: EventsArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match stream(&store, &args) {
        Ok(()) => exit::OK,
        Err(e) => fail(&e),
    }
}

fn stream(store: &Store, args: &EventsArgs) -> Result<(), StoreError> {
    let run_id = store.resolve_run(&args.run)?;
    let mut seen = args.from.saturating_sub(1);
    let mut version = None;
    // A gate's waiting line names the inputs an approval must give, from the plan.
    let plan = if args.json {
        None
    } else {
        crate::session::plan_of(store, &run_id)
    };
    loop {
        // The state first: events committed before it said "ended" are read below.
        let ended = ended(store.run_liveness(&run_id)?.state);
        let now = store.data_version()?;
        if version != Some(now) {
            version = Some(now);
            let events = store.events_after(&run_id, seen)?;
            if let Some(last) = events.last() {
                seen = last.seq;
            }
            print(&run_id, &events, args.json, plan.as_deref());
        }
        if !args.follow || ended {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// A followed run ends when it finished, or when no engine drives it any more.
fn ended(state: RunState) -> bool {
    state.is_final() || state == RunState::Interrupted
}

fn print(run_id: &str, events: &[Event], json: bool, plan: Option<&crate::workflow::Plan>) {
    if json {
        for e in events {
            crate::stdio::outln!("{}", event_json_line(run_id, e));
        }
    } else {
        for line in event_lines(run_id, events, plan) {
            crate::stdio::outln!("{line}");
        }
    }
}
