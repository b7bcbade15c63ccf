//! `--mix executors` (docs/simulator.md): attempts that ignore their stop signal,
//! outputs read downstream, a scheduler's queue, launches that never reached their host
//! and a host that stops answering, on local, SSH, Slurm and batch executors by the
//! seed, and jobs their scheduler forgets or requeues; the bugs put back that only it
//! can show.
use baton_sim::{Bug, Config, Mix, Outcome};

fn executors(seed: u64, bug: Option<Bug>) -> Outcome {
    baton_sim::run(Config {
        seed,
        actions: baton_sim::DEFAULT_ACTIONS,
        bug,
        mix: Mix::Executors,
    })
    .unwrap_or_else(|e| panic!("seed {seed}: the simulation failed: {e}"))
}

/// Seeds of `--mix executors` run here (a quarter on each kind of executor), besides
/// the one in sixteen of the simulator's budget (`sim.rs`).
const SEEDS: u64 = 24;

/// Every seed keeps every promise, and between them the scenarios do what the mix is
/// for: attempts ignore their stop, jobs wait in the queue, a launch never reaches its
/// host, the host stops answering (and a resume is refused for it), downstream steps
/// read outputs, on each kind of executor; and on Slurm and batch schedulers, jobs the
/// scheduler forgets (recorded lost, whether accounting kept their end or not) and
/// jobs it requeues while they run, preempted or held then released (their states on
/// record, followed to their end), while `a_lost_job_is_recorded_lost` and
/// `a_succeeded_step_never_starts_again` hold.
#[test]
fn executors_that_ignore_stops_queue_go_silent_and_lose_jobs_keep_every_promise() {
    let half = SEEDS / 2;
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let workers: Vec<_> = [(0, half), (half, SEEDS)]
            .into_iter()
            .map(|(from, to)| {
                s.spawn(move || {
                    (from..to)
                        .map(|seed| executors(seed, None))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    });
    let reports: Vec<String> = outcomes.iter().filter_map(Outcome::report).collect();
    assert!(reports.is_empty(), "{}", reports.join("\n"));
    let saw = |what: &str| {
        outcomes
            .iter()
            .filter(|o| o.history.iter().any(|l| l.contains(what)))
            .count()
    };
    for (what, at_least) in [
        ("ignores its stop signal", SEEDS as usize / 2),
        ("on Ssh", 2),
        ("on Slurm", 2),
        ("on Batch", 2),
        ("(Resources)", 2),
        ("(JobHeldUser)", 2),
        ("\"type\":\"step_job_state\"", 2),
        ("never reaches its host", 2),
        ("the remote host stops answering", 2),
        // A batch `status` that fails meanwhile, as its executor shows it.
        ("`status` not answering since", 2),
        ("could not be asked what the stopped engine left there", 1),
        ("\"outputs\":{\"note\"", SEEDS as usize / 2),
        ("read build's version", 1),
        ("read extract's version", SEEDS as usize / 2),
        ("\"type\":\"step_reused\"", 2),
        // The schedulers' own acts (`crates/sim/src/sched.rs`), on Slurm and batch seeds.
        ("forgotten by its scheduler", 3),
        ("(NODE_FAIL)", 1),
        ("(no accounting)", 1),
        ("(preempted)", 2),
        ("(held, then released)", 2),
        // What the record says of them: the requeue's states, a forgotten job lost.
        ("\"state\":\"REQUEUE_HOLD\"", 1),
        ("\"state\":\"Rq\"", 1),
        ("\"state\":\"hRq\"", 1),
        ("the Slurm job ended NODE_FAIL", 1),
        ("vanished without an exit code", 1),
        ("left the scheduler without an exit code", 1),
        // A lost step that must not run twice waits for a person; one that may is
        // retried.
        ("not run again by its retry (idempotent = false)", 2),
    ] {
        let n = saw(what);
        assert!(n >= at_least, "only {n} of {SEEDS} scenarios have `{what}`");
    }
}

/// An engine that records a stop as the attempt's end once its TERM is sent (the
/// real engine waits for the process to exit, KILL after the grace): an attempt that
/// ignores its TERM is recorded ended while it runs on.
#[test]
fn a_stop_recorded_as_the_end_before_the_process_exits_is_reported() {
    for seed in TERM_SEEDS {
        let o = executors(seed, Some(Bug::TermIsTheEnd));
        let v = o.violation.as_ref().expect("the early end is found");
        assert_eq!(
            v.invariant, "a_step_ends_when_its_process_exits",
            "seed {seed}: {}",
            v.detail
        );
        assert!(
            v.detail.contains("while its process still runs"),
            "{}",
            v.detail
        );
        let report = o.report().unwrap_or_default();
        assert!(report.contains(&format!("seed {seed} broke")), "{report}");
        assert!(
            report.contains("--bug term-is-the-end --mix executors"),
            "{report}"
        );
        let real = executors(seed, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// An executor that reads outputs from one `$BATON_OUTPUT` per step, not per attempt:
/// a retried step is recorded with what its earlier attempt wrote.
#[test]
fn outputs_of_an_earlier_attempt_recorded_as_the_later_ones_are_reported() {
    for seed in STALE_SEEDS {
        let o = executors(seed, Some(Bug::StaleOutputs));
        let v = o.violation.as_ref().expect("the stale outputs are found");
        assert_eq!(
            v.invariant, "an_attempts_outputs_are_its_own",
            "seed {seed}: {}",
            v.detail
        );
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug stale-outputs --mix executors"),
            "{report}"
        );
        let real = executors(seed, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// An executor that reads a job its scheduler requeued as ended (`REQUEUED` taken for
/// an infrastructure end, as `PREEMPTED` is): the attempt is recorded lost while the
/// scheduler runs its job again from the start. (The same seeds keep every promise
/// with the real reading: they are among the seeds of the test above.)
#[test]
fn a_requeued_job_read_as_ended_is_reported() {
    for seed in REQUEUE_SEEDS {
        let o = executors(seed, Some(Bug::RequeueIsTheEnd));
        let v = o
            .violation
            .as_ref()
            .expect("the requeue read as an end is found");
        assert_eq!(
            v.invariant, "a_step_ends_when_its_process_exits",
            "seed {seed}: {}",
            v.detail
        );
        assert!(v.detail.contains("ended PREEMPTED"), "{}", v.detail);
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug requeue-is-the-end --mix executors"),
            "{report}"
        );
    }
}

/// An executor that takes a job that left the queue without an exit code for a
/// success: a job its scheduler forgot is recorded exited 0.
#[test]
fn a_forgotten_job_recorded_as_a_success_is_reported() {
    for seed in FORGOTTEN_SEEDS {
        let o = executors(seed, Some(Bug::ForgottenIsDone));
        let v = o
            .violation
            .as_ref()
            .expect("the forgotten job's success is found");
        assert_eq!(
            v.invariant, "a_lost_job_is_recorded_lost",
            "seed {seed}: {}",
            v.detail
        );
        assert!(
            v.detail.contains("without an exit code") && v.detail.contains("exit_code: 0"),
            "{}",
            v.detail
        );
    }
}

/// A batch executor that reads a `status` that fails as "the job left" (as baton did
/// before issue 61 point 6): 10 s into the scheduler's outage, a job still running is
/// recorded lost (and an idempotent step retried beside it). The same seeds keep every
/// promise with the real reading, a failing `status` taken for no answer, and show the
/// state that says since when it has not answered.
#[test]
fn an_outage_read_as_the_jobs_end_is_reported() {
    for seed in OUTAGE_SEEDS {
        let o = executors(seed, Some(Bug::OutageIsGone));
        let v = o
            .violation
            .as_ref()
            .expect("the outage read as an end is found");
        assert_eq!(
            v.invariant, "a_step_ends_when_its_process_exits",
            "seed {seed}: {}",
            v.detail
        );
        assert!(v.detail.contains("left the scheduler"), "{}", v.detail);
        let report = o.report().unwrap_or_default();
        assert!(report.contains(&format!("seed {seed} broke")), "{report}");
        assert!(
            report.contains("--bug outage-is-gone --mix executors"),
            "{report}"
        );
        let real = executors(seed, None);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history
                .iter()
                .any(|l| l.contains("not answering since")),
            "seed {seed}: the state shown in the outage"
        );
    }
}

const REQUEUE_SEEDS: [u64; 2] = [2, 6];
const FORGOTTEN_SEEDS: [u64; 2] = [2, 19];
const TERM_SEEDS: [u64; 2] = [15, 22];
const STALE_SEEDS: [u64; 2] = [13, 21];
const OUTAGE_SEEDS: [u64; 2] = [45, 109];

/// The checks' own finding (`--mix queues` seed 7, a batch scheduler): a job at the
/// budget's ceiling (r036's `load`, its gate at 1,601 tokens of 1,500) ran on past it
/// (to 5,475), as budget.md documents ("a job of a generic batch
/// system […] cannot be frozen: the gate opens and it runs on"), and
/// `a_ceiling_holds` bounded it as a freezable step's. It now leaves such steps out of
/// the bound and bounds the run's other steps (`budget::a_ceiling_holds`); the scenario
/// keeps every promise and its batch step ran past the ceiling.
#[test]
fn regression_queues_seed_7_a_batch_job_runs_on_past_the_gate() {
    let o = baton_sim::run(Config {
        seed: 7,
        actions: baton_sim::DEFAULT_ACTIONS,
        bug: None,
        mix: Mix::Queues,
    })
    .unwrap_or_else(|e| panic!("seed 7: the simulation failed: {e}"));
    assert_eq!(o.violation, None, "{:?}", o.report());
    assert!(
        o.history
            .iter()
            .any(|l| l.starts_with("  r036 ") && l.contains("\"tokens\":5475")),
        "the scenario no longer runs r036's load past its ceiling: pick the seed again"
    );
}

/// The checks' own finding (`--mix executors`, once `extract` was not idempotent): a
/// step that hung past its timeout and ignored its TERM reached the ceiling while
/// being stopped; the core does not freeze a step being stopped (`can_freeze`: "it is
/// being stopped"), so it wrote one more line before its KILL, past what
/// `a_ceiling_holds` allowed. budget.md says so, and the check leaves such a step out
/// of the bound; seed 1715 keeps every promise, and r017's `extract` (1,515 tokens of
/// 1,500 at the ceiling) still wrote its line past it.
#[test]
fn regression_executors_seed_1715_a_step_being_stopped_is_not_frozen() {
    let o = executors(1715, None);
    assert_eq!(o.violation, None, "{:?}", o.report());
    assert!(
        o.history
            .iter()
            .any(|l| l.starts_with("  r017 ") && l.contains("\"tokens\":1818")),
        "the scenario no longer runs r017's extract past its ceiling: pick the seed again"
    );
}

/// The checks' own finding (`--mix executors` seed 486, once `extract` was not
/// idempotent): a detach froze a local `extract` and the background engine recorded it
/// interrupted (its process stopped); a person's mark and `retry --failed` started
/// attempt 2, whose lines `a_frozen_step_uses_nothing` read as the frozen step's. A
/// freeze now ends when its step leaves `running`.
#[test]
fn regression_executors_seed_486_a_freeze_ends_with_its_attempt() {
    let o = executors(486, None);
    assert_eq!(o.violation, None, "{:?}", o.report());
    assert!(
        o.history.iter().any(|l| l.starts_with("  r007 ")
            && l.contains("\"type\":\"step_usage\",\"step\":\"extract\",\"attempt\":2")),
        "the scenario no longer runs r007's extract again after its frozen detach: pick the seed again"
    );
}

/// The mixes of this session replay byte for byte as the others do: each seed's state
/// and key files, the serves' restarts and the jobs' queues come from the seed alone.
#[test]
fn the_same_seed_of_executors_serves_and_signed_gives_the_same_history() {
    for mix in [Mix::Executors, Mix::Serves, Mix::Signed] {
        let run = |seed| {
            baton_sim::run(Config {
                seed,
                actions: 120,
                bug: None,
                mix,
            })
            .unwrap_or_else(|e| panic!("{mix:?} seed {seed}: {e}"))
        };
        let (a, b) = (run(21), run(21));
        assert!(a.history.len() > 120, "{mix:?}: {} lines", a.history.len());
        assert_eq!(a.history, b.history, "{mix:?}");
        assert_eq!(a.digest, b.digest, "{mix:?}");
        assert_ne!(
            a.digest,
            run(22).digest,
            "{mix:?}: another seed, another history"
        );
    }
}

/// A step on a local, SSH, Slurm or batch executor (seeds 0 to 3, one kind each) is
/// sent where the engine's own dispatch sends it (`baton_engine::hands`, the driver's:
/// which executor, start or re-attach, a cancel only to an executor the run has): the
/// simulated hosts play a job on the executor it chose, of that executor's kind, and
/// every start, re-attach and cancel of theirs was dispatched there.
#[test]
fn the_simulated_hosts_are_reached_through_the_engines_own_dispatch() {
    for (seed, kind) in [
        (0, None),
        (1, Some("Ssh")),
        (2, Some("Slurm")),
        (3, Some("Batch")),
    ] {
        let before = baton_engine::hands::dispatched_here();
        let o = executors(seed, None);
        assert_eq!(o.violation, None, "seed {seed}: {:?}", o.report());
        let dispatched = baton_engine::hands::dispatched_here() - before;
        let played = |k: &str| {
            o.history
                .iter()
                .filter(|l| l.contains(&format!(" on {k}")))
                .count()
        };
        let started = o.history.iter().filter(|l| l.contains(" attempt ")).count();
        let reattached = o
            .history
            .iter()
            .filter(|l| l.contains(" re-attaches to "))
            .count();
        assert!(
            dispatched as usize >= reattached && dispatched >= 10,
            "seed {seed}: {dispatched} dispatched, {started} attempts said, {reattached} re-attached"
        );
        for k in ["Ssh", "Slurm", "Batch"] {
            let n = played(k);
            assert_eq!(
                n > 0,
                kind == Some(k),
                "seed {seed}: {n} jobs played on {k}"
            );
        }
    }
}
