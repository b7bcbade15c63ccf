//! The simulator on fixed seeds: determinism, the bugs it found kept as regression
//! cases, the known bugs it finds when they are put back,
//! and a fixed budget of seeds run in CI (docs/simulator.md).
use baton_sim::{Bug, Config, Mix, Outcome};

fn run(seed: u64, actions: usize, bug: Option<Bug>) -> Outcome {
    run_mix(seed, actions, bug, Mix::All)
}

/// The scenarios as they were when the regression seeds failed (runs and their
/// commands only), which replay them unchanged.
fn runs_only(seed: u64, bug: Option<Bug>) -> Outcome {
    run_mix(seed, baton_sim::DEFAULT_ACTIONS, bug, Mix::RunsOnly)
}

fn run_mix(seed: u64, actions: usize, bug: Option<Bug>, mix: Mix) -> Outcome {
    let outcome = baton_sim::run(Config {
        seed,
        actions,
        bug,
        mix,
    })
    .unwrap_or_else(|e| panic!("seed {seed}: the simulation failed: {e}"));
    assert_eq!(outcome.config.seed, seed);
    outcome
}

/// Seeds the CI budget runs (two threads of half each), at the default actions,
/// unless `BATON_SIM_SEEDS` says how many (`.ci/run` sets it; docs/performance/workspace.md).
const BUDGET: u64 = 1000;

fn budget() -> u64 {
    match std::env::var("BATON_SIM_SEEDS") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("BATON_SIM_SEEDS takes a whole number of seeds, not `{v}`")),
        Err(_) => BUDGET,
    }
}
/// Seeds whose scenarios forge trigger rows a serve that does not prove them obeys.
const FORGED_TRIGGER_SEEDS: [u64; 3] = [5, 11, 12];
/// Seeds whose scenarios forge an ask's answer an asker that does not settle it obeys.
const FORGED_ANSWER_SEEDS: [u64; 2] = [1, 11];

#[test]
fn the_same_seed_gives_the_same_history_byte_for_byte() {
    let a = run(7, 120, None);
    let b = run(7, 120, None);
    assert!(a.history.len() > 120, "{} lines", a.history.len());
    assert!(a.events > 50, "only {} events", a.events);
    assert_eq!(a.history, b.history);
    assert_eq!(a.digest, b.digest);
    let other = run(8, 120, None);
    assert_ne!(a.digest, other.digest, "another seed, another history");
}

/// Found by the simulator (seed 1, `at_most_one_active_run_per_group`): a waiting run
/// replaced past `max_pending` was deleted from its group's rows, so a `retry` that
/// reopened it (a takeover) ran it beside the group's holder. Fixed in the store
/// (`coord/slots.rs`: the replaced run stays a member, out of the line).
#[test]
fn regression_seed_1_a_replaced_run_reopened_by_retry_holds_its_group_again() {
    let o = runs_only(1, None);
    assert_eq!(o.violation, None, "{:?}", o.report());
    // Before the fix this retry was taken over and r005 ran beside the holder r001.
    assert!(
        o.history
            .iter()
            .any(|l| l == "  retry on r005: refused (group_held)"),
        "the scenario no longer retries the replaced run r005: pick the seed again"
    );
}

/// Found by the simulator (seeds 19, 21 and 99, `at_most_one_active_run_per_group`):
/// an engine that claimed a run's cancel (a `max_pending` replacement's) and a
/// `retry` or `mark` of it in one wake-up finished the run and reopened it there,
/// never holding its concurrency group again, so it ran beside the group's holder.
/// Fixed in the engine (`engine::driver::reopen`, shared with the simulator): a
/// command that would reopen a finished run holds its group first, and is refused on
/// record while another run holds it.
#[test]
fn regression_seeds_19_21_99_a_run_reopened_in_its_engine_holds_its_group_again() {
    for (seed, refused) in [
        (19, "  #7 mark on r005: refused (group_held)"),
        (21, "  #24 retry on r027: refused (group_held)"),
        (99, "  #4 mark on r003: refused (group_held)"),
    ] {
        let o = runs_only(seed, None);
        assert_eq!(o.violation, None, "seed {seed}: {:?}", o.report());
        // Before the fix this command reopened the run beside the group's holder.
        assert!(
            o.history.iter().any(|l| l == refused),
            "seed {seed} no longer reopens the cancelled run in its engine: pick the seed again"
        );
        assert!(
            o.history
                .iter()
                .any(|l| l.contains("\"type\":\"command_refused\"")
                    && l.contains("concurrency group `deploy` is held by run")),
            "seed {seed}: the refusal is on the run's record"
        );
    }
}

