//! Issue 42 point 5: an output `$BATON_OUTPUT`'s bound cut is never handed on as if
//! whole: a step reading it fails before it starts, saying so, and a `for_each` over
//! it too; after a replay as well.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, OutputProblem};

const SRC: &str = r#"
name = "cut"
[[step]]
id = "list"
run = "l"
[[step]]
id = "use"
run = "u"
needs = ["list"]
env = { FILES = "${{ steps.list.outputs.files }}" }
[[step]]
id = "each"
run = "e"
needs = ["list"]
for_each = "${{ steps.list.outputs.files }}"
"#;

fn cut_sim() -> Sim {
    let plan = Arc::new(baton_workflow::load_str(SRC, std::path::Path::new("/w/c.toml")).unwrap());
    let mut sim = Sim::new(plan, cfg());
    let step = sim.idx("list");
    sim.input(Input::OutputProblems {
        step,
        attempt: 1,
        problems: vec![OutputProblem::Cut("files".into())],
    });
    sim
}

#[test]
fn a_step_reading_a_cut_output_fails_before_it_starts_saying_why() {
    let mut sim = cut_sim();
    let fx = sim.finish(
        "list",
        StepOutcome::Exited { exit_code: 0 },
        vec![("a", "1")],
    );
    assert_eq!(
        sim.state("list"),
        StepState::Succeeded,
        "the producer is not failed"
    );
    assert!(!spawned(&fx).contains(&"use".to_string()));
    for id in ["use", "each"] {
        assert_eq!(sim.state(id), StepState::Failed, "{id}");
        let errs = sim.open_errors(id);
        assert_eq!(errs[0].kind, ErrorKind::TemplateError);
        assert!(
            errs[0]
                .message
                .contains("`steps.list.outputs.files` was cut: `list` wrote more than 1 MiB"),
            "{id}: {}",
            errs[0].message
        );
    }
    let cut = sim
        .core
        .errors
        .iter()
        .find(|e| e.step.as_deref() == Some("list"))
        .expect("the producer's record");
    assert!(
        cut.message.contains("output `files` was cut"),
        "{}",
        cut.message
    );
    // A replay knows it too: the records are in the events.
    let replayed = Core::replay(sim.core.plan.clone(), cfg(), sim.core.events()).expect("replay");
    let list = replayed.plan().step_index("list").expect("list");
    assert!(replayed.output_cut(list, "files").is_some());
    assert!(replayed.output_cut(list, "other").is_none());
}

#[test]
fn an_output_missing_for_another_reason_is_not_called_cut() {
    let plan = Arc::new(baton_workflow::load_str(SRC, std::path::Path::new("/w/c.toml")).unwrap());
    let mut sim = Sim::new(plan, cfg());
    sim.finish("list", StepOutcome::Exited { exit_code: 0 }, vec![]);
    let why = sim.open_errors("use")[0].message.clone();
    assert!(
        why.contains("cannot resolve `steps.list.outputs.files`"),
        "{why}"
    );
    let why = sim.open_errors("each")[0].message.clone();
    assert!(why.contains("`list` did not output `files`"), "{why}");
}
