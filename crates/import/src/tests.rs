//! Every real file under tests/fixtures/import imports to a workflow baton loads, and
//! the mappings the docs promise hold (docs/import-github.md, docs/import-dagu.md).
use super::*;
use std::path::Path;

fn fixture(kind: &str, name: &str) -> (String, String) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(kind)
        .join(name);
    (
        p.display().to_string(),
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
}

fn loads(i: &Imported) -> baton_workflow::Plan {
    match load_imported(&i.toml) {
        Ok(p) => p,
        Err(d) => panic!("{d}\n{}", i.toml),
    }
}

/// An imported workflow as baton loads it. The child workflows a step names
/// (`workflow = "…"`, a Dagu child DAG) are imported next, as the report says, so
/// they are not there to read: the file is loaded as a recorded run's text is, which
/// takes a child's file as written without reading it.
fn load_imported(toml: &str) -> Result<baton_workflow::Plan, baton_workflow::Diagnostics> {
    baton_workflow::load_str_with(
        toml,
        Path::new("imported.toml"),
        baton_workflow::SignersFrom::Recorded(None),
    )
}

fn all(kind: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(kind);
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn step<'a>(p: &'a baton_workflow::Plan, id: &str) -> &'a baton_workflow::Step {
    p.steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn needs<'a>(p: &'a baton_workflow::Plan, id: &str) -> Vec<&'a str> {
    step(p, id)
        .needs
        .iter()
        .map(|i| p.steps[*i].id.as_str())
        .collect()
}

#[test]
fn every_real_file_imports_to_a_workflow_that_loads() {
    for (kind, k) in [("github", Kind::Github), ("dagu", Kind::Dagu)] {
        for f in all(kind) {
            let (name, text) = fixture(kind, &f);
            let i = import(k, &name, &text).unwrap_or_else(|e| panic!("{e}"));
            loads(&i);
            assert!(
                i.toml.starts_with(&format!(
                    "# Imported by `baton import` from {} workflow {name}.",
                    k.as_str()
                )),
                "{}",
                i.toml
            );
            for n in &i.notes {
                assert!(i.toml.contains(&n.render(&name)), "{n:?} not in the header");
            }
        }
    }
}

#[test]
fn attrs_required_checks_job_fails_when_a_need_did_not_succeed() {
    let (name, text) = fixture("github", "attrs-ci.yml");
    let i = import(Kind::Github, &name, &text).unwrap();
    let p = loads(&i);
    let s = step(&p, "required-checks-pass");
    assert_eq!(s.when.as_str(), "all_done");
    assert!(
        i.toml.contains(
            "if = \"steps.coverage.state != 'succeeded' || steps.tests-pypy.state != 'succeeded'"
        ),
        "{}",
        i.toml
    );
    assert!(
        i.notes
            .iter()
            .any(|n| n.line == 247 && n.what.contains("alls-green")),
        "{:?}",
        i.notes
    );
    // `if: ${{ failure() }}` on a step of `coverage` runs after a failed step only.
    assert!(
        i.toml.contains("if [ \"$_bt_rc\" -ne 0 ]; then"),
        "{}",
        i.toml
    );
    // The matrix axis computed from another job's output is a `for_each` over it.
    assert!(
        i.toml.contains(
            "for_each = \"${{ steps.build-package.outputs.supported-python-versions }}\""
        ),
        "{}",
        i.toml
    );
}