/// A burst into a concurrency group admitted from one read made before the runs
/// are created (issue 61 point 3: "a burst starting two runs of a group").
#[test]
fn a_racy_admission_is_reported_as_two_active_runs_of_the_group() {
    for seed in [0, 1, 2] {
        let o = run(seed, baton_sim::DEFAULT_ACTIONS, Some(Bug::RacyAdmission));
        let v = o.violation.as_ref().expect("the racy admission is found");
        assert_eq!(
            v.invariant, "at_most_one_active_run_per_group",
            "seed {seed}"
        );
        let report = o.report().unwrap_or_default();
        assert!(report.contains(&format!("seed {seed} broke")), "{report}");
        assert!(report.contains("--bug racy-admission"), "{report}");
        // The same seed with the store's admission keeps the promise that far.
        let real = run(seed, v.action, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// An engine that obeys a command row without its proof (issue 61 point 3: "a forged
/// decision row obeyed"): the operators' forged rows are then recorded as decisions.
#[test]
fn obeying_a_row_without_proof_is_reported() {
    for seed in [4, 7] {
        let o = run(seed, baton_sim::DEFAULT_ACTIONS, Some(Bug::ObeyUnproven));
        let v = o
            .violation
            .as_ref()
            .expect("the forged row obeyed is found");
        assert_eq!(v.invariant, "no_row_obeyed_without_proof", "seed {seed}");
        assert!(v.detail.contains("forged-"), "{}", v.detail);
        let real = run(seed, v.action, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("\"type\":\"command_refused\"") && l.contains("forged-")),
            "seed {seed}: the real engine refuses the forged rows on record"
        );
    }
}

/// A serve that starts a run for a trigger row without proving it (issue 61 point 3:
/// "a forged schedule row obeyed"): the rows the operators forged start runs.
#[test]
fn a_forged_trigger_row_obeyed_is_reported() {
    for seed in FORGED_TRIGGER_SEEDS {
        let o = run(
            seed,
            baton_sim::DEFAULT_ACTIONS,
            Some(Bug::ObeyForgedTrigger),
        );
        let v = o
            .violation
            .as_ref()
            .expect("the forged trigger obeyed is found");
        assert_eq!(v.invariant, "no_forged_trigger_obeyed", "seed {seed}");
        let report = o.report().unwrap_or_default();
        assert!(report.contains("--bug obey-forged-trigger"), "{report}");
        // The real serve, over the whole scenario: the forged rows refused, the
        // proven triggers started.
        let real = run(seed, baton_sim::DEFAULT_ACTIONS, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("serve refused the trigger") && l.contains("no decision")),
            "seed {seed}: the real serve refuses the forged row"
        );
        assert!(
            real.history.iter().any(|l| l.contains("serve started")),
            "seed {seed}: a proven trigger starts its run"
        );
    }
}

/// An asker that takes the ask's row as its answer (issue 61 point 3: "a forged ask
/// answer"): an answer forged with SQL is obeyed.
#[test]
fn a_forged_ask_answer_obeyed_is_reported() {
    for seed in FORGED_ANSWER_SEEDS {
        let o = run(
            seed,
            baton_sim::DEFAULT_ACTIONS,
            Some(Bug::ObeyForgedAnswer),
        );
        let v = o
            .violation
            .as_ref()
            .expect("the forged answer obeyed is found");
        assert_eq!(v.invariant, "no_forged_answer_obeyed", "seed {seed}");
        assert!(
            o.report()
                .unwrap_or_default()
                .contains("--bug obey-forged-answer")
        );
        let real = run(seed, baton_sim::DEFAULT_ACTIONS, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history.iter().any(|l| l.contains("forged answer")),
            "seed {seed}: the real asker saw a forged answer too"
        );
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("ask a") && l.contains(": recorded")),
            "seed {seed}: an operator's answer is recorded"
        );
    }
}

