//! `--mix serves` (serves that die, start again, catch up and race over one store) and
//! `--mix signed` (signed approvals, some with signatures that must not count): the
//! promises hold on fixed seeds, the scenarios reach what they are for, and the bug put
//! back is found (docs/simulator.md).
use baton_sim::{Bug, Config, DEFAULT_ACTIONS, Mix, Outcome};

fn run(seed: u64, actions: usize, bug: Option<Bug>, mix: Mix) -> Outcome {
    baton_sim::run(Config {
        seed,
        actions,
        bug,
        mix,
    })
    .unwrap_or_else(|e| panic!("seed {seed}: the simulation failed: {e}"))
}

fn any(o: &[Outcome], what: &str) -> bool {
    o.iter().any(|o| o.history.iter().any(|l| l.contains(what)))
}

/// Seeds of `--mix serves` that, together, reach each of the serves' fates (and each
/// `catch_up`).
const SERVES_SEEDS: [u64; 4] = [3, 4, 11, 14];

/// Serves killed at any point of their tick and started again, a second serve refused
/// while the first holds the store, and serves that both fire (one stopped past its
/// lease between its decision and its record): every slot starts at most once, and
/// missed slots as `catch_up` says.
#[test]
fn serves_that_die_restart_and_race_start_each_slot_as_decided() {
    let outcomes: Vec<Outcome> = SERVES_SEEDS
        .into_iter()
        .map(|seed| run(seed, DEFAULT_ACTIONS, None, Mix::Serves))
        .collect();
    for o in &outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    for what in [
        "killed (kill -9) before its tick",
        "killed (kill -9) between its decision and its record",
        "killed (kill -9) between its slots' record and their runs",
        "refused: another `baton serve`",
        "lost the store's serve lease",
        // Two serves fired at once, and the one whose record came second left the slot.
        "(recorded by another serve: left to it)",
        "catch_up latest",
        "catch_up all",
        "catch_up none",
        // A missed slot started by catch-up (`latest` or `all`) after a restart.
        "started (missed while no serve ran)",
        // A serve drives its slots' runs: they die with it, and the next serve
        // resumes them (`resume_unfinished`), or leaves a run a live engine or serve
        // drives to it; a serve continued past its lease stops driving its runs.
        "crashed with serve",
        "serve 0 resumes r",
        "serve 1 resumes r",
        "on sim-serve-0; left to it",
        "on sim-engine-1; left to it",
        "engine 4 stops driving",
    ] {
        assert!(
            any(&outcomes, what),
            "no scenario has `{what}`: pick the seeds again"
        );
    }
}

/// Seeds whose serves race on a slot (or start one a backfill row holds), which a
/// serve that ignores whether its record was the first starts again.
const RACE_SEEDS: [u64; 2] = [28, 35];

/// A serve that starts every slot it decided to start, whether its record of it was
/// the first or not (a catch-up that does not check the slot was already decided):
/// reported as `a_slot_starts_as_decided`.
#[test]
fn a_serve_that_starts_a_slot_another_serve_recorded_is_reported() {
    for seed in RACE_SEEDS {
        let o = run(
            seed,
            DEFAULT_ACTIONS,
            Some(Bug::StartRecordedSlot),
            Mix::Serves,
        );
        let v = o
            .violation
            .as_ref()
            .expect("the slot started against its record is found");
        assert_eq!(v.invariant, "a_slot_starts_as_decided", "seed {seed}");
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug start-recorded-slot --mix serves"),
            "{report}"
        );
        let real = run(seed, v.action, None, Mix::Serves);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

/// [`Bug::ResumeDriven`]: a serve that, as it starts, takes over every unfinished
/// run of a slot whatever its lease says. Reported as `a_driven_run_is_not_taken_over`
/// (21 of seeds 0–39): seed 18 takes a run `baton resume` gave to a live engine, seed
/// 15 one the other serve drives; the real serve leaves both to their driver.
#[test]
fn a_serve_that_resumes_a_driven_run_is_reported() {
    for (seed, driver) in [(18, "on sim-engine-1"), (15, "on sim-serve-0")] {
        let o = run(seed, DEFAULT_ACTIONS, Some(Bug::ResumeDriven), Mix::Serves);
        let v = o
            .violation
            .as_ref()
            .unwrap_or_else(|| panic!("seed {seed}: the driven run taken over went unseen"));
        assert_eq!(v.invariant, "a_driven_run_is_not_taken_over", "seed {seed}");
        assert!(v.detail.contains(driver), "seed {seed}: {}", v.detail);
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug resume-driven --mix serves"),
            "{report}"
        );
        let real = run(seed, v.action, None, Mix::Serves);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
        assert!(
            real.history.iter().any(|l| l.contains("; left to it")),
            "seed {seed}: the real serve left no run to its driver"
        );
    }
}

/// Seeds of `--mix signed` that, together, sign with each key and each signature that
/// must not count.
const SIGNED_SEEDS: [u64; 4] = [9, 12, 17, 18];

/// Signed gates decided with valid signatures and with signatures that must not count
/// (a key that is not an approver's, a key listed nowhere, another reason than the one
/// signed, a text that is no signature, none at all): only the valid ones are obeyed.
#[test]
fn a_signed_gate_obeys_only_valid_signatures() {
    let outcomes: Vec<Outcome> = SIGNED_SEEDS
        .into_iter()
        .map(|seed| run(seed, DEFAULT_ACTIONS, None, Mix::Signed))
        .collect();
    for o in &outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    for what in [
        "signed with the operator's key",
        "signed with sim-carol's key",
        "signed with sim-mallory's key (not an approver)",
        "signed with a key listed nowhere",
        "signed with the operator's key, over another reason",
        "signed with a text that is no signature",
        "sent unsigned",
        "\"type\":\"approval_given\"",
        "refused (bad_signature)",
        "refused (key_not_an_approver)",
        "refused (signature_required)",
    ] {
        assert!(
            any(&outcomes, what),
            "no scenario has `{what}`: pick the seeds again"
        );
    }
}