#[test]
fn requests_matrix_keeps_exclude_fail_fast_and_timeout() {
    let (name, text) = fixture("github", "requests-run-tests.yml");
    let i = import(Kind::Github, &name, &text).unwrap();
    let p = loads(&i);
    assert!(
        i.toml
            .contains("exclude = [{ python-version = \"pypy-3.11\", os = \"windows-latest\" }]"),
        "{}",
        i.toml
    );
    assert!(i.toml.contains("fail_fast = false"));
    assert_eq!(
        step(&p, "build").timeout,
        Some(std::time::Duration::from_secs(600))
    );
    // `${{ matrix.python-version == '3.15-dev' && '1' || '' }}` is an expression: the
    // script picks `'1'` or `''` over the cell's value, handed to it as a variable.
    assert!(
        i.notes
            .iter()
            .any(|n| n.line == 35 && n.done.starts_with("decided in the job's script")),
        "{:?}",
        i.notes
    );
    // The value picked is set before the step, byte for byte (`Word::pre`).
    assert!(
        i.toml.contains(r#"{ _bt_x3_2="$(if { _bt_eq "${S3_T1}"x '3.15-dev'x && true; }; then if _bt_eq "${S3_T1}"x '3.15-dev'x; then printf '%s' '1'; else printf '%s' "$(if _bt_eq "${S3_T1}"x '3.15-dev'x; then printf true; else printf false; fi)"; fi; else printf '%s' ''; fi; printf x)"; _bt_x3_2=${_bt_x3_2%x}; } && export PYO3_USE_ABI3_FORWARD_COMPATIBILITY="${_bt_x3_2}""#),
        "{}",
        i.toml
    );
}

#[test]
fn flask_publish_environment_is_a_gate_and_outputs_pass_on() {
    let (name, text) = fixture("github", "flask-publish.yaml");
    let i = import(Kind::Github, &name, &text).unwrap();
    let p = loads(&i);
    assert!(step(&p, "publish-pypi").gate.is_some());
    assert!(
        i.notes
            .iter()
            .any(|n| n.what == "`environment: publish`" && n.done.contains("approvers"))
    );
    assert!(
        i.toml.contains("outputs = { artifact-id = {} }"),
        "{}",
        i.toml
    );
}

#[test]
fn dagu_preconditions_retry_and_handlers_map() {
    let (name, text) = fixture("dagu", "define_condition.yaml");
    let i = import(Kind::Dagu, &name, &text).unwrap();
    assert!(
        i.toml.contains("if = \"params.arg1 == 'foo'\""),
        "{}",
        i.toml
    );
    let (name, text) = fixture("dagu", "retry-with-backoff.yaml");
    let i = import(Kind::Dagu, &name, &text).unwrap();
    assert!(
        i.toml.contains(
            "retry = { attempts = 4, backoff = \"exponential\", delay = \"1s\", exit_code = [1] }"
        ),
        "{}",
        i.toml
    );
    let (name, text) = fixture("dagu", "example_workflow.yaml");
    let i = import(Kind::Dagu, &name, &text).unwrap();
    let p = loads(&i);
    assert_eq!(step(&p, "on-exit").when.as_str(), "all_done");
    assert_eq!(
        needs(&p, "merge"),
        ["update-tab_3", "validate-tab_2", "validate-file"]
    );
    let (name, text) = fixture("dagu", "chain_workflow.yaml");
    let p = loads(&import(Kind::Dagu, &name, &text).unwrap());
    assert_eq!(needs(&p, "cleanup"), ["upload-results"]);
    let (name, text) = fixture("dagu", "repeat-with-limit.yaml");
    let i = import(Kind::Dagu, &name, &text).unwrap();
    assert!(
        i.toml.contains("repeat = { exit_code = [0], limit = 3 }"),
        "{}",
        i.toml
    );
    let r = step(&loads(&i), "repeat-step")
        .repeat
        .clone()
        .expect("repeat");
    assert_eq!((r.limit, r.exit_codes.as_slice()), (Some(3), &[0][..]));
}

#[test]
fn dagu_repeat_over_the_steps_own_output_maps_and_a_command_condition_is_reported() {
    let text = "steps:\n  - name: poll\n    command: cat status\n    output: STATUS\n    repeatPolicy:\n      condition: \"${STATUS}\"\n      expected: done\n      intervalSec: 5\n      backoff: true\n  - name: probe\n    command: curl x\n    repeat_policy:\n      repeat: while\n      condition: \"`cat flag`\"\n";
    let i = import(Kind::Dagu, "d.yaml", text).unwrap();
    assert!(
        i.toml
            .contains("repeat = { until = \"steps.poll.outputs.STATUS == 'done'\" }")
            && i.toml.contains("d = 5 * 2 ^ (n - 1)"),
        "{}",
        i.toml
    );
    let p = loads(&i);
    assert!(step(&p, "poll").repeat.is_some());
    assert!(step(&p, "probe").repeat.is_none());
    let notes: Vec<(usize, &str)> = i.notes.iter().map(|n| (n.line, n.done.as_str())).collect();
    assert!(
        notes
            .iter()
            .any(|(l, d)| *l == 5 && d.starts_with("each repetition first waits 5s x 2^")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|(l, d)| *l == 12 && d.contains("never runs a command")),
        "{notes:?}"
    );
}

#[test]
fn dagu_approval_child_dags_and_handlers_report_what_they_did() {
    let text = "type: graph\nparams:\n  - ENV: staging\nhandler_on:\n  failure:\n    command: echo failed\n  abort:\n    command: echo aborted\nsteps:\n  - name: build\n    command: make\n    approval:\n      prompt: Ship it?\n      input: [tag]\n      required: [tag]\n  - name: deploy\n    call: deploy-dag\n    depends: [build]\n  - name: notify\n    type: mail\n    depends: [deploy]\n    continue_on:\n      failure: true\n      mark_success: true\n---\nname: deploy-dag\nsteps:\n  - echo hi\n";
    let i = import(Kind::Dagu, "d.yaml", text).unwrap();
    let p = loads(&i);
    assert!(step(&p, "build-approval").gate.is_some());
    assert_eq!(needs(&p, "deploy"), ["build-approval"]);
    assert_eq!(step(&p, "on-failure").when.as_str(), "one_failed");
    // handler_on.abort: an on_cancel step; mark_success with failure: reads succeeded.
    assert!(step(&p, "on-abort").on_cancel && step(&p, "on-abort").needs.is_empty());
    assert!(step(&p, "notify").allow_failure && step(&p, "notify").mark_success);
    let lines: Vec<(usize, &str)> = i.notes.iter().map(|n| (n.line, n.done.as_str())).collect();
    for (line, start) in [
        (12, "the gate step"),
        (17, "a child run of `deploy-dag.toml`"),
        (20, "the step fails"),
        (26, "not imported"),
    ] {
        assert!(
            lines
                .iter()
                .any(|(l, d)| *l == line && d.starts_with(start)),
            "{line} {start}: {lines:?}"
        );
    }
    assert!(i.toml.contains("ENV = \"${{ params.ENV }}\""));
    let baton_workflow::Action::Workflow { written, .. } = &step(&p, "deploy").action else {
        panic!("deploy is no child run: {}", i.toml);
    };
    assert_eq!(written, "deploy-dag.toml");
}

#[test]
fn invalid_input_says_where_and_what() {
    let e = import(
        Kind::Github,
        "w.yml",
        "on: push\njobs:\n  a:\n    needs: [b]\n    steps: []\n",
    )
    .unwrap_err();
    assert_eq!((e.line, e.file.as_str()), (4, "w.yml"));
    assert!(e.message.contains("needs `b`"), "{e}");
    let e = import(
        Kind::Github,
        "w.yml",
        "on: push\njobs:\n  a:\n    needs: b\n    steps: []\n  b:\n    needs: [a]\n    steps: []\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("a cycle: a -> b -> a"), "{e}");
    let e = import(
        Kind::Dagu,
        "d.yaml",
        "type: graph\nsteps:\n  - name: a\n    command: x\n    depends: a\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("a cycle: a -> a"), "{e}");
    let e = import(Kind::Dagu, "d.yaml", "steps: [\n").unwrap_err();
    assert!(e.message.starts_with("not YAML"), "{e}");
    let e = import(Kind::Github, "w.yml", "- a\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("w.yml:1:1: error: the file is not a YAML mapping"),
        "{e}"
    );
}

#[test]
fn no_name_or_text_from_the_source_becomes_code_or_breaks_the_file() {
    let text = "on: push\nenv:\n  \"A;touch pwned;B\": x\njobs:\n  a:\n    steps:\n      - name: \"x\\ntouch pwned\\r\"\n        env:\n          \"C=1 touch pwned #\": y\n        run: echo '${{ github.ref }}'\n        working-directory: \"d'; touch pwned; '\"\n      - uses: \"evil/act'; touch pwned; '@v1\"\n";
    let i = import(Kind::Github, "w.yml", text).unwrap();
    let p = loads(&i);
    let baton_workflow::Action::Shell { run } = &step(&p, "a").action else {
        panic!("not a shell step")
    };
    // The step's name is a comment, on one line; names that are not variables are left out.
    assert!(
        run.contains("# step 1: x touch pwned  (line 7)"),
        "{}",
        i.toml
    );
    assert_eq!(
        i.notes
            .iter()
            .filter(|n| n.done.contains("not an environment variable name"))
            .count(),
        2
    );
    // The body (a value it pastes in reaches it as a variable), the directory and the
    // action's name are each one quoted word.
    assert!(
        run.contains(r#"printf '%s\n' 'echo '\'''\''"${S1_E1}"'\'''\'''"#),
        "{}",
        i.toml
    );
    assert!(
        run.contains(r#"cd -- 'd'\''; touch pwned; '\''' && "#),
        "{}",
        i.toml
    );
    assert!(
        run.contains(r#"echo 'step 2 uses the action evil/act'\''; touch pwned; '\''@v1,"#),
        "{}",
        i.toml
    );
}

#[test]
fn dagu_names_collide_or_are_invalid_without_breaking_the_file() {
    let text = "params: FOO=1\nenv:\n  - FOO: 2\n  - BAR: a\n  - BAR: b\n  - \"X Y\": c\nsteps:\n  - name: s\n    command: echo \"$FOO\"\n    approval:\n      input: [ok, \"bad name\"]\n";
    let i = import(Kind::Dagu, "d.yaml", text).unwrap();
    let p = loads(&i);
    assert!(step(&p, "s-approval").gate.is_some());
    assert!(
        i.toml.contains("[env]\nFOO = \"2\"\nBAR = \"b\"\n"),
        "{}",
        i.toml
    );
    let left: Vec<usize> = i
        .notes
        .iter()
        .filter(|n| n.done.starts_with("left out: not"))
        .map(|n| n.line)
        .collect();
    assert_eq!(left, [6, 10], "{:?}", i.notes);
}

#[test]
fn github_triggers_inputs_strategy_and_jobs_map_as_the_docs_say() {
    let text = "name: Nightly\non:\n  schedule:\n    - cron: '30 2 * * 1-5'\n  workflow_dispatch:\n    inputs:\n      target:\n        type: choice\n        options: [staging, prod]\n        required: true\n      dry:\n        type: boolean\n        default: true\n      count:\n        type: number\nconcurrency:\n  group: nightly-${{ inputs.target }}\n  cancel-in-progress: false\njobs:\n  test:\n    strategy:\n      max-parallel: 2\n      fail-fast: false\n      matrix:\n        py: ['3.12', '3.14']\n    continue-on-error: ${{ matrix.py == '3.14' }}\n    steps: [{run: make}]\n  deploy:\n    needs: test\n    if: needs.test.result == 'success' && inputs.dry == false\n    environment: production\n    steps: [{run: make deploy}]\n  shared:\n    uses: org/repo/.github/workflows/x.yml@v1\n";
    let i = import(Kind::Github, "n.yml", text).unwrap();
    let p = loads(&i);
    for want in [
        "[[schedule]]\ncron = \"30 2 * * 1-5\"\ntimezone = \"UTC\"",
        "concurrency = { group = \"nightly-${{ params.target }}\", on_conflict = \"queue\" }",
        "[params.target]\ntype = \"string\"\ndefault = \"\"",
        "[params.dry]\ntype = \"bool\"\ndefault = true",
        "allow_failure = \"${{ matrix.py == '3.14' }}\"",
        "max_parallel = 2\nfail_fast = false",
        "if = \"needs.test.result == 'success' && params.dry == false\"",
    ] {
        assert!(i.toml.contains(want), "{want}\n{}", i.toml);
    }
    assert!(step(&p, "deploy").gate.is_some());
    assert!(matches!(
        step(&p, "shared").action,
        baton_workflow::Action::Builtin(baton_workflow::Builtin::Fail)
    ));
    let lines: Vec<usize> = i.notes.iter().map(|n| n.line).collect();
    for l in [2, 14, 31, 34] {
        assert!(lines.contains(&l), "{l}: {:?}", i.notes);
    }
}

/// Every real file with any one line left out, or doubled (a broken indentation, a key
/// without its value or given twice, a job without its steps) imports to a workflow
/// that loads, or is refused at a line of the file: never a panic, never a workflow
/// baton refuses. The ~10,000 variants are shared out over the machine's cores (each
/// is independent; one thread took most of this crate's test time).
#[test]
fn every_fixture_with_a_line_left_out_or_doubled_loads_or_is_refused_at_a_line() {
    let mut files = Vec::new();
    for (kind, k) in [("github", Kind::Github), ("dagu", Kind::Dagu)] {
        for f in all(kind) {
            let (name, text) = fixture(kind, &f);
            files.push((k, name, text));
        }
    }
    // Every (file, line, times) variant, numbered; thread `t` of `n` takes those
    // numbered t, t + n, …, so the largest file is shared too.
    let variants: Vec<(usize, usize, usize)> = files
        .iter()
        .enumerate()
        .flat_map(|(f, (_, _, text))| {
            (0..text.lines().count()).flat_map(move |i| [(f, i, 0), (f, i, 2)])
        })
        .collect();
    let n = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    std::thread::scope(|scope| {
        for t in 0..n {
            let (files, variants) = (&files, &variants);
            scope.spawn(move || {
                for &(f, skip, times) in variants.iter().skip(t).step_by(n) {
                    let (k, name, text) = &files[f];
                    line_left_out_or_doubled(*k, name, text, skip, times);
                }
            });
        }
    });
}

/// `text` with line `skip` (from 0) written `times` times imports to a workflow that
/// loads, or is refused at a line of the file.
fn line_left_out_or_doubled(k: Kind, name: &str, text: &str, skip: usize, times: usize) {
    let lines: Vec<&str> = text.lines().collect();
    let cut: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == skip {
                format!("{l}\n").repeat(times)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    match import(k, name, &cut) {
        Ok(i) => {
            if let Err(d) = load_imported(&i.toml) {
                panic!("{name} without line {}: {d}\n{}", skip + 1, i.toml);
            }
        }
        Err(e) => assert!(
            e.line >= 1 && e.line <= lines.len() + 1,
            "{name} without line {}: {e}",
            skip + 1
        ),
    }
}
