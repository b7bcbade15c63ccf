//! The simulator's newest mixes on fixed seeds (issue 61 point 1): wake-ups
//! interleaved at every store call with deaths between any two calls and inside a
//! commit (`--mix interleave`), operators of several OS accounts on a group store
//! (`--mix accounts`, their engines starting and driving their own runs, and a
//! member's rewrite of another's `runs` row), and a schedule fired, paused and backfilled (`--mix
//! schedules`). docs/simulator.md.
use crate::common::said;
use baton_sim::{Bug, Config, Mix, Outcome};

fn run(seed: u64, mix: Mix) -> Outcome {
    baton_sim::run(Config {
        seed,
        actions: baton_sim::DEFAULT_ACTIONS,
        bug: None,
        mix,
    })
    .unwrap_or_else(|e| {
        panic!(
            "seed {seed} --mix {}: the simulation failed: {e}",
            mix.name()
        )
    })
}

#[test]
fn interleaved_wake_ups_replay_byte_for_byte_and_die_at_every_kind_of_point() {
    // Seed 0 dies inside a commit since verdicts go into it (seed 2 did before).
    let seeds = [0, 4, 7];
    let outcomes: Vec<Outcome> = seeds.iter().map(|&s| run(s, Mix::Interleave)).collect();
    for o in &outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    let again = run(0, Mix::Interleave);
    assert_eq!(
        again.digest, outcomes[0].digest,
        "seed 0 --mix interleave replays"
    );
    // Each kind of death the mix adds happens in these seeds (if the mix's draws
    // change, pick seeds where each happens again).
    for kind in [
        "crashed between two store calls of its wake-up",
        "crashed in its wake-up's commit, inside its transaction",
        "crashed in its wake-up's commit, after its commit, before its witness",
    ] {
        assert!(
            said(&outcomes, kind) > 0,
            "no engine {kind} in seeds {seeds:?}"
        );
    }
}

/// Seed 77 (`a_frozen_step_uses_nothing`, the simulator's own mistake, kept as a
/// regression case): the inputs of one wake-up were decided at the instants their
/// store calls were made, so usage written before a freeze reached the step read as
/// spent after it. The driver reads its clock once per wake-up; so does the mix now.
#[test]
fn regression_interleave_seed_77_decides_a_wake_up_at_one_instant() {
    let o = run(77, Mix::Interleave);
    assert_eq!(o.violation, None, "{:?}", o.report());
}

#[test]
fn members_decide_under_their_own_accounts_and_a_member_s_row_in_another_s_name_is_refused() {
    if !crate::common::accounts_here("--mix accounts seeds 0-7") {
        return;
    }
    let outcomes: Vec<Outcome> = (0..8).map(|seed| run(seed, Mix::Accounts)).collect();
    for o in &outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    for member in ["gmalice", "gmbob"] {
        assert!(
            said(&outcomes, &format!("  as {member}")) > 0,
            "{member} never acted"
        );
    }
    // A member's forged row reached an engine and was refused for its proof.
    let refused = outcomes.iter().any(|o| {
        o.history.iter().filter_map(|l| forged_row(l)).any(|id| {
            let verdict = format!("  #{id} ");
            o.history
                .iter()
                .any(|l| l.starts_with(&verdict) && l.ends_with("refused (unproven)"))
        })
    });
    assert!(
        refused,
        "no member's forged row was refused as unproven in seeds 0..8"
    );
    // Engines and starters are accounts too: each member started runs, its engine
    // sealed them, and a member's rewrite of another's `runs` row was refused by the
    // starter's seal, never obeyed.
    for member in ["gmalice", "gmbob"] {
        assert!(
            said(&outcomes, &format!("\"operator\":\"{member}\",\"params\"")) > 0,
            "{member} never started a run"
        );
    }
    assert!(
        said(&outcomes, "'s run) with SQL") > 0,
        "no runs row rewritten"
    );
    // A refusal of a run that was rewritten, named in the same scenario (the simulator
    // fails a scenario whose unrewritten run is refused).
    let refused_rewritten = outcomes.iter().any(|o| {
        let rewritten: Vec<&str> = (o.history.iter())
            .filter(|l| l.contains("'s run) with SQL"))
            .filter_map(|l| l.split(" rewrote ").nth(1)?.split("'s ").next())
            .collect();
        o.history.iter().any(|l| {
            l.contains("refused (its history is not what was committed)")
                && rewritten
                    .iter()
                    .any(|r| l.contains(&format!(" {r} ")) || l.contains(&format!(" {r}:")))
        })
    });
    assert!(refused_rewritten, "no rewritten runs row was refused");
}