/// Seeds whose scenarios stop an engine past its lease and continue it, with the
/// promise it breaks without the fence and the words of the fence's refusal.
const STALL_SEEDS: [(u64, &str, &str); 5] = [
    (
        2,
        "at_most_one_active_run_per_group",
        "lost concurrency group",
    ),
    (
        28,
        "at_most_one_active_run_per_group",
        "lost concurrency group",
    ),
    (9, "at_most_max_pending_wait", "lost its place"),
    (21, "at_most_max_pending_wait", "lost its place"),
    (25, "pool_never_over_capacity", "slot of pool"),
];

/// Found by the chaos campaign (seed 61, `at_most_one_active_run_per_group`; issue 61
/// point 6) and then by the simulator once it could stop engines: an engine stopped
/// past its lease lost its group to the next run and, continued, went on driving its
/// run beside that one; likewise its place in the group's line (past `max_pending`)
/// and its steps' pool slots. The store's fence (`Store::fence`) makes its next
/// commit or heartbeat fail instead; without it ([`Bug::Unfenced`]) the seeds break.
#[test]
fn an_engine_continued_after_what_it_held_went_on_is_reported_without_the_fence() {
    for (seed, promise, refusal) in STALL_SEEDS {
        let o = run_mix(
            seed,
            baton_sim::DEFAULT_ACTIONS,
            Some(Bug::Unfenced),
            Mix::Stalls,
        );
        let v = o.violation.as_ref().expect("the unfenced engine is found");
        assert_eq!(v.invariant, promise, "seed {seed}");
        let report = o.report().unwrap_or_default();
        assert!(report.contains("--bug unfenced --mix stalls"), "{report}");
        // The real store's fence, over the whole scenario: the continued engine stops
        // driving the run that lost what it held.
        let real = run_mix(seed, baton_sim::DEFAULT_ACTIONS, None, Mix::Stalls);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("stops driving") && l.contains(refusal)),
            "seed {seed}: a continued engine stops driving a run that {refusal}"
        );
    }
}

/// Found by the chaos campaign (seed 105, `every_run_ends`; issue 61 point 6): a
/// waiting run replaced past `max_pending` whose engine did not take the replacing
/// run's cancel in time (stopped, or waking too late: the cancel expired) waited
/// `queued` for a group it could never hold. Its engine now ends it when the store
/// says it was replaced (`Turn::Replaced`); without that ([`Bug::IgnoreReplaced`])
/// the settled world still holds such a run.
#[test]
fn a_replaced_run_left_waiting_is_reported_once_the_world_settled() {
    for (seed, mix) in [(3, Mix::All), (5, Mix::Stalls)] {
        let o = run_mix(
            seed,
            baton_sim::DEFAULT_ACTIONS,
            Some(Bug::IgnoreReplaced),
            mix,
        );
        let v = o
            .violation
            .as_ref()
            .expect("the replaced run left waiting is found");
        assert_eq!(v.invariant, "a_replaced_run_ends", "seed {seed}");
        let report = o.report().unwrap_or_default();
        assert!(report.contains("--bug ignore-replaced"), "{report}");
        let real = run_mix(seed, baton_sim::DEFAULT_ACTIONS, None, mix);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// A fork planned from its source's rows as they read (issue 61 point 3: "a fork of a
/// rewritten record"): in a keyed store whose finished runs someone rewrote with SQL,
/// the fork reuses a step as succeeded that its source recorded failed or cancelled.
/// The real fork checks the history against its chain first and refuses.
#[test]
fn a_fork_of_a_rewritten_record_is_reported_without_the_chain_check() {
    for seed in [2, 7] {
        let o = run_mix(
            seed,
            baton_sim::DEFAULT_ACTIONS,
            Some(Bug::UncheckedFork),
            Mix::Rewrites,
        );
        let v = o.violation.as_ref().expect("the unchecked fork is found");
        assert_eq!(
            v.invariant, "a_fork_reuses_what_its_source_recorded",
            "seed {seed}"
        );
        assert!(
            v.detail.contains("as succeeded, which recorded it"),
            "{}",
            v.detail
        );
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug unchecked-fork --mix rewrites"),
            "{report}"
        );
        // The real fork over the whole scenario: the rewritten records refused.
        let real = run_mix(seed, baton_sim::DEFAULT_ACTIONS, None, Mix::Rewrites);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("refused (its history is not what was committed)")),
            "seed {seed}: a fork or a command of a rewritten record is refused"
        );
    }
}

