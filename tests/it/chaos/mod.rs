//! Issue 61 point 5: a chaos campaign with real processes, for what the simulator
//! (crates/sim) cannot express. For a while, real `baton` engines (bursts into a
//! concurrency group, gated runs, their resumes), a console in tmux, `baton serve`
//! with a schedule, steps on the two SSH hosts and the Grid Engine cell, while engines,
//! consoles, serves and sshd sessions are sent SIGKILL, SIGHUP or SIGSTOP (then
//! SIGCONT) at random and gates are approved and rejected through the CLI and the
//! console. Then every interrupted run is resumed and every gate the inbox lists
//! decided until every run has ended, and the promises are checked on the store, the
//! audit chain and the steps' own start and end stamps (`checks.rs`, `facts.rs`).
//!
//! The newest hands (issue 77 point 3): runs of `release` handed a secret param and
//! secrets from a file and a command, whose step runs a child workflow, child engines
//! killed alone; artifacts on the group store while another member races its
//! directory (`hands.rs`, `team_artifacts.rs`).
//!
//! Besides, operators' commands (holds and releases, forks of ended runs, push-backs
//! of a gate, answers to a step's `baton ask`) and rows forged with plain SQL (an
//! approve command row, a trigger row, an ask's answer; a decision in the audit table
//! of a copy of the store at the end; a run's text on the group store rewritten by
//! another member, then forked), each checked (`forge_checks.rs`, `ops.rs`,
//! `rewrite.rs`).
//!
//! It runs only when `BATON_CHAOS_MINUTES` is set (fractions allowed: how long the
//! chaos goes); without it the test says `SKIPPED:` and why. `.ci/run` sets it to one
//! minute, so the default CI suite runs it.
//! `BATON_CHAOS_SEED` (default 61) the seed of its schedule of actions (`plan.rs`),
//! printed with the command that runs it again; `BATON_CHAOS_KEEP=1` keeps the
//! campaign's directory (store, stamps, outputs) when a promise broke. The report is printed on stderr
//! (`-- --nocapture` shows it when the campaign holds). docs/simulator.md, "The chaos
//! campaign".
mod acts;
mod checks;
mod facts;
mod forge;
mod forge_checks;
mod hands;
mod ops;
pub(crate) mod plan;
pub(crate) mod procs;
mod report;
mod rewrite;
mod stamps;
mod team;
mod team_artifacts;
mod workflows;
mod world;
mod world_coverage;

use plan::Plan;
use report::Report;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use world::Campaign;

/// How often, while the chaos goes, the inbox is compared with every run's reading.
const SAMPLE: Duration = Duration::from_secs(10);
/// How long the end may take to bring every run to its end.
const SETTLE: Duration = Duration::from_secs(90);

/// The chaos's length and seed, from the environment; `None` when no length is set.
fn knobs() -> Option<(f64, u64)> {
    let minutes = std::env::var("BATON_CHAOS_MINUTES")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|m| *m > 0.0)?;
    let seed = std::env::var("BATON_CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(61);
    Some((minutes, seed))
}

#[test]
fn a_chaos_campaign_of_real_processes_keeps_every_promise() {
    let Some((minutes, seed)) = knobs() else {
        eprintln!(
            "SKIPPED: the chaos campaign runs with BATON_CHAOS_MINUTES set (e.g. BATON_CHAOS_MINUTES=1 cargo test --release --test it chaos:: -- --nocapture)"
        );
        return;
    };
    let length = Duration::from_secs_f64(minutes * 60.0);
    let mut c = Campaign::new();
    let header = format!(
        "chaos campaign: seed {seed}, {minutes} min of chaos, {}\n  again: BATON_CHAOS_SEED={seed} BATON_CHAOS_MINUTES={minutes} cargo test --release --test it chaos:: -- --nocapture",
        c.remotes_said()
    );
    eprintln!("{header}");
    let mut plan = Plan::new(seed);
    let start = Instant::now();
    let mut sample_at = start + SAMPLE;
    let mut actions = 0;
    while start.elapsed() < length {
        let (pause, action) = plan.next_action();
        c.pace(pause);
        c.act(action);
        actions += 1;
        c.sample_pending();
        if Instant::now() >= sample_at {
            c.sample_inbox();
            sample_at += SAMPLE;
            eprintln!(
                "chaos: {:.0} s, {actions} actions",
                start.elapsed().as_secs_f64()
            );
        }
    }
    c.continue_due(true);
    c.sample_inbox();
    let settling = Instant::now();
    c.settle(SETTLE);
    let settled = settling.elapsed();
    c.rewrite_at_end();
    let runs = facts::gather(&c.env.db());
    let stamps = stamps::read(&c.stamps).expect("the steps' stamps");
    let (chain, console_decisions) = facts::every_decision_on_the_chain(&c, &runs);
    let verdicts = vec![
        checks::nothing_finished_runs_twice(&runs, &stamps),
        checks::nothing_runs_unapproved(&runs, &stamps),
        checks::at_most_one_active_run_per_group(&runs, &stamps),
        facts::summary_is_the_events_replayed(&c.env.db(), &runs),
        chain,
        facts::nothing_asked_of_a_person_lost(&c),
        facts::at_most_max_pending_wait(&c),
        checks::every_run_ends(&runs),
        team::the_actor_is_the_os_account(&c),
        forge_checks::no_row_obeyed_without_proof(&c, &runs),
        forge_checks::no_forged_trigger_obeyed(&c),
        forge_checks::no_forged_answer_obeyed(&c),
        forge_checks::a_forged_audit_row_is_reported(&c),
        ops::nothing_runs_while_held(&runs, &stamps),
        ops::a_reused_step_never_starts(&runs, &stamps),
        rewrite::a_rewritten_record_is_never_run(&c),
        hands::a_child_step_takes_only_its_own_child(&runs, &c.hands),
        hands::no_secret_leaves_its_steps(c.env.path(), &c.hands),
        team_artifacts::a_reader_reads_what_was_checked(&c),
    ];
    let report = Report {
        header: format!(
            "{header}\n  {actions} actions in {:.0} s, settled in {:.0} s",
            length.as_secs_f64(),
            settled.as_secs_f64()
        ),
        tally: std::mem::take(&mut c.tally),
        forged: std::mem::take(&mut c.forged),
        ops: std::mem::take(&mut c.ops),
        decisions: std::mem::take(&mut c.decisions),
        runs: by_workflow(&runs),
        console_decisions,
        stamps,
        verdicts,
    };
    eprintln!("{report}");
    // A campaign that signalled nothing, ran nothing or decided nothing proves nothing.
    assert!(
        !report.tally.signals.is_empty() && !runs.is_empty() && !report.decisions.is_empty(),
        "the campaign did too little to prove anything:\n{report}"
    );
    if !report.held() && std::env::var_os("BATON_CHAOS_KEEP").is_some() {
        eprintln!(
            "BATON_CHAOS_KEEP: the campaign's directory is kept: {}",
            c.keep().display()
        );
    }
    // The report is on stderr above; the message ends with what broke.
    assert!(
        report.held(),
        "a promise broke ({}; the whole report above):\n{}",
        report.header.lines().next().unwrap_or_default(),
        report.broken()
    );
}

/// The runs' states counted, by workflow (the report's `runs:`).
fn by_workflow(runs: &[checks::RunFacts]) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut by: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in runs {
        *by.entry(r.workflow.clone())
            .or_default()
            .entry(format!("{:?}", r.state).to_lowercase())
            .or_default() += 1;
    }
    by
}
