//! Issue 57 point 1: `baton import github|dagu` on real files of well-known projects
//! (tests/fixtures/import/, each citing its source and commit): each imports, its report
//! names FILE:LINE, `baton validate` accepts the result; and imported workflows run as
//! their originals do in named scenarios.
use crate::helpers::*;
use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(kind)
        .join(name)
}

/// `baton import KIND FILE -o OUT` in `env`: the output's path and the report (stderr).
fn import(env: &Env, kind: &str, file: &Path) -> (PathBuf, String) {
    let out = env.path().join(format!(
        "{}.toml",
        file.file_stem().unwrap().to_string_lossy()
    ));
    let o = env.run(&[
        "import",
        kind,
        file.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    (out, text(&o.stderr))
}

/// A Dagu file's child DAGs after `---`, each put in a file of its own and imported
/// beside the parent, as the report asks (the parent's steps name them): their names.
fn import_children(env: &Env, file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut names = Vec::new();
    for doc in text.split("\n---\n").skip(1) {
        let Some(name) = doc
            .lines()
            .find_map(|l| l.strip_prefix("name: "))
            .map(str::trim)
        else {
            continue;
        };
        let yaml = env.path().join(format!("{name}.yaml"));
        std::fs::write(&yaml, doc).unwrap();
        import(env, "dagu", &yaml);
        names.push(name.to_string());
    }
    names
}

#[test]
fn every_real_workflow_imports_reports_each_construct_at_its_line_and_validates() {
    let env = Env::new();
    for kind in ["github", "dagu"] {
        for f in fixtures(kind) {
            if kind == "dagu" {
                import_children(&env, &f);
            }
            let (out, report) = import(&env, kind, &f);
            let file = f.to_str().unwrap();
            let written = std::fs::read_to_string(&out).unwrap();
            assert!(
                written.starts_with("# Imported by `baton import` from"),
                "{written}"
            );
            assert!(
                written.contains(file),
                "the header names the source: {written}"
            );
            // Each report line is FILE:LINE: …, and the same line heads the workflow.
            for line in report.lines().filter(|l| !l.starts_with("wrote ")) {
                let rest = line
                    .strip_prefix(&format!("{file}:"))
                    .unwrap_or_else(|| panic!("{line}"));
                let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
                assert!(n.parse::<usize>().is_ok_and(|n| n > 0), "{line}");
                assert!(
                    written.contains(&format!("#   {line}")),
                    "{line} not in the header"
                );
            }
            let v = env.run(&["validate", out.to_str().unwrap()]);
            assert_eq!(
                v.status.code(),
                Some(0),
                "{}: {}",
                f.display(),
                text(&v.stderr)
            );
        }
    }
    // Without -o the workflow goes to stdout, the report to stderr.
    let f = fixture("github", "requests-run-tests.yml");
    let o = env.run(&["import", "github", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains("matrix = { python-version = ["),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stderr)
            .contains(":35: step 3: `${{ matrix.python-version == '3.15-dev' && '1' || '' }}` in env `PYO3_USE_ABI3_FORWARD_COMPATIBILITY`: decided in the job's script"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn unreadable_or_invalid_input_exits_2_with_file_line_and_what_is_wrong() {
    let env = Env::new();
    let bad = env.workflow("bad.yml", "on: push\njobs:\n  test:\n    needs: [biuld]\n    steps: [{run: make}]\n  build:\n    steps: [{run: make}]\n");
    let o = env.run(&["import", "github", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with(&format!(
            "{}:4:1: error: job `test` needs `biuld`",
            bad.display()
        )),
        "{}",
        text(&o.stderr)
    );
    let yaml = env.workflow("bad.yaml", "steps:\n  - name: a\n    command: [echo\n");
    let o = env.run(&["import", "dagu", yaml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("bad.yaml:4:1: error: not YAML"),
        "{}",
        text(&o.stderr)
    );
    let o = env.run(&["import", "dagu", "missing.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("missing.yaml: error: no such file"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty());
}

/// Import the scenario fixture and run it headless with `params`: state and show.
fn scenario(env: &Env, params: &[&str]) -> (Option<i32>, serde_json::Value) {
    let (wf, _) = import(env, "github", &fixture("github", "scenarios.yml"));
    let mut args = vec!["run", wf.to_str().unwrap(), "--headless"];
    for p in params {
        args.extend(["--param", p]);
    }
    let out = env.run(&args);
    let id = run_id_of(&text(&out.stdout));
    (out.status.code(), env.show(&id))
}

fn states(show: &serde_json::Value, want: &[(&str, &str)]) {
    for (s, st) in want {
        assert_eq!(step_state(show, s).as_deref(), Some(*st), "{s}: {show:#}");
    }
}

/// GitHub: "If a job fails or is skipped, all jobs that need it are skipped unless the
/// jobs use a conditional expression that causes the job to continue" (Workflow syntax,
/// `jobs.<job_id>.needs`); `always()` makes a job run "regardless of whether it was
/// successful" (Expressions, status check functions). alls-green passes a need listed
/// in `allowed-skips`.
#[test]
fn scenario_a_need_is_skipped_so_the_job_that_needs_it_is_skipped() {
    let env = Env::new();
    let (code, show) = scenario(&env, &[]);
    assert_eq!(code, Some(0), "{show:#}");
    assert_eq!(show["state"], "succeeded");
    states(
        &show,
        &[
            ("build", "succeeded"),
            ("tests", "succeeded"),
            ("release", "skipped"),
            ("announce", "skipped"),
            ("report", "succeeded"),
            // every need passed: the check has nothing to fail on (GitHub: success).
            ("required-checks", "skipped"),
        ],
    );
    // The release runs when its `if` holds.
    let (code, show) = scenario(&env, &["event=release"]);
    assert_eq!(code, Some(0));
    states(
        &show,
        &[("release", "succeeded"), ("announce", "succeeded")],
    );
}

/// GitHub: `strategy.fail-fast: true` "cancels all in-progress and queued jobs in the
/// matrix if any job in the matrix fails" (Workflow syntax, `jobs.<job_id>.strategy
/// .fail-fast`); the jobs that need the matrix job do not run (GitHub: skipped; baton:
/// `upstream_failed`, docs/import-github.md), `always()` jobs run, and the required
/// check fails the run.
#[test]
fn scenario_a_matrix_cell_fails_and_fail_fast_cancels_the_others() {
    let env = Env::new();
    let (code, show) = scenario(&env, &["fail_cell=3.12"]);
    assert_eq!(code, Some(1), "{show:#}");
    assert_eq!(show["state"], "failed");
    states(
        &show,
        &[
            ("tests[3.12]", "failed"),
            ("tests[3.13]", "cancelled"),
            ("tests[3.14]", "cancelled"),
            ("tests", "failed"),
            ("release", "upstream_failed"),
            ("announce", "upstream_failed"),
            ("report", "succeeded"),
            ("required-checks", "failed"),
        ],
    );
}

/// GitHub: cancelling a run cancels its running jobs and starts no job whose `if` is
/// not `always()` (Cancelling a workflow run); baton starts nothing once a run is
/// cancelled, `always()` jobs included (a declared difference, docs/import-github.md).
#[test]
fn scenario_the_run_is_cancelled_while_the_matrix_runs() {
    let env = Env::new();
    let (wf, _) = import(&env, "github", &fixture("github", "scenarios.yml"));
    let child = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "fail_cell=slow",
    ]);
    let run = env.wait_run_id();
    env.wait_step(&run, "tests[3.12]", "running", 30);
    let c = env.run(&["cancel", &run, "--reason", "superseded"]);
    assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled", "{show:#}");
    states(
        &show,
        &[("build", "succeeded"), ("tests[3.12]", "cancelled")],
    );
    for s in ["release", "announce", "report", "required-checks"] {
        let st = step_state(&show, s).unwrap_or_default();
        assert!(
            !["running", "succeeded", "failed"].contains(&st.as_str()),
            "{s} is {st}: {show:#}"
        );
    }
}

/// Dagu's own test DAG for preconditions (internal/testdata/integration/
/// skipped-preconditions.yaml): an unmet precondition skips its step, a met one runs
/// it, and their `output`s are what Dagu's integration test expects
/// (internal/integration/definition_test.go at the same commit: `OUT_RUN` "executed",
/// `OUT_SKIP` empty, `OUT_SKIP2` "should execute").
#[test]
fn dagu_preconditions_skip_a_step_as_dagu_does() {
    let env = Env::new();
    let (wf, _) = import(&env, "dagu", &fixture("dagu", "skipped-preconditions.yaml"));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(
        &show,
        &[
            ("run-step", "succeeded"),
            ("skip-step", "skipped"),
            ("skip-step2", "succeeded"),
        ],
    );
    assert_eq!(
        step_field(&show, "run-step", "outputs"),
        serde_json::json!({"OUT_RUN": "executed"})
    );
    assert_eq!(
        step_field(&show, "skip-step", "outputs"),
        serde_json::json!({})
    );
    assert_eq!(
        step_field(&show, "skip-step2", "outputs"),
        serde_json::json!({"OUT_SKIP2": "should execute"})
    );
    // Dagu's example of a precondition over a param: `foo` runs with the default.
    let (wf, _) = import(&env, "dagu", &fixture("dagu", "define_condition.yaml"));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(&show, &[("foo", "succeeded"), ("bar", "skipped")]);
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "arg1=bar",
    ]);
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(&show, &[("foo", "skipped"), ("bar", "succeeded")]);
}

/// Point 5: the examples hold one imported workflow of each kind, naming its original
/// in their first lines, and stay what `baton import` writes for it.
#[test]
fn the_imported_examples_are_what_baton_import_writes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (kind, source, example) in [
        (
            "github",
            "tests/fixtures/import/github/requests-run-tests.yml",
            "imported-gh-requests-tests.toml",
        ),
        (
            "dagu",
            "tests/fixtures/import/dagu/example_workflow.yaml",
            "imported-dagu-example.toml",
        ),
    ] {
        let env = Env::new();
        let o = env
            .cmd()
            .current_dir(root)
            .args(["import", kind, source])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let written = std::fs::read_to_string(root.join("examples").join(example)).unwrap();
        let (head, body) = written.split_at(written.match_indices('\n').nth(2).unwrap().0 + 1);
        assert!(head.starts_with("# The original: "), "{head}");
        assert_eq!(
            body,
            text(&o.stdout),
            "examples/{example}: regenerate it with `baton import {kind} {source}`"
        );
    }
}

/// Dagu: `handler_on.success` runs when the DAG succeeded, `failure` when it failed,
/// `exit` in either case; `continue_on.failure` lets the DAG go on past a failed step;
/// `retry_policy.limit` retries a step that many times (Dagu's docs, "Lifecycle
/// handlers", "Continue on", "Retry policy").
#[test]
fn scenario_dagu_handlers_retry_and_continue_on_failure() {
    let env = Env::new();
    let (wf, _) = import(&env, "dagu", &fixture("dagu", "scenario-handlers.yaml"));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(
        &show,
        &[
            ("flaky", "succeeded"),
            ("lint", "failed"),
            ("load", "succeeded"),
            ("on-success", "succeeded"),
            ("on-failure", "skipped"),
            ("on-exit", "succeeded"),
        ],
    );
    // Two retries, three attempts in all.
    assert_eq!(
        std::fs::read_to_string(env.path().join("tries"))
            .unwrap()
            .trim(),
        "3"
    );
    std::fs::remove_file(env.path().join("tries")).unwrap();
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "fail=yes",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(
        &show,
        &[
            ("load", "failed"),
            ("on-failure", "succeeded"),
            ("on-exit", "succeeded"),
        ],
    );
    let st = step_state(&show, "on-success").unwrap_or_default();
    assert!(
        st == "skipped" || st == "upstream_failed",
        "on-success is {st}"
    );
}

/// A job's steps run as one script with GitHub's rules (tests/fixtures/import/github/
/// steps.yml says which): a failed step skips the steps after it but `if: failure()`
/// and `if: always()` ones ("Expressions", status check functions); `continue-on-error`
/// lets the job go on; `$GITHUB_ENV` reaches later steps ("Workflow commands",
/// setting an environment variable); a job output reaches the job that needs it.
#[test]
fn scenario_a_jobs_steps_run_as_github_runs_them() {
    let env = Env::new();
    let (wf, report) = import(&env, "github", &fixture("github", "steps.yml"));
    assert!(
        report.contains(
            "steps.yml:23: job `produce`: its 10 step(s): one baton step whose script runs them"
        ),
        "{report}"
    );
    let read = |f: &str| std::fs::read_to_string(env.path().join(f)).ok();
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        read("step2.txt").as_deref(),
        Some("step 2 read: hello from step 1\n")
    );
    assert_eq!(read("after-success.txt").as_deref(), Some("ran\n"));
    assert_eq!(read("after-failure.txt"), None);
    assert_eq!(read("always.txt").as_deref(), Some("ran\n"));
    assert_eq!(read("consumed.txt").as_deref(), Some("1.2.3\n"));
    assert_eq!(read("version.txt").as_deref(), Some("v=1.2.3 and 1.2.3\n"));
    assert_eq!(read("on-tag.txt"), None);
    assert_eq!(read("not-windows.txt").as_deref(), Some("ran\n"));
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "github_ref=refs/tags/v1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(read("on-tag.txt").as_deref(), Some("ran\n"));
    for f in [
        "step2.txt",
        "after-success.txt",
        "always.txt",
        "consumed.txt",
        "on-tag.txt",
        "version.txt",
        "not-windows.txt",
    ] {
        std::fs::remove_file(env.path().join(f)).unwrap();
    }
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "break=true",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(
        &show,
        &[("produce", "failed"), ("consume", "upstream_failed")],
    );
    assert_eq!(read("after-success.txt"), None);
    assert_eq!(read("after-failure.txt").as_deref(), Some("ran\n"));
    assert_eq!(read("always.txt").as_deref(), Some("ran\n"));
    assert_eq!(read("consumed.txt"), None);
}

/// Dagu's example of nested workflows (a step that `call`s a child DAG defined after
/// `---`, with `params`): the step is a child run of the child's file, which the report
/// says to import next; once it is, the parent runs the child with its params and the
/// step's result is the child's.
#[test]
fn dagu_child_dag_step_runs_the_child_as_a_child_run() {
    let env = Env::new();
    let (wf, report) = import(&env, "dagu", &fixture("dagu", "nested-workflows.yaml"));
    assert!(report.contains("nested-workflows.yaml:9: step `step-2` runs the child DAG `sub-workflow`: a child run of `sub-workflow.toml`"), "{report}");
    assert!(
        report.contains("baton import dagu sub-workflow.yaml -o sub-workflow.toml"),
        "{report}"
    );
    assert!(
        report.contains("the child DAG `sub-workflow` after `---`: not imported here"),
        "{report}"
    );
    let written = std::fs::read_to_string(&wf).unwrap();
    assert!(
        written.contains("workflow = \"sub-workflow.toml\""),
        "{written}"
    );
    assert!(
        written.contains("params = { TASK_ID = \"123\" }"),
        "{written}"
    );
    // Before the child is imported, the parent names the file it misses.
    let v = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "{}", text(&v.stderr));
    assert!(
        text(&v.stderr).contains("`sub-workflow.toml` does not load"),
        "{}",
        text(&v.stderr)
    );
    assert_eq!(
        import_children(&env, &fixture("dagu", "nested-workflows.yaml")),
        ["sub-workflow"]
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(
        &show,
        &[
            ("step-1", "succeeded"),
            ("step-2", "succeeded"),
            ("step-3", "succeeded"),
        ],
    );
    let child = step_field(&show, "step-2", "child_run");
    let child = child.as_str().expect("step-2 names its child run");
    let logs = text(&env.run(&["logs", child, "step-1"]).stdout);
    assert!(
        logs.contains("Sub-workflow executing with TASK_ID=123"),
        "{logs}"
    );
}

/// Dagu: `continueOn.markSuccess` reads the failed step as succeeded, `repeatPolicy`
/// with a `condition` and `expected` runs the step again until its output matches,
/// `handlerOn.abort` runs when the DAG is cancelled and not otherwise (Dagu's docs,
/// "Continue on", "Repeat policy", "Lifecycle handlers").
#[test]
fn scenario_dagu_mark_success_repeat_and_the_abort_handler() {
    let env = Env::new();
    let (wf, report) = import(&env, "dagu", &fixture("dagu", "scenario-abort.yaml"));
    assert!(!report.contains("mark_success"), "{report}");
    let wf = wf.to_str().unwrap();
    let out = env.run(&["run", wf, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    states(
        &show,
        &[
            ("lint", "succeeded"),
            ("poll", "succeeded"),
            ("work", "succeeded"),
            ("on-abort", "skipped"),
        ],
    );
    assert_eq!(step_field(&show, "lint", "exit_code"), 3);
    assert_eq!(step_field(&show, "poll", "attempts"), 3);
    assert_eq!(step_field(&show, "poll", "outputs")["STATUS"], "done");
    assert!(!env.path().join("aborted").exists());

    // Cancelled (in a store of its own, so the run waited on is this one).
    let env = Env::new();
    let (wf, _) = import(&env, "dagu", &fixture("dagu", "scenario-abort.yaml"));
    let engine = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "wait=60",
    ]);
    let run = env.wait_run_id();
    env.wait_step(&run, "work", "running", 30);
    ok(&env.run(&["cancel", &run]));
    let out = wait_child(engine, 60);
    assert!(!out.status.success());
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled");
    states(&show, &[("work", "cancelled"), ("on-abort", "succeeded")]);
    assert!(env.path().join("aborted").exists());
}
