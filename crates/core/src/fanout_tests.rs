//! Fan-out in the core: matrix and for_each instances, their limits, their aggregate,
//! and a replay that makes the same instances.
use super::testkit::*;
use super::*;
use baton_model::ErrorKind;
use std::path::Path;

fn load(src: &str) -> Arc<Plan> {
    match baton_workflow::load_str(src, Path::new("/w/wf.toml")) {
        Ok(p) => Arc::new(p),
        Err(d) => panic!("{d}"),
    }
}

fn env_of(fx: &[Effect], id: &str, key: &str) -> Option<String> {
    spawn_of(fx, id)?
        .env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

const MATRIX: &str = r#"
name = "m"
[[step]]
id = "test"
run = "t"
matrix = { py = ["3.11", "3.12"], os = ["linux"] }
env = { PY = "${{ matrix.py }}", OS = "${{ matrix.os }}" }

[[step]]
id = "report"
run = "r"
needs = ["test"]
env = { ALL = "${{ steps.test.outputs.v }}" }
"#;

#[test]
fn a_matrix_runs_one_instance_per_combination_and_gathers_outputs() {
    let mut sim = Sim::new(load(MATRIX), cfg());
    let fx = sim.last.clone();
    assert_eq!(spawned(&fx), ["test[3.11,linux]", "test[3.12,linux]"]);
    assert_eq!(
        env_of(&fx, "test[3.12,linux]", "PY").as_deref(),
        Some("3.12")
    );
    assert_eq!(
        env_of(&fx, "test[3.12,linux]", "OS").as_deref(),
        Some("linux")
    );
    assert_eq!(sim.state("test"), StepState::Pending);
    sim.finish(
        "test[3.12,linux]",
        StepOutcome::Exited { exit_code: 0 },
        vec![("v", "b")],
    );
    assert_eq!(
        sim.state("report"),
        StepState::Pending,
        "waits for every instance"
    );
    let fx = sim.exit("test[3.11,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Succeeded);
    assert_eq!(
        env_of(&fx, "report", "ALL").as_deref(),
        Some(r#"[null,"b"]"#),
        "instance order, null where one has no value"
    );
}

#[test]
fn a_failed_instance_fails_the_step_and_its_dependants_see_it() {
    let src = MATRIX.replace(
        "needs = [\"test\"]",
        "needs = [\"test\"]\nwhen = \"any_failed\"",
    );
    let mut sim = Sim::new(load(&src), cfg());
    sim.exit("test[3.11,linux]", 1);
    assert_eq!(
        sim.state("test"),
        StepState::Pending,
        "the other still runs"
    );
    let fx = sim.exit("test[3.12,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Failed);
    assert_eq!(spawned(&fx), ["report"]);
}

#[test]
fn a_list_param_feeds_a_matrix_axis() {
    let src = r#"
name = "m"
max_parallel = 8
[params.pythons]
type = "list"
default = "3.10"
[[step]]
id = "test"
run = "t"
matrix = { py = "${{ params.pythons }}" }
"#;
    let mut c = cfg();
    c.params
        .insert("pythons".into(), r#"["3.11","3.12","3.13"]"#.into());
    let sim = Sim::new(load(src), c);
    assert_eq!(
        spawned(&sim.last),
        ["test[3.11]", "test[3.12]", "test[3.13]"]
    );
}

const FOR_EACH: &str = r#"
name = "f"
[[step]]
id = "list"
run = "l"

[[step]]
id = "each"
run = "e"
needs = ["list"]
for_each = "${{ steps.list.outputs.files }}"
max_parallel = 2
env = { FILE = "${{ item.name }}", WHOLE = "${{ item }}" }
"#;

#[test]
fn for_each_fans_out_over_the_output_within_max_parallel() {
    let mut sim = Sim::new(load(FOR_EACH), cfg());
    let items = r#"[{"name":"a"},{"name":"b"},{"name":"c"}]"#;
    let fx = sim.finish(
        "list",
        StepOutcome::Exited { exit_code: 0 },
        vec![("files", items)],
    );
    assert_eq!(spawned(&fx), ["each[0]", "each[1]"], "max_parallel = 2");
    assert_eq!(env_of(&fx, "each[1]", "FILE").as_deref(), Some("b"));
    assert_eq!(
        env_of(&fx, "each[0]", "WHOLE").as_deref(),
        Some(r#"{"name":"a"}"#)
    );
    let fx = sim.exit("each[0]", 0);
    assert_eq!(spawned(&fx), ["each[2]"]);
    sim.exit("each[1]", 0);
    sim.exit("each[2]", 0);
    assert_eq!(sim.state("each"), StepState::Succeeded);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    let recorded = sim.events_named("step_fanned_out");
    assert_eq!(recorded.len(), 1, "decided once");
    // Each instance's view carries its item (its id only numbers it): issue 76.
    let v = sim.core.view(Timestamp(sim.now));
    let item = |id: &str| v.steps[sim.idx(id)].item.clone();
    assert_eq!(item("each[1]").as_deref(), Some(r#"{"name":"b"}"#));
    assert_eq!(item("each"), None, "the step itself is no item");
}

#[test]
fn for_each_over_no_array_fails_and_over_an_empty_one_skips() {
    let mut sim = Sim::new(load(FOR_EACH), cfg());
    sim.finish(
        "list",
        StepOutcome::Exited { exit_code: 0 },
        vec![("files", "a b")],
    );
    assert_eq!(sim.state("each"), StepState::Failed);
    let errs = sim.open_errors("each");
    assert_eq!(errs[0].kind, ErrorKind::TemplateError);
    assert!(errs[0].message.contains("not JSON"), "{}", errs[0].message);

    let mut sim = Sim::new(
        load(&FOR_EACH.replace("max_parallel = 2", "max_instances = 2")),
        cfg(),
    );
    sim.finish(
        "list",
        StepOutcome::Exited { exit_code: 0 },
        vec![("files", "[1,2,3]")],
    );
    assert!(
        sim.open_errors("each")[0]
            .message
            .contains("3 items, more than max_instances = 2")
    );

    let mut sim = Sim::new(load(FOR_EACH), cfg());
    sim.finish(
        "list",
        StepOutcome::Exited { exit_code: 0 },
        vec![("files", "[]")],
    );
    assert_eq!(sim.state("each"), StepState::Skipped);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

#[test]
fn fail_fast_cancels_the_instances_not_finished() {
    let src = r#"
name = "f"
[[step]]
id = "t"
run = "t"
matrix = { n = [1, 2, 3, 4] }
max_parallel = 2
fail_fast = true
"#;
    let mut sim = Sim::new(load(src), cfg());
    assert_eq!(spawned(&sim.last), ["t[1]", "t[2]"]);
    let fx = sim.exit("t[1]", 1);
    assert_eq!(kills(&fx), [sim.idx("t[2]")]);
    assert!(spawned(&fx).is_empty());
    assert_eq!(sim.state("t[3]"), StepState::Cancelled);
    sim.finish("t[2]", StepOutcome::Signalled { signal: 15 }, vec![]);
    assert_eq!(sim.state("t[2]"), StepState::Cancelled);
    assert_eq!(sim.state("t"), StepState::Failed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
}

#[test]
fn a_gate_is_asked_once_before_any_instance() {
    let src = r#"
name = "g"
[[step]]
id = "deploy"
run = "d"
matrix = { region = ["eu", "us"] }
gate = { prompt = "deploy everywhere?" }
"#;
    let mut sim = Sim::new(load(src), cfg());
    assert!(spawned(&sim.last).is_empty());
    assert_eq!(sim.state("deploy"), StepState::WaitingApproval);
    sim.approve("deploy", "bob");
    assert_eq!(spawned(&sim.last), ["deploy[eu]", "deploy[us]"]);
    assert_eq!(sim.events_named("gate_opened").len(), 1);
}

#[test]
fn replay_rebuilds_the_same_instances_and_resume_runs_only_the_unfinished() {
    let p = load(FOR_EACH);
    let mut sim = Sim::new(p.clone(), cfg());
    sim.finish(
        "list",
        StepOutcome::Exited { exit_code: 0 },
        vec![("files", r#"[{"name":"x"},{"name":"y"},{"name":"z"}]"#)],
    );
    sim.exit("each[0]", 0);
    sim.input(Input::Shutdown {
        reason: "SIGKILL".into(),
    });
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    assert_eq!(
        core.view(Timestamp(sim.now)),
        sim.core.view(Timestamp(sim.now))
    );
    assert_eq!(core.plan().steps.len(), 5);
    let fx = core.resume("olivia", Timestamp(sim.now + 100));
    let again = spawned(&fx);
    assert!(
        !again.contains(&"each[0]".to_string()),
        "succeeded never again: {again:?}"
    );
    assert_eq!(again, ["each[1]", "each[2]"]);
}

#[test]
fn retrying_a_failed_instance_reopens_its_step() {
    let mut sim = Sim::new(load(MATRIX), cfg());
    sim.exit("test[3.11,linux]", 1);
    sim.exit("test[3.12,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Failed);
    assert_eq!(sim.state("report"), StepState::UpstreamFailed);
    let out = sim.cmd(Command::Retry {
        step: "test[3.11,linux]".into(),
        operator: "olivia".into(),
    });
    assert!(matches!(out, CommandOutcome::Accepted { .. }), "{out:?}");
    assert_eq!(spawned(&sim.last), ["test[3.11,linux]"]);
    assert_eq!(sim.state("test"), StepState::Pending);
    let fx = sim.exit("test[3.11,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Succeeded);
    assert_eq!(spawned(&fx), ["report"]);
}

#[test]
fn each_instance_is_a_need_for_the_dependants_trigger_rule() {
    let src = MATRIX.replace(
        "needs = [\"test\"]",
        "needs = [\"test\"]\nwhen = \"one_success\"",
    );
    let mut sim = Sim::new(load(&src), cfg());
    sim.exit("test[3.11,linux]", 1);
    let fx = sim.exit("test[3.12,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Failed);
    assert_eq!(spawned(&fx), ["report"], "one instance succeeded");
}

/// MATRIX with `report`'s trigger rule set to `rule`, three instances.
fn with_rule(rule: &str) -> Sim {
    let src = MATRIX
        .replace(r#"["3.11", "3.12"]"#, r#"["3.11", "3.12", "3.13"]"#)
        .replace(
            "needs = [\"test\"]",
            &format!("needs = [\"test\"]\nwhen = \"{rule}\""),
        );
    Sim::new(load(&src), cfg())
}

/// Issue 26 point 3: the first failed instance decides nothing for a dependant; it
/// decides once the whole fanned-out step settled, with each instance a need.
#[test]
fn one_failed_on_a_dependant_waits_for_every_instance() {
    let mut sim = with_rule("one_failed");
    let fx = sim.exit("test[3.11,linux]", 1);
    assert!(
        !spawned(&fx).contains(&"report".to_string()),
        "not on the first failure"
    );
    assert_eq!(sim.state("report"), StepState::Pending);
    sim.exit("test[3.12,linux]", 0);
    assert_eq!(sim.state("report"), StepState::Pending);
    let fx = sim.exit("test[3.13,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Failed);
    assert_eq!(spawned(&fx), ["report"], "one instance failed");
    // None failed: one_failed skips it.
    let mut sim = with_rule("one_failed");
    for id in ["test[3.11,linux]", "test[3.12,linux]"] {
        sim.exit(id, 0);
        assert_eq!(sim.state("report"), StepState::Pending);
    }
    sim.exit("test[3.13,linux]", 0);
    assert_eq!(sim.state("report"), StepState::Skipped);
}

#[test]
fn all_done_on_a_dependant_runs_once_every_instance_ended() {
    let mut sim = with_rule("all_done");
    sim.exit("test[3.11,linux]", 1);
    let fx = sim.exit("test[3.12,linux]", 1);
    assert!(!spawned(&fx).contains(&"report".to_string()));
    assert_eq!(sim.state("report"), StepState::Pending);
    let fx = sim.exit("test[3.13,linux]", 0);
    assert_eq!(spawned(&fx), ["report"]);
}

#[test]
fn none_failed_on_a_dependant_counts_each_instance() {
    // One failed instance among three: none_failed does not hold.
    let mut sim = with_rule("none_failed");
    sim.exit("test[3.11,linux]", 0);
    sim.exit("test[3.12,linux]", 1);
    assert_eq!(sim.state("report"), StepState::Pending, "one still runs");
    let fx = sim.exit("test[3.13,linux]", 0);
    assert!(!spawned(&fx).contains(&"report".to_string()));
    assert_eq!(sim.state("report"), StepState::UpstreamFailed);
    // None failed: it runs, after the last one.
    let mut sim = with_rule("none_failed");
    sim.exit("test[3.11,linux]", 0);
    let fx = sim.exit("test[3.12,linux]", 0);
    assert!(!spawned(&fx).contains(&"report".to_string()));
    let fx = sim.exit("test[3.13,linux]", 0);
    assert_eq!(spawned(&fx), ["report"]);
}

/// `baton retry RUN STEP` on the fanned-out step itself retries each of its failed
/// instances (each recorded as its own retry), never the ones that succeeded.
#[test]
fn retrying_the_fanned_out_step_retries_its_failed_instances() {
    let mut sim = with_rule("all_success");
    sim.exit("test[3.11,linux]", 1);
    sim.exit("test[3.12,linux]", 0);
    sim.exit("test[3.13,linux]", 2);
    assert_eq!(sim.state("test"), StepState::Failed);
    assert_eq!(sim.state("report"), StepState::UpstreamFailed);
    let out = sim.cmd(Command::Retry {
        step: "test".into(),
        operator: "olivia".into(),
    });
    assert!(matches!(out, CommandOutcome::Accepted { .. }), "{out:?}");
    let mut again = spawned(&sim.last);
    again.sort();
    assert_eq!(again, ["test[3.11,linux]", "test[3.13,linux]"]);
    let retried: Vec<String> = sim
        .core
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            baton_model::EventKind::StepRetried { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(retried, ["test[3.11,linux]", "test[3.13,linux]"]);
    assert_eq!(sim.state("test"), StepState::Pending);
    assert_eq!(sim.state("report"), StepState::Pending);
    sim.exit("test[3.11,linux]", 0);
    let fx = sim.exit("test[3.13,linux]", 0);
    assert_eq!(sim.state("test"), StepState::Succeeded);
    assert_eq!(spawned(&fx), ["report"]);
    // Nothing failed is left: a retry of the step is refused, saying why.
    sim.exit("report", 0);
    let out = sim.cmd(Command::Retry {
        step: "test".into(),
        operator: "olivia".into(),
    });
    assert!(matches!(out, CommandOutcome::Refused { .. }), "{out:?}");
}

/// The view carries each fanned-out step's counts as the core kept them while its
/// instances moved: what a tally of their states gives, after a retry and a replay too.
#[test]
fn the_view_counts_instances_as_they_move_and_after_a_replay() {
    use baton_model::fan::FanCounts;
    let src = MATRIX.replace(r#"["3.11", "3.12"]"#, r#"["3.11", "3.12", "3.13"]"#);
    let plan = load(&src);
    let mut sim = Sim::new(plan.clone(), cfg());
    let counts = |sim: &Sim| {
        let v = sim.core.view(Timestamp(sim.now));
        let test = v.step_index("test").unwrap();
        let f = v.steps[test].fan.clone().expect("fanned out");
        let states = f.instances.clone().map(|k| v.steps[k].state);
        assert!(f.instances.clone().all(|k| v.steps[k].parent == Some(test)));
        (f.counts, FanCounts::tally(states))
    };
    let (kept, tally) = counts(&sim);
    assert_eq!(kept, tally);
    assert_eq!(kept.text(), "0/3 ◷3");
    sim.exit("test[3.11,linux]", 1);
    sim.exit("test[3.12,linux]", 0);
    let (kept, tally) = counts(&sim);
    assert_eq!((kept, kept.text().as_str()), (tally, "2/3 ✔1 ✘1 ◷1"));
    sim.exit("test[3.13,linux]", 0);
    sim.cmd(Command::Retry {
        step: "test".into(),
        operator: "olivia".into(),
    });
    let (kept, tally) = counts(&sim);
    assert_eq!((kept, kept.text().as_str()), (tally, "2/3 ✔2 ◷1"));
    let replayed = Core::replay(plan, cfg(), sim.core.events()).expect("replay");
    let v = replayed.view(Timestamp(sim.now));
    let test = v.step_index("test").unwrap();
    assert_eq!(v.steps[test].fan.as_ref().map(|f| f.counts), Some(kept));
}

const FAIL_FAST: &str = r#"
name = "f"
max_parallel = 4
[[step]]
id = "t"
run = "t"
matrix = { n = [1, 2, 3] }
fail_fast = true

[[step]]
id = "after"
run = "a"
needs = ["t"]
"#;

/// Issue 42 point 1: after `fail_fast`, a retried instance's end decides its step and
/// the step's dependants as the first end would have: the run ends.
#[test]
fn a_retried_instance_after_fail_fast_lets_its_step_and_dependants_decide() {
    let mut sim = Sim::new(load(FAIL_FAST), cfg());
    sim.exit("t[1]", 1);
    sim.finish("t[2]", StepOutcome::Signalled { signal: 15 }, vec![]);
    sim.finish("t[3]", StepOutcome::Signalled { signal: 15 }, vec![]);
    assert_eq!(sim.state("t"), StepState::Failed);
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    let out = sim.cmd(Command::Retry {
        step: "t[1]".into(),
        operator: "olivia".into(),
    });
    assert!(matches!(out, CommandOutcome::Accepted { .. }), "{out:?}");
    assert_eq!(spawned(&sim.last), ["t[1]"]);
    sim.exit("t[1]", 0);
    // t[2] and t[3] are still cancelled: the step fails, its dependant with it, and
    // its reason says cancelled, not allowed (issue 76: "each allowed to").
    assert_eq!(sim.state("t"), StepState::Failed);
    let why = sim.core.events().iter().rev().find_map(|e| match &e.kind {
        baton_model::EventKind::StepStateChanged { step, reason, .. } if step == "t" => {
            reason.clone()
        }
        _ => None,
    });
    assert_eq!(
        why.as_deref(),
        Some("2 of 3 instances failed or were cancelled"),
        "{why:?}"
    );
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
    // Each cancelled one retried in turn: the step succeeds and `after` runs.
    for id in ["t[2]", "t[3]"] {
        sim.cmd(Command::Retry {
            step: id.into(),
            operator: "olivia".into(),
        });
        assert_eq!(spawned(&sim.last), [id]);
        sim.exit(id, 0);
    }
    assert_eq!(sim.state("t"), StepState::Succeeded);
    sim.exit("after", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

/// A fanned-out step retried whole after `fail_fast` stopped it is stopped again by its
/// next failure, as the first time; and a run resumed after a crash in the retry ends.
#[test]
fn fail_fast_holds_again_after_a_retry_and_a_resumed_retry_ends() {
    let plan = load(FAIL_FAST);
    let mut sim = Sim::new(plan.clone(), cfg());
    sim.exit("t[1]", 1);
    sim.finish("t[2]", StepOutcome::Signalled { signal: 15 }, vec![]);
    sim.finish("t[3]", StepOutcome::Signalled { signal: 15 }, vec![]);
    sim.cmd(Command::Retry {
        step: "t".into(),
        operator: "olivia".into(),
    });
    assert_eq!(spawned(&sim.last), ["t[1]", "t[2]", "t[3]"]);
    let fx = sim.exit("t[2]", 1);
    let mut stopped = kills(&fx);
    stopped.sort();
    assert_eq!(
        stopped,
        [sim.idx("t[1]"), sim.idx("t[3]")],
        "fail_fast again"
    );
    // The engine dies while the two are being stopped: the resumed run stops them
    // again (never runs them) and ends.
    sim.input(Input::Shutdown {
        reason: "SIGKILL".into(),
    });
    let mut core = Core::replay(plan, cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(sim.now + 100));
    assert!(spawned(&fx).is_empty(), "{:?}", spawned(&fx));
    for id in ["t[1]", "t[3]"] {
        let k = core.plan().step_index(id).expect("instance");
        assert_eq!(core.steps[k].state, StepState::Cancelled, "{id}");
    }
    assert!(core.is_finished());
    assert_eq!(core.run_state(), RunState::Failed);
}

/// Instances a cancel left held behind `max_parallel` do not take the place of one
/// retried later: it starts when the one before it ends.
#[test]
fn an_instance_retried_after_a_cancel_starts_in_its_turn() {
    let src = r#"
name = "p"
[[step]]
id = "s"
run = "x"
matrix = { n = [1, 2, 3] }
max_parallel = 1
"#;
    let mut sim = Sim::new(load(src), cfg());
    sim.cmd(Command::Cancel {
        operator: "olivia".into(),
        reason: None,
    });
    sim.finish("s[1]", StepOutcome::Signalled { signal: 15 }, vec![]);
    assert!(sim.core.is_finished());
    sim.cmd(Command::Retry {
        step: "s[3]".into(),
        operator: "olivia".into(),
    });
    assert_eq!(spawned(&sim.last), ["s[3]"]);
    sim.cmd(Command::Retry {
        step: "s[1]".into(),
        operator: "olivia".into(),
    });
    assert!(spawned(&sim.last).is_empty(), "max_parallel = 1");
    let fx = sim.exit("s[3]", 0);
    assert_eq!(spawned(&fx), ["s[1]"]);
    sim.exit("s[1]", 0);
    assert!(sim.core.is_finished());
}
