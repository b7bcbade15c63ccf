//! `baton history WORKFLOW STEP [--last N] [--json]`: a step's durations across the
//! newest runs of its workflow (a sparkline, p50 and p95), its failure rate and the runs
//! where it was slowest (`model::step_trend`, read by `Store::step_runs`: the newest N
//! runs only, in bounded time however long the store's history).
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::step_trend::{DEFAULT_RUNS, MAX_RUNS, StepTrend};
use crate::model::time::human_duration;
use crate::model::{StepState, Timestamp};
use clap::Args;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton history nightly build\n  baton history release deploy --last 1000\n  baton history nightly build --json | jq .p95_ms"
)]
pub struct HistoryArgs {
    /// The workflow's name (as `baton runs` shows it)
    pub workflow: String,
    /// The step's id
    pub step: String,
    /// Read the newest N runs of the workflow (at most 10000)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RUNS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_RUNS)))]
    pub last: u32,
    /// Print the runs and the figures as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: HistoryArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let runs = match store.step_runs(&args.workflow, &args.step, args.last) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let clean = |s: &str| crate::sanitize::one_line(&crate::sanitize::strip_to_plain(s.as_bytes()));
    if runs.is_empty() {
        crate::stdio::errln!(
            "no run of workflow `{}` has a step `{}` (baton runs --workflow {} lists its runs)",
            clean(&args.workflow),
            clean(&args.step),
            clean(&args.workflow)
        );
        return exit::FAILED;
    }
    let trend = StepTrend::of(runs);
    if args.json {
        return match crate::sanitize::json(&trend) {
            Ok(j) => {
                crate::stdio::outln!("{j}");
                exit::OK
            }
            Err(e) => {
                crate::stdio::errln!("error: cannot write the history as JSON: {e}");
                exit::FAILED
            }
        };
    }
    let text = text(
        &trend,
        &clean(&args.workflow),
        &clean(&args.step),
        Timestamp::now(),
    );
    crate::stdio::out!("{text}");
    exit::OK
}

fn ms(d: Option<u64>) -> String {
    d.map_or_else(|| "–".into(), |d| human_duration(Duration::from_millis(d)))
}

/// The history as printed (names already sanitised).
pub(crate) fn text(t: &StepTrend, workflow: &str, step: &str, now: Timestamp) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "step `{step}` of workflow `{workflow}`: the newest {} runs with it",
        t.runs.len()
    );
    let _ = writeln!(s, "durations  {}  (oldest → newest)", t.sparkline(60));
    let rate = t
        .failure_pct()
        .map_or_else(|| "no run ended".into(), |p| format!("{p:.1}%"));
    let _ = writeln!(
        s,
        "p50 {} · p95 {} · failed {} of {} ended ({rate})",
        ms(t.p50_ms),
        ms(t.p95_ms),
        t.failed,
        t.ended
    );
    if t.slowest.is_empty() {
        return s;
    }
    let _ = writeln!(s, "slowest:");
    let offset = now.local_offset();
    for &i in &t.slowest {
        let r = &t.runs[i];
        let retried = if r.attempts > 1 {
            format!(" (attempt {})", r.attempts)
        } else {
            String::new()
        };
        let state = if r.state == StepState::Succeeded {
            String::new()
        } else {
            format!("  {}", r.state.as_str())
        };
        let _ = writeln!(
            s,
            "  {}  {}  {:>8}{state}{retried}",
            r.run_id,
            r.started_at.wall(now, offset),
            ms(r.duration_ms)
        );
    }
    s
}
