//! Issue 78 point 7, continued: more of nektos/act's own workflows
//! (tests/fixtures/import/act/, each citing its path in nektos/act at commit
//! bd86152165b976e89c24093ceb039d732b5ed95f and, on its second line, the outcome act's
//! tests give it), imported and run. The checks are the files' own (`[[ … ]]`, `exit
//! ${{ … && '0' || '1' }}`, `grep`): a construct baton ran differently from GitHub
//! fails the file's own step. Files act refuses are refused here (exit 2 at the line);
//! files whose steps are actions import, say so at the action's line, and run up to it.
use crate::helpers::*;
use std::path::{Path, PathBuf};

fn act(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/act")
        .join(name)
}

/// Import `file` into the test's directory: the written file and the report.
fn import(env: &Env, file: &str) -> (PathBuf, String) {
    let out = env.path().join(format!("{file}.toml"));
    let o = env.run(&[
        "import",
        "github",
        act(file).to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{file}: {}", text(&o.stderr));
    (out, text(&o.stderr))
}

/// Import and run `file` headless with `params` and `vars` (and without `unset`):
/// exit code and `show --json`.
fn run(
    env: &Env,
    file: &str,
    (params, vars, unset): (&[&str], &[(&str, &str)], &[&str]),
) -> (i32, serde_json::Value) {
    let (toml, _) = import(env, file);
    let mut c = env.cmd();
    c.args(["run", toml.to_str().unwrap(), "--headless"]);
    for p in params {
        c.args(["--param", p]);
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    for k in unset {
        c.env_remove(k);
    }
    let o = c.stdin(std::process::Stdio::null()).output().unwrap();
    assert!(!o.stdout.is_empty(), "{file}: {}", text(&o.stderr));
    let id = run_id_of(&text(&o.stdout));
    (o.status.code().unwrap_or(-1), env.show(&id))
}

fn logs(env: &Env, show: &serde_json::Value, step: &str) -> String {
    let o = env.run(&["logs", show["id"].as_str().unwrap(), step]);
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// A file, its params, its environment, the variables it runs without.
type Case<'a> = (
    &'a str,
    &'a [&'a str],
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
);

/// act expects each of these to succeed (or to plan without error): every job ends
/// `succeeded`. The params and variables are the inputs, secrets and `.env` act's
/// test gives the file (its `event.json`, `.secrets`, `.env`); `defaults-run` reads
/// `$SHELL`, which act's container leaves unset (bash sets it, sh does not).
#[test]
fn more_act_workflows_that_succeed_succeed() {
    let dispatch: &[&str] = &["required=required input", "boolean=true"];
    let cases: &[Case] = &[
        ("workdir.yml", &[], &[], &[]),
        ("nix-prepend-path.yml", &[], &[], &[]),
        ("workflow_dispatch.yml", dispatch, &[], &[]),
        ("workflow_dispatch-scalar.yml", &[], &[], &[]),
        ("workflow_dispatch_no_inputs_mapping.yml", &[], &[], &[]),
        ("workflow_call_inputs.yml", dispatch, &[], &[]),
        ("strategy.yml", &[], &[], &[]),
        (
            "secrets.yml",
            &[],
            &[
                ("MY_SECRET", "top-secret"),
                ("MULTILINE_SECRET", "foo\nbar\nbaz"),
                ("JSON_SECRET", "{\"foo\": \"bar\"}"),
                ("HELLO", "WORLD"),
                ("MULTILINE_ENV", "foo\nbar\nbaz"),
            ],
            &[],
        ),
        (
            "input-from-cli.yml",
            &[
                "NAME=n",
                "SOME_VALUE=v",
                "github_event_inputs_SOME_INPUT=input",
            ],
            &[],
            &[],
        ),
        ("invalid-job-name-valid-1.yml", &[], &[], &[]),
        ("invalid-job-name-valid-2.yml", &[], &[], &[]),
        ("nested-success.yml", &[], &[], &[]),
        ("evalmatrix-merge-map.yml", &[], &[], &[]),
        ("evalmatrix-merge-array.yml", &[], &[], &[]),
        (
            "local-reusable-workflow-no-inputs-string.yml",
            &[],
            &[],
            &[],
        ),
        ("local-reusable-workflow-no-inputs-array.yml", &[], &[], &[]),
        ("environment-variables.yml", &[], &[], &[]),
        ("defaults-run.yaml", &[], &[], &["SHELL"]),
    ];
    for case in cases {
        // A store of its own each: several files share a workflow name.
        let env = Env::new();
        let (code, show) = run(&env, case.0, (case.1, case.2, case.3));
        assert_eq!(show["state"], "succeeded", "{}: {show:#}", case.0);
        assert_eq!(code, 0, "{}", case.0);
    }
}

/// `strategy`: the five cells act's `TestReadWorkflow_Strategy` gives (the product
/// less its `exclude`, `php-version` added to the three it fits, two cells of their
/// own), and `workflow_dispatch` without its boolean input: the `if` step is skipped
/// and the step checking its output fails, as on GitHub.
#[test]
fn act_s_cells_and_inputs_are_githubs() {
    let env = Env::new();
    let (_, show) = run(&env, "strategy.yml", (&[], &[], &[]));
    let mut cells: Vec<String> = show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .filter(|id| id.starts_with("strategy-all["))
        .map(str::to_string)
        .collect();
    cells.sort();
    assert_eq!(
        cells,
        [
            "strategy-all[site-a,10.x,prod]",
            "strategy-all[site-b,12.x,dev]",
            "strategy-all[site-c,14.x,staging,5.4]",
            "strategy-all[site-c,16.x,staging,5.4]",
            "strategy-all[site-d,16.x,staging,5.4]",
        ],
        "{show:#}"
    );
    let env = Env::new();
    let (code, show) = run(
        &env,
        "workflow_dispatch.yml",
        (&["required=required input"], &[], &[]),
    );
    assert_eq!(
        (code, step_state(&show, "test").as_deref()),
        (1, Some("failed"))
    );
}

/// act refuses these before running anything (its `TestPlanner`, `TestGraph*` and
/// `TestJobExecutor`), and so does GitHub: the import exits 2 at the line, naming
/// what is wrong, and writes nothing.
#[test]
fn act_s_refusals_are_refused_at_their_line() {
    let env = Env::new();
    for (file, line, says) in [
        (
            "invalid-job-name-invalid-1.yml",
            7,
            "job id `invalid-JOB-Name-v1.2.3-docker_hub` is not one GitHub takes",
        ),
        (
            "invalid-job-name-invalid-2.yml",
            7,
            "job id `1234invalid-JOB-Name-v123-docker_hub`",
        ),
        (
            "uses-and-run-in-one-step.yml",
            12,
            "step 1 of job `test` has both `run` and `uses`",
        ),
        (
            "job-nil-step.yml",
            8,
            "step 1 of job `test` has neither `run` nor `uses`",
        ),
        (
            "issue-1595-no-first.yml",
            9,
            "job `second` needs `first`, which is not a job",
        ),
        (
            "issue-1595-missing.yml",
            9,
            "job `second` needs `first`, which is not a job",
        ),
        ("empty-workflow.yml", 1, "the file is not a YAML mapping"),
    ] {
        let out = env.path().join(format!("{file}.toml"));
        let o = env.run(&[
            "import",
            "github",
            act(file).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(&format!("{file}:{line}:1: error: {says}")),
            "{err}"
        );
        assert!(!out.exists(), "{file}");
    }
    // act plans no job of a file without `on:`; GitHub refuses it; the report says so.
    let (_, report) = import(&env, "issue-1595-no-event.yml");
    assert!(
        report.contains("issue-1595-no-event.yml:1: no `on:`: GitHub refuses"),
        "{report}"
    );
}

/// Files with `uses:` steps act runs and baton cannot: the report names each action
/// at its line, and the run does what GitHub does up to the first one, which fails
/// saying so. Reaching it proves the steps before it passed their own checks:
/// `::set-env` under `ACTIONS_ALLOW_UNSECURE_COMMANDS`, a step's `if` over `env`, a
/// `shell: cp {0} action.yml`, `$GITHUB_PATH`, `::add-mask::` (act's `TestMaskValues`:
/// no masked value in the log), `if:` over `endsWith` skipping action steps,
/// `$GITHUB_WORKSPACE` as the working directory, `${{ env.X }}` in a body, and
/// `github.head_ref`/`base_ref` from params.
#[test]
fn act_workflows_with_actions_run_up_to_the_first_and_say_so() {
    let none: &[&str] = &[];
    let pr: &[&str] = &[
        "github_head_ref=sample-head-ref",
        "github_base_ref=sample-base-ref",
    ];
    for (file, line, n, action, params) in [
        (
            "GITHUB_ENV-use-in-env-ctx.yml",
            14,
            2,
            "nektos/act-test-actions/script@main",
            none,
        ),
        ("set-env-step-env-override.yml", 22, 3, "./", none),
        ("path-handling.yml", 23, 4, "./path-handling/action/", none),
        ("mask-values.yml", 13, 4, "./mask-values/composite", none),
        (
            "issue-597.yaml",
            20,
            2,
            "actions/hello-world-javascript-action@main",
            none,
        ),
        (
            "issue-598.yml",
            19,
            2,
            "actions/hello-world-javascript-action@main",
            none,
        ),
        ("basic.yml", 16, 4, "docker://node:16-buster-slim", none),
        // act's TestRunEventPullRequest: its event.json's head and base refs, as params.
        ("pull-request.yaml", 28, 5, "./", pr),
    ] {
        // A store of its own each: `basic` and `pull-request` share a workflow name.
        let env = Env::new();
        let (_, report) = import(&env, file);
        assert!(
            report.contains(&format!(
                "{file}:{line}: step {n}: the action `{action}`: baton cannot run an action"
            )),
            "{report}"
        );
        let (code, show) = run(&env, file, (params, &[], &[]));
        assert_eq!(code, 1, "{file}: {show:#}");
        let job = show["steps"][0]["id"].as_str().unwrap().to_string();
        let log = logs(&env, &show, &job);
        assert!(
            log.contains(&format!(
                "step {n} uses the action {action}, which baton cannot run"
            )),
            "{file}: {log}"
        );
        assert!(!log.contains("command is disabled"), "{file}: {log}");
        if file == "mask-values.yml" {
            assert!(!log.contains("secret value"), "{log}");
            assert!(log.contains("***"), "{log}");
        }
    }
}

/// Files act runs through what baton has no counterpart for (reusable workflows,
/// containers, actions in every step): each imports, the report
/// names the construct at its line, and the workflow validates.
#[test]
fn act_workflows_baton_cannot_run_whole_say_so_at_the_line() {
    let env = Env::new();
    for (file, says) in [
        (
            "GITHUB_STATE.yml",
            "GITHUB_STATE.yml:44: step 2: the action `nektos/act-test-actions/script@main`",
        ),
        (
            "uses-workflow-defaults.yml",
            "uses-workflow-defaults.yml:21: job `call-reuse-w-val` calls the reusable workflow",
        ),
        ("container-volumes.yml", "container-volumes.yml:9: "),
        (
            "local-reusable-and-dispatch.yml",
            "local-reusable-and-dispatch.yml:16: `on: workflow_call`: its inputs are params; a calling workflow cannot call this one",
        ),
        (
            "pull-request.yaml",
            "pull-request.yaml:28: step 5: the action `./`",
        ),
    ] {
        let (toml, report) = import(&env, file);
        assert!(report.contains(says), "{file}: {report}");
        ok(&env.run(&["validate", toml.to_str().unwrap()]));
    }
}