/// A starter's engine that takes a group store's `runs` row as it reads
/// ([`Bug::TrustRunsRow`]: its seal made afresh over the row): a member's rewrite of
/// another's run (its workflow text, params or starter) is obeyed, reported as
/// `a_rewritten_record_is_not_obeyed`; the real engine refuses it. The same seed
/// replays byte for byte.
#[test]
fn a_rewritten_runs_row_obeyed_is_reported_without_the_starter_s_seal() {
    if !crate::common::accounts_here("Bug::TrustRunsRow seeds 3 and 12") {
        return;
    }
    for seed in [3, 12] {
        let o = bugged(seed, Bug::TrustRunsRow);
        let v = o.violation.as_ref().expect("the rewritten row is obeyed");
        assert_eq!(
            v.invariant, "a_rewritten_record_is_not_obeyed",
            "seed {seed}"
        );
        let report = o.report().unwrap_or_default();
        assert!(
            report.contains("--bug trust-runs-row --mix accounts"),
            "{report}"
        );
        assert_eq!(
            bugged(seed, Bug::TrustRunsRow).digest,
            o.digest,
            "seed {seed}"
        );
        let real = run(seed, Mix::Accounts);
        assert_eq!(real.violation, None, "seed {seed}: {:?}", real.report());
    }
}