/// An executor that goes on running a step the engine froze (issue 61 point 2: "a
/// frozen step consumes no budget"): the steps frozen at the batch's token ceiling
/// (or by `hold --freeze`) go on writing usage lines.
#[test]
fn a_frozen_step_that_goes_on_spending_is_reported() {
    for seed in [0, 2] {
        let o = run(seed, baton_sim::DEFAULT_ACTIONS, Some(Bug::IgnoreFreeze));
        let v = o
            .violation
            .as_ref()
            .expect("the step spending while frozen is found");
        assert_eq!(v.invariant, "a_frozen_step_uses_nothing", "seed {seed}");
        let real = run(seed, baton_sim::DEFAULT_ACTIONS, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("\"type\":\"budget_exceeded\"")),
            "seed {seed}: the batch reaches its token ceiling"
        );
    }
}

/// Seeds on which a reader of the `steps` rows as they are reads a step behind its
/// events while its engine holds the rows' patches: a cancelled step read pending (8),
/// a retried one read in its second attempt's wait (12) and in its first's (20), each
/// after the action it names. 23 of the seeds 0–30 find it.
const DEFERRED_ROWS_SEEDS: [(u64, usize); 3] = [(8, 8), (12, 66), (20, 33)];

/// The steps' and attempts' rows an engine defers (issue 79): a reader that skips
/// the fold of the events past the run's watermark ([`Bug::StepsRowsAsTheyAre`]) reads
/// a step as it was before its last transitions; `Store::steps_now`, and the rows
/// once caught up at the end, read the fold of the events.
#[test]
fn a_reader_of_the_steps_rows_as_they_are_is_reported() {
    for (seed, action) in DEFERRED_ROWS_SEEDS {
        let o = run(
            seed,
            baton_sim::DEFAULT_ACTIONS,
            Some(Bug::StepsRowsAsTheyAre),
        );
        let v = o
            .violation
            .as_ref()
            .expect("the rows read behind are found");
        assert_eq!(
            v.invariant, "steps_read_as_their_events_folded",
            "seed {seed}"
        );
        // The patches wait on the seed's clock: the same action on any machine.
        assert_eq!(v.action, action, "seed {seed}: {}", v.detail);
        assert!(v.detail.contains("its events fold to"), "{}", v.detail);
        let report = o.report().unwrap_or_default();
        assert!(report.contains("--bug steps-rows-as-they-are"), "{report}");
        let real = run(seed, baton_sim::DEFAULT_ACTIONS, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// A remote run's scenario, whole.
fn remote(seed: u64, bug: Option<Bug>) -> Outcome {
    run_mix(seed, baton_sim::DEFAULT_ACTIONS, bug, Mix::Remote)
}

/// An SSH executor that takes a stop it sent for the step's end (issue 61 point 3:
/// "a remote step recorded cancelled that ran to its end"): a step that ran to its end
/// on its host while the stop of its timeout or a cancel was on its way over a
/// stalled connection is recorded stopped. The real executor records the host's exit.
#[test]
fn a_remote_stop_taken_for_the_end_is_reported() {
    for seed in [8, 10] {
        let o = remote(seed, Some(Bug::StopIsTheEnd));
        let v = o
            .violation
            .as_ref()
            .expect("the stop taken for the end is found");
        assert_eq!(v.invariant, "a_remote_end_is_the_hosts", "seed {seed}");
        assert!(
            v.detail.contains("ran to its end on its host"),
            "{}",
            v.detail
        );
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug stop-is-the-end --mix remote"),
            "{report}"
        );
        let real = remote(seed, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// An SSH executor that never records its jobs nor finds what a dead engine left
/// (issue 61 point 3: "a lock handed over while its holder's work lives", its holder's
/// engine dead and its job alive): the store hands the pool slot over, and a takeover
/// starts the step again, beside the job.
#[test]
fn a_job_the_store_does_not_know_is_reported_when_its_slot_or_step_is_handed_over() {
    for (seed, promise) in [
        (181, "pool_never_over_capacity"),
        (7, "a_step_runs_once_at_a_time"),
    ] {
        let o = remote(seed, Some(Bug::ForgetJob));
        let v = o.violation.as_ref().expect("the forgotten job is found");
        assert_eq!(v.invariant, promise, "seed {seed}: {}", v.detail);
        let real = remote(seed, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history.iter().any(|l| l.contains("re-attaches to")),
            "seed {seed}: a takeover re-attaches to a job"
        );
    }
}

/// A console's detach taken for a quit (issue 61 point 3: "detach restarting a step"):
/// the remote jobs on record are stopped, and the background engine starts the steps
/// again. The real detach leaves them running for the background engine.
#[test]
fn a_detach_that_stops_the_work_is_reported() {
    for (seed, promise) in [
        (12, "a_detach_stops_no_remote_step_on_record"),
        (7, "a_step_runs_once_at_a_time"),
    ] {
        let o = remote(seed, Some(Bug::DetachStops));
        let v = o.violation.as_ref().expect("the stopping detach is found");
        assert_eq!(v.invariant, promise, "seed {seed}: {}", v.detail);
        let real = remote(seed, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history.iter().any(|l| l.contains("in the background")),
            "seed {seed}: a background engine takes a detached run over"
        );
    }
}

/// Found by the simulator (`--mix remote`, issue 61 point 6), each fixed:
/// - seed 4 (`a_step_runs_once_at_a_time`): a detach stopped a remote step whose job
///   was not on record yet; the background engine cancelled the job it found and
///   started the step again beside it (`core::decide::detach`: left for the next
///   engine to adopt);
/// - seed 47 (`pool_never_over_capacity`): a dead engine's SSH job on record held
///   nothing when the engine had been on another host (`store::coord::left_running`);
/// - seed 250 (`one_run_of_a_group_on_the_hosts`): a dead engine's launch whose job
///   never reached the record held nothing (`step_launching`, recorded with the start);
/// - seeds 272 and 281 (`every_command_gets_a_verdict`): a detach's wake-up claimed a
///   command, then lost the run; the same process took the run again under the same
///   holder name, and a row claimed under the lease's own holder was not open, so it
///   stayed claimed with no verdict (`Store::claim_commands` opens an earlier drive's
///   claims once the run is taken again);
/// - seed 5248 (`a_ceiling_holds`, the check's own): a remote step past its timeout,
///   its stop on its way over a stalled connection, wrote on past the ceiling; being
///   stopped, it is not frozen (budget.md), so the check leaves it out as it does a
///   step deaf to its stop.
#[test]
fn regression_remote_seeds_keep_every_promise() {
    for seed in [4, 47, 250, 272, 281, 5248] {
        let o = remote(seed, None);
        assert_eq!(o.violation, None, "seed {seed}: {:?}", o.report());
    }
    // Seed 250: the next run of the group waits for the dead engine's launch.
    let o = remote(250, None);
    assert!(
        o.history
            .iter()
            .any(|l| l == "  r003 (deploy) by engine 2: Queued { holder: \"r001\" }, replacing []"),
        "the scenario no longer queues r003 behind r001's launch: pick the seed again"
    );
}

/// `--mix accounts` seeds 5078 and 5127 (`a_replaced_run_ends`): an engine died holding
/// 11 and 21 runs, and the settle's rounds (one resume an engine a round) ended before
/// a replaced run among them was resumed, so it still read `queued`. The settle now
/// resumes once more every run its rounds left untried, as the check's premise says.
#[test]
fn regression_accounts_seeds_settle_every_run() {
    if !crate::common::accounts_here("--mix accounts seeds 5078 and 5127") {
        return;
    }
    for seed in [5078, 5127] {
        let o = run_mix(seed, 150, None, Mix::Accounts);
        assert_eq!(o.violation, None, "seed {seed}: {:?}", o.report());
        assert!(
            o.history
                .iter()
                .any(|l| l.starts_with("settle: resumed once more")),
            "seed {seed} no longer leaves runs to the settle's last resumes: pick the seed again"
        );
    }
}

/// The CI budget (issue 61 point 4): [`budget`] seeds keep every promise, three in
/// sixteen with engines stopped past their lease ([`Mix::Stalls`]), one in sixteen
/// each with wake-ups interleaved at every store call ([`Mix::Interleave`]) and with
/// the CLI's processes interleaved too ([`Mix::Cli`]), one in eight of each: operators of
/// three OS accounts on a group store ([`Mix::Accounts`]; said `SKIPPED` without root
/// and the accounts), records rewritten in a keyed store ([`Mix::Rewrites`]), crashes
/// amid a group's spawns ([`Mix::Spawns`]); one in sixteen of each: remote steps on SSH
/// hosts and detaches ([`Mix::Remote`]), the same on Slurm or a batch scheduler
/// ([`Mix::Queues`]), attempts deaf to their stop, outputs, queue states and silent
/// hosts ([`Mix::Executors`]); and one in thirty-two of each: a schedule fired, paused
/// and backfilled ([`Mix::Schedules`]), serves that die, catch up and race
/// ([`Mix::Serves`]), a signed gate ([`Mix::Signed`]), and everything else
/// ([`Mix::All`]), one in two of whose seeds (32, 96, …) play the newest hands on a
/// run instead ([`Mix::Hands`]).
#[test]
fn a_fixed_budget_of_seeds_keeps_every_promise() {
    let seeds = budget();
    let half = seeds.div_ceil(2);
    let accounts = baton_sim::accounts_missing();
    // `.ci/run` made the accounts as root: there they must be there.
    if let (Some(why), Ok(_)) = (&accounts, std::env::var("BATON_SIM_REQUIRE_ACCOUNTS")) {
        panic!("BATON_SIM_REQUIRE_ACCOUNTS is set and --mix accounts cannot run: {why}");
    }
    if let Some(why) = &accounts {
        eprintln!(
            "SKIPPED: the budget's {} seeds of --mix accounts: {why}",
            (0..seeds).filter(|s| s % 8 == 7).count()
        );
    }
    let accounts = accounts.is_none();
    let reports: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = [(0, half), (half, seeds)]
            .into_iter()
            .map(|(from, to)| {
                s.spawn(move || {
                    let mut broken = Vec::new();
                    for seed in from..to {
                        let mix = match seed % 8 {
                            5 if seed % 16 == 13 => Mix::Executors,
                            1 | 5 => Mix::Stalls,
                            3 if seed % 16 == 11 => Mix::Cli,
                            3 => Mix::Interleave,
                            7 if !accounts => continue,
                            7 => Mix::Accounts,
                            2 => Mix::Rewrites,
                            6 => Mix::Spawns,
                            4 if seed % 16 == 12 => Mix::Queues,
                            4 => Mix::Remote,
                            _ => match seed % 32 {
                                8 => Mix::Schedules,
                                16 => Mix::Serves,
                                24 => Mix::Signed,
                                _ if seed % 64 == 32 => Mix::Hands,
                                _ => Mix::All,
                            },
                        };
                        let o = run_mix(seed, baton_sim::DEFAULT_ACTIONS, None, mix);
                        if o.violation.is_some() {
                            broken.push(o.report().unwrap_or_default());
                        }
                    }
                    broken
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    });
    assert!(reports.is_empty(), "{}", reports.join("\n"));
}

/// Seeds of `--mix cli` that broke a promise when the CLI's processes were first cut
/// at their store calls (docs/simulator.md, "What it found"), each kept:
/// - 18, 20, 56, 79 (`at_most_one_active_run_per_group`, `at_most_max_pending_wait`):
///   a takeover whose command ends the run (a cancel, a reject) read as its run's
///   recorded state from its lease on, its group not held, until its commit — or for
///   15 s once its process died. Found in baton, fixed: a takeover's lease is marked
///   until it settles (`Lease::taking_over`), and the run reads `interrupted` until
///   the commit that ends it; the checks leave no run out;
/// - 76 (`every_command_gets_a_verdict`): the simulator's takeover did not claim the
///   commands waiting once its effects were acted on, as `Driver::start_driving`
///   does, so a command an engine that died had claimed was never taken again (the
///   simulator's own mistake);
/// - 79 again (`every_command_gets_a_verdict`): a command a takeover claimed of a run
///   its command had ended, the takeover dying before its verdict, was taken by no one
///   (found in baton, fixed: a takeover that ends the run decides the commands waiting
///   in the commit that ends it, `Driver::start_driving`; no row is left out of the
///   check any more);
/// - 124: a takeover's commit of nothing left a cut armed for a later commit (the
///   simulator's own mistake).
#[test]
fn regression_cli_seeds_keep_every_promise() {
    for seed in [18, 20, 56, 76, 79, 124] {
        let o = run_mix(seed, baton_sim::DEFAULT_ACTIONS, None, Mix::Cli);
        assert_eq!(o.violation, None, "seed {seed}: {:?}", o.report());
    }
}

/// The findings of issue 75 put back in `--mix hands` (docs/simulator-bugs.md), each
/// reported by its invariant on seeds 3, 4 and 5, which keep every promise without it.
#[test]
fn the_newest_hands_bugs_put_back_are_reported() {
    for (bug, invariant) in [
        (
            Bug::ForgedChildLink,
            "a_child_step_takes_only_its_own_child",
        ),
        (Bug::ChildSecretsClear, "no_secret_leaves_its_steps"),
        (Bug::SharedStage, "a_reader_reads_what_was_checked"),
        (Bug::MarkLosesArtifacts, "a_mark_keeps_the_artifacts_left"),
        (Bug::ValueRunAsCode, "a_carried_value_stays_data"),
        (
            Bug::KilledChildFreesGroup,
            "a_parent_holds_its_group_until_its_child_s_steps_end",
        ),
        (
            Bug::TakeoverKeepsLeftovers,
            "no_step_of_a_killed_pair_runs_twice",
        ),
        (
            Bug::ChildIgnoresParentCancel,
            "a_parent_s_cancel_cancels_its_child",
        ),
        (
            Bug::LinkTrustsOperator,
            "a_link_decision_is_the_link_s_account_and_recorded_once",
        ),
    ] {
        for seed in [3, 4, 5] {
            let o = run_mix(seed, baton_sim::DEFAULT_ACTIONS, Some(bug), Mix::Hands);
            let v = o
                .violation
                .unwrap_or_else(|| panic!("seed {seed}: {} not found", bug.name()));
            assert_eq!(
                v.invariant,
                invariant,
                "seed {seed}, {}: {}",
                bug.name(),
                v.detail
            );
            let held = run_mix(seed, v.action, None, Mix::Hands);
            assert_eq!(held.violation, None, "seed {seed} without {}", bug.name());
        }
    }
}

/// Seeds 0–9 of `--mix hands` broke `a_child_step_takes_only_its_own_child` when the
/// simulator's engines used the handle `Store::init_group` returned, which reads its
/// store as private (a forged row naming a run that is no child is then taken, as a
/// private store's owner may): the simulator's own mistake, `baton store init` being
/// a process of its own. Kept: a forged link, a secret handed to a child, a swapped
/// stage, a mark after a crash, hostile values an imported step carries, a child
/// engine killed with its steps running, steps retried by their retry rules and link
/// requests (a decision naming another operator, sent twice with one request id, a
/// link dropped mid-frame, a hostile frame), each with the real code, keep every
/// promise. A decision sent again with its request id while its first stood was
/// recorded twice on seeds 0–6, 8 and 9 (found in baton, fixed:
/// `Store::submit_command_for` refuses it).
#[test]
fn regression_hands_seeds_keep_every_promise() {
    let outcomes = crate::common::hands_seeds();
    for o in outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    let said = |what: &str| {
        outcomes
            .iter()
            .flat_map(|o| &o.history)
            .filter(|l| l.contains(what))
            .count()
    };
    assert!(said("forged: run_parents") >= 10, "too few forged links");
    assert!(said("a member planted") >= 10, "too few swaps");
    assert!(said("marked succeeded") >= 5, "too few marks");
    assert!(
        said("entries carried as data") >= 10,
        "too few imported runs"
    );
    assert!(
        said("0 still ran at the step's end") >= 5,
        "too few child engines killed"
    );
    assert!(
        said("secret params [\"tok\"]") >= 10,
        "too few secrets handed"
    );
    // A parent and its child engine killed together, both taken over (38 on 0–9),
    // some with the child's first step succeeded before (23).
    assert!(
        said("taken over by its deploy attempt") >= 20,
        "too few killed pairs taken over"
    );
    assert!(
        said("[\"build\"] succeeded") >= 10,
        "too few killed pairs with a step succeeded"
    );
    // A parent cancelled with its child's step running (130 on 0–9, 68 at `ship`).
    assert!(
        said("the child ended Cancelled, the parent Cancelled, 0 step(s)") >= 60,
        "too few parents cancelled across their child"
    );
    // Retry rules: retries, and failures each rule refuses (the core's reasons).
    assert!(said(" retried: attempt ") >= 50, "too few retries");
    for refused in [
        "is one of its retry.never_exit_code",
        "is not one of its retry.exit_code",
        "it did not exit with a code, and its retry retries only exit codes",
        "not retried: retry.if: condition false",
    ] {
        let n = said(refused);
        assert!(n >= 10, "{n} failures refused with {refused:?}");
    }
    link_requests_were_made(&said);
    child_run_steps_were_retried(&said);
}

/// A child-run step retried across its child (181 parents on seeds 0–9): a failed
/// child's failed steps run again (`retry_failed`, 48), a child whose engine was killed
/// driven on (`take_over`, 39), parents that succeeded after more than one attempt
/// with their one child (49).
fn child_run_steps_were_retried(said: &dyn Fn(&str) -> usize) {
    let again = said(": RetryFailed(");
    assert!(again >= 30, "{again} failed children retried");
    let resumed = said(": Resume(");
    assert!(resumed >= 25, "{resumed} killed children driven on");
    let after = said("Succeeded after 2 attempt(s), 1 child run(s)")
        + said("Succeeded after 3 attempt(s), 1 child run(s)");
    assert!(after >= 30, "{after} retried parents succeeded");
}

/// Link requests: decisions on record (as this account: the invariant), each kind of
/// frame sent, and a request handed in twice refused.
fn link_requests_were_made(said: &dyn Fn(&str) -> usize) {
    assert!(
        said(": a decision (accepted") >= 10,
        "too few link decisions"
    );
    assert!(
        said("a decision sent twice (accepted; ended; refused") >= 3,
        "too few decisions sent twice"
    );
    assert!(said("a frame cut after") >= 10, "too few links dropped");
    assert!(
        said("asked (not delivered") >= 5,
        "too few drops asked about"
    );
    assert!(said("a frame of bad JSON") >= 5, "too few bad frames");
    assert!(
        said("a decision on another run id (refused") >= 5,
        "too few decisions on another run"
    );
}
