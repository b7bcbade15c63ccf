//! GitHub's matrix rules in the core: a cell reads a key it lacks as `''`, and
//! `allow_failure` decided per instance (`continue-on-error: ${{ matrix.experimental }}`).
use super::testkit::*;
use super::*;
use std::path::Path;

fn load(src: &str) -> Result<Arc<Plan>, String> {
    baton_workflow::load_str(src, Path::new("/w/wf.toml"))
        .map(Arc::new)
        .map_err(|d| d.to_string())
}

fn env_of(fx: &[Effect], id: &str, key: &str) -> Option<String> {
    spawn_of(fx, id)?
        .env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// GitHub's documented example: one `include` entry adds a cell with a key the
/// others lack, and that key says whether the cell may fail.
const EXPERIMENTAL: &str = r#"
name = "m"
max_parallel = 4
[[step]]
id = "test"
run = "t"
matrix = { py = ["3.11", "3.12"], include = [ { py = "3.13", experimental = true } ] }
env = { PY = "${{ matrix.py }}", EXP = "[${{ matrix.experimental }}]" }
allow_failure = "${{ matrix.experimental }}"
fail_fast = true

[[step]]
id = "report"
run = "r"
needs = ["test"]
"#;

#[test]
fn a_cell_reads_a_key_it_lacks_as_empty() {
    let sim = Sim::new(load(EXPERIMENTAL).unwrap(), cfg());
    let fx = sim.last.clone();
    assert_eq!(
        spawned(&fx),
        ["test[3.11]", "test[3.12]", "test[3.13,true]"]
    );
    assert_eq!(env_of(&fx, "test[3.11]", "EXP").as_deref(), Some("[]"));
    assert_eq!(
        env_of(&fx, "test[3.13,true]", "EXP").as_deref(),
        Some("[true]")
    );
}

#[test]
fn an_experimental_cell_may_fail_without_failing_the_run_or_stopping_the_others() {
    let mut sim = Sim::new(load(EXPERIMENTAL).unwrap(), cfg());
    sim.exit("test[3.13,true]", 1);
    assert_eq!(sim.state("test[3.13,true]"), StepState::Failed);
    // fail_fast does not stop the other cells for an allowed failure.
    assert_eq!(sim.state("test[3.11]"), StepState::Running);
    sim.exit("test[3.11]", 0);
    last_cell_passes_and_the_run_succeeds(&mut sim, "test[3.12]");
}

/// The last cell ends well: `report` starts (an allowed failure counts as a success)
/// and the run succeeds.
fn last_cell_passes_and_the_run_succeeds(sim: &mut Sim, cell: &str) {
    let fx = sim.exit(cell, 0);
    assert_eq!(
        spawned(&fx),
        ["report"],
        "the allowed failure counts as a success"
    );
    sim.exit("report", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

#[test]
fn a_cell_that_may_not_fail_still_fails_the_run_and_stops_the_others() {
    let mut sim = Sim::new(load(EXPERIMENTAL).unwrap(), cfg());
    sim.exit("test[3.11]", 1);
    assert_eq!(sim.state("test[3.12]"), StepState::Running);
    assert!(sim.core.steps[sim.idx("test[3.12]")].kill_sent, "fail_fast");
    sim.exit("test[3.12]", 1);
    sim.exit("test[3.13,true]", 0);
    assert_eq!(sim.state("test"), StepState::Failed);
    assert_eq!(sim.state("report"), StepState::UpstreamFailed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
}

const BY_PARAM: &str = r#"
name = "p"
[params.lenient]
type = "bool"
default = "false"

[[step]]
id = "lint"
run = "l"
allow_failure = "${{ params.lenient }}"

[[step]]
id = "after"
run = "a"
needs = ["lint"]
"#;

#[test]
fn allow_failure_over_a_param_is_decided_when_the_run_starts() {
    for (lenient, after) in [
        ("true", StepState::Running),
        ("false", StepState::UpstreamFailed),
    ] {
        let mut c = cfg();
        c.params.insert("lenient".into(), lenient.into());
        let mut sim = Sim::new(load(BY_PARAM).unwrap(), c);
        sim.exit("lint", 1);
        assert_eq!(sim.state("after"), after, "lenient = {lenient}");
    }
}

#[test]
fn allow_failure_reads_params_and_matrix_values_only() {
    let src = r#"
name = "x"
[[step]]
id = "a"
run = "a"

[[step]]
id = "b"
run = "b"
needs = ["a"]
allow_failure = "${{ steps.a.outputs.ok }}"
"#;
    let e = load(src).unwrap_err();
    assert!(
        e.contains("`allow_failure` of step `b` reads `steps.a.outputs.ok`"),
        "{e}"
    );
    assert!(
        e.contains("${{ params.NAME }} and ${{ matrix.KEY }} only"),
        "{e}"
    );
    let e = load(&src.replace("\"${{ steps.a.outputs.ok }}\"", "3")).unwrap_err();
    assert!(
        e.contains("must be a boolean, a template, a condition or a table"),
        "{e}"
    );
    // A matrix key the matrix does not have is a typo, as elsewhere.
    let e = load(&EXPERIMENTAL.replace(
        "matrix.experimental }}\"\nfail",
        "matrix.experimantal }}\"\nfail",
    ))
    .unwrap_err();
    assert!(e.contains("has no key `experimantal`"), "{e}");
}

/// Issue 57 point 2: GitHub's `continue-on-error: ${{ matrix.python == '3.14' }}`, a
/// condition of the `if` language over matrix values and params, decided per cell.
const BY_CONDITION: &str = r#"
name = "c"
[params.strict]
type = "bool"
default = "false"

[[step]]
id = "test"
run = "t"
matrix = { python = ["3.12", "3.14"] }
allow_failure = "${{ matrix.python == '3.14' && !params.strict }}"

[[step]]
id = "report"
run = "r"
needs = ["test"]
"#;

#[test]
fn allow_failure_takes_a_condition_over_matrix_values_and_params() {
    // The 3.14 cell may fail: the run goes on and succeeds.
    let mut sim = Sim::new(load(BY_CONDITION).unwrap(), cfg());
    sim.exit("test[3.14]", 1);
    assert_eq!(sim.state("test[3.14]"), StepState::Failed);
    last_cell_passes_and_the_run_succeeds(&mut sim, "test[3.12]");
    // The 3.12 cell may not.
    let mut sim = Sim::new(load(BY_CONDITION).unwrap(), cfg());
    sim.exit("test[3.12]", 1);
    sim.exit("test[3.14]", 0);
    assert_eq!(sim.state("report"), StepState::UpstreamFailed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    // With params.strict, neither may.
    let mut c = cfg();
    c.params.insert("strict".into(), "true".into());
    let mut sim = Sim::new(load(BY_CONDITION).unwrap(), c);
    sim.exit("test[3.14]", 1);
    sim.exit("test[3.12]", 0);
    assert_eq!(sim.state("report"), StepState::UpstreamFailed);
}

#[test]
fn an_allow_failure_condition_is_checked_at_load() {
    let with = |expr: &str| BY_CONDITION.replace("matrix.python == '3.14' && !params.strict", expr);
    for (expr, says) in [
        (
            "matrix.pyton == '3.14'",
            "the matrix of step `test` has no key `pyton`",
        ),
        ("params.strikt", "parameter"),
        (
            "run.id == 'x'",
            "`allow_failure` of step `test` reads `run.id`",
        ),
        ("matrix.python ==", "`allow_failure` of step `test`:"),
    ] {
        let e = load(&with(expr)).unwrap_err();
        assert!(e.contains(says), "{expr}: {e}");
    }
    // `if` does not read matrix values (they are the instance's, and `if` is the step's).
    let e = load(&BY_CONDITION.replace(
        "allow_failure = \"${{ matrix.python == '3.14' && !params.strict }}\"",
        "if = \"matrix.python == '3.14'\"",
    ))
    .unwrap_err();
    assert!(
        e.contains("`if` of step `test` reads `matrix.python`"),
        "{e}"
    );
}