fn bugged(seed: u64, bug: Bug) -> Outcome {
    baton_sim::run(Config {
        seed,
        actions: baton_sim::DEFAULT_ACTIONS,
        bug: Some(bug),
        mix: Mix::Accounts,
    })
    .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

/// The row id of a history line `  member's forged row #ID on RUN: …`.
fn forged_row(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("  member's forged row #")?;
    rest.split_once(' ').map(|(id, _)| id)
}

#[test]
fn a_schedule_fires_pauses_and_backfills_as_decided() {
    let outcomes: Vec<Outcome> = [2, 7].iter().map(|&s| run(s, Mix::Schedules)).collect();
    for o in &outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    for what in [
        "  serve: deploy#1 slot t+10000 started",
        "0 paused",
        "  pause of deploy#1",
        "  resume of deploy#1",
        "  forged pause row of deploy#1",
        "  backfill of deploy#1: ",
        "  forged backfill row of deploy#1",
    ] {
        assert!(
            said(&outcomes, what) > 0,
            "seeds 2 and 7 --mix schedules never said `{what}`"
        );
    }
}

/// A serve that goes by the schedule's row (`--bug obey-pause-row`) is found: a resume
/// written into the row with SQL while the schedule is paused on record makes its next
/// slot start (issue 61 point 3: "a forged schedule row obeyed").
#[test]
fn a_serve_that_obeys_a_forged_resume_row_is_reported() {
    let o = baton_sim::run(Config {
        seed: 6,
        actions: baton_sim::DEFAULT_ACTIONS,
        bug: Some(baton_sim::Bug::ObeyPauseRow),
        mix: Mix::Schedules,
    })
    .unwrap_or_else(|e| panic!("seed 6: {e}"));
    let v = o.violation.as_ref().expect("the forged resume is obeyed");
    assert_eq!(v.invariant, "a_slot_starts_as_decided", "{:?}", o.report());
    assert!(
        v.detail.contains("while the schedule is paused"),
        "{}",
        v.detail
    );
    let report = o.report().unwrap_or_default();
    assert!(
        report.contains("--bug obey-pause-row --mix schedules"),
        "{report}"
    );
    let real = run(6, Mix::Schedules);
    assert_eq!(real.violation, None, "{:?}", real.report());
}

/// The remote steps on a Slurm cluster (seed 0) and a batch scheduler (seed 1) instead
/// of SSH hosts: jobs outlive their engine, are re-attached to and handed on by
/// detaches alike.
#[test]
fn jobs_on_slurm_and_a_batch_scheduler_keep_every_promise() {
    let outcomes: Vec<Outcome> = [0, 1].iter().map(|&s| run(s, Mix::Queues)).collect();
    for o in &outcomes {
        assert_eq!(o.violation, None, "{:?}", o.report());
    }
    for (o, kind) in outcomes.iter().zip(["slurm", "batch"]) {
        let launched = o
            .history
            .iter()
            .filter(|l| l.contains("\"step_launching\""))
            .count();
        assert!(launched > 0, "no job launched on the {kind} executor");
    }
    assert!(
        said(&outcomes, "in the background") > 0,
        "no detach handed a run on"
    );
}

/// The simulated engines' wake-ups are the engine's own (`baton_engine::wake`), as the
/// driver's are (`driver::doors::tests`): every one of them, plain or interleaved,
/// is a `wake::Stepper` (`wake::wake_up` steps one to its end; `--mix interleave`
/// one store call at a time) and commits through it, and the simulator's sources
/// decide and commit nowhere else; its runs are made by the session's own code
/// (`session::concurrency::admit`, what `baton run` calls), never by a copy that opens
/// a core or admits a run into its group itself.
#[test]
fn the_simulated_engines_wake_up_through_the_engines_own_code() {
    use baton_engine::wake::path;
    for mix in [Mix::All, Mix::Interleave] {
        let before = baton_engine::wake::wake_ups_here();
        let whole = baton_engine::wake::woken_up_here();
        path::trace(true);
        let o = run(7, mix);
        let each = path::trace_each(false);
        // Each engine process's path on each run it held takes the driver's path
        // through the wake-up's pieces, its starts on the runs it takes too
        // (`driver::doors::tests` holds the driver to the same order). An
        // interleaved engine's path may end inside a piece: it died between two of
        // its store calls, or lost the run.
        let (mut starts, mut cut) = (0, 0);
        for (who, traced) in &each {
            let checked = match mix {
                Mix::Interleave => path::check_cut(traced),
                _ => path::check(traced),
            };
            assert_eq!(checked, Ok(()), "--mix {}: {who}: {traced:?}", mix.name());
            starts += traced.iter().filter(|p| **p == path::Piece::Start).count();
            cut += usize::from(path::check(traced).is_err());
        }
        assert!(
            each.len() > 10,
            "--mix {}: {} paths",
            mix.name(),
            each.len()
        );
        assert!(starts > 10, "--mix {}: {starts} starts", mix.name());
        if mix == Mix::Interleave {
            assert!(cut > 0, "--mix interleave: no engine died amid a wake-up");
        }
        let woken = baton_engine::wake::wake_ups_here() - before;
        assert!(woken > 50, "--mix {}: {woken} wake-ups", mix.name());
        // A wake-up is the engine's whole one (`wake::Stepper`: gathered in its one
        // order, decided, committed, acted on), as the driver's loop's is.
        let whole = baton_engine::wake::woken_up_here() - whole;
        assert!(whole > 50, "--mix {}: {whole} whole wake-ups", mix.name());
        assert!(o.events > 50, "--mix {}: {} events", mix.name(), o.events);
    }
    // `hands/` (`--mix hands`) drives cores of child runs, artifacts and secrets with
    // no engine and so no wake-up: the decisions it checks are the core's and the
    // store's (docs/simulator-hands.md says what it leaves to real processes).
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src.clone()];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("hands") {
                    dirs.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // The doors too: a wake-up's record is the engine's (`wake::record`).
        for copy in [
            "commit_decided(",
            "core.handle(",
            "hold_group_to_reopen(",
            "create_run_in_group(",
            "start_as(",
            "admit_queued(",
            "claim_commands(",
            "take_pool_slot(",
            "wake::admission(",
            "wake::ask_slot(",
            "store.heartbeat(",
            "fold_log_times(",
        ] {
            assert!(!text.contains(copy), "{name} has its own `{copy}`");
        }
    }
}

/// Nothing in the simulator's code or its pages says it drives engines "as the driver
/// does" or makes anything "not through" the engine's or the session's own code: what
/// it runs is theirs, and a copy would be named by one of these words.
#[test]
fn the_simulator_names_no_copy_of_the_engine() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // Its pages: docs/simulator.md and every docs/simulator-*.md.
    let mut files: Vec<_> = std::fs::read_dir(root.join("../../docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("simulator") && name.ends_with(".md")
        })
        .collect();
    assert!(files.len() >= 4, "the simulator's pages: {files:?}");
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        // A phrase broken across lines is still found.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for copy in [
            "as the driver does",
            "as `engine::driver` does",
            "not through it",
        ] {
            assert!(!text.contains(copy), "{} says `{copy}`", path.display());
        }
    }
}
