//! Issue 78 point 7: GitHub workflows others wrote, imported and run. The files are
//! nektos/act's own test workflows (tests/fixtures/import/act/, each citing its path in
//! nektos/act at commit bd86152165b976e89c24093ceb039d732b5ed95f), and the outcome each
//! must have is the one act's test table gives it (pkg/runner/runner_test.go,
//! `TestRunEvent`: "" for success, or the failure it expects). Every check the files
//! make is their own (`grep`, `[[ … ]]`, `exit ${{ … && '0' || '1' }}`): a construct
//! baton ran differently from GitHub fails the file's own step.
use crate::helpers::*;
use std::path::{Path, PathBuf};

fn act(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/act")
        .join(name)
}

/// Import `file` and run it headless with `params` and `vars` in its environment:
/// exit code and `show --json`.
fn run(env: &Env, file: &str, params: &[&str], vars: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let src = act(file);
    let out = env.path().join(format!("{file}.toml"));
    let o = env.run(&[
        "import",
        "github",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{file}: {}", text(&o.stderr));
    let mut c = env.cmd();
    c.args(["run", out.to_str().unwrap(), "--headless"]);
    for p in params {
        c.args(["--param", p]);
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = c.stdin(std::process::Stdio::null()).output().unwrap();
    let id = run_id_of(&text(&o.stdout));
    (o.status.code().unwrap_or(-1), env.show(&id))
}

/// The first lines of each fixture name its source and act's expected outcome.
#[test]
fn every_act_fixture_cites_its_source_and_expected_outcome() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/act");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let t = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(
            t.starts_with("# Source: nektos/act, pkg/runner/testdata/")
                || t.starts_with("# Source: nektos/act, pkg/model/testdata/"),
            "{t}"
        );
        assert!(t.contains("at commit bd86152165b976e89c24093ceb039d732b5ed95f"));
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .starts_with("# act's expected outcome")
        );
        n += 1;
    }
    assert!(n >= 64, "{n} fixtures");
}

/// A file, the params and the environment it runs with.
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

/// act expects each of these to succeed: every job ends `succeeded`, the run too.
/// `issue-1195` and `runs-on` read the repository owner and actor act's test gives
/// (`nektos`, `nektos/act`), here as the params GitHub's `github.*` are; `if-env-act`
/// reads `env.ACT`, which act sets.
#[test]
fn act_workflows_that_succeed_succeed() {
    let cases: &[Case] = &[
        ("matrix.yml", &[], &[]),
        ("matrix-include-exclude.yml", &[], &[]),
        ("commands.yml", &[], &[]),
        ("env-and-path.yaml", &[], &[]),
        ("environment-files.yaml", &[], &[]),
        ("environment-files-parser-bug.yaml", &[], &[]),
        ("evalenv.yml", &[], &[]),
        ("job-needs-context-contains-result.yml", &[], &[]),
        ("outputs.yml", &[], &[]),
        ("set-env-new-env-file-per-step.yml", &[], &[]),
        ("shells-bash.yml", &[], &[]),
        ("shells-sh.yml", &[], &[]),
        ("steps-context-conclusion.yml", &[], &[]),
        ("steps-context-outcome.yml", &[], &[]),
        ("issue-1195.yml", &["github_repository_owner=nektos"], &[]),
        ("runs-on.yml", &["github_actor=nektos/act"], &[]),
        ("if-env-act.yml", &[], &[("ACT", "true")]),
    ];
    let env = Env::new();
    for (file, params, vars) in cases {
        let (code, show) = run(&env, file, params, vars);
        assert_eq!(show["state"], "succeeded", "{file}: {show:#}");
        assert_eq!(code, 0, "{file}");
    }
}

/// `shells/python`: `shell: python` runs the body with the machine's python, as the
/// runner does (`.ci/run` installs one where there is none).
#[test]
fn act_python_shell_succeeds_where_python_is() {
    assert!(
        std::process::Command::new("python")
            .arg("-V")
            .output()
            .is_ok(),
        "no `python` on PATH: install Debian's python-is-python3 (`.ci/run` does)"
    );
    let env = Env::new();
    let (code, show) = run(&env, "shells-python.yml", &[], &[]);
    assert_eq!(
        (code, &show["state"]),
        (0, &serde_json::json!("succeeded")),
        "{show:#}"
    );
}

/// act expects these to fail, and says which job: `fail` ("exit with `FAILURE`: 1"),
/// `if-expressions` ("Job 'mytest' failed": a step after the failure with `if:
/// success()` does not run, one with `if: failure()` does), `job-status-check` ("job
/// 'fail' failed": `success() || failure()` jobs run after it, the job needing them is
/// skipped as GitHub's implied `success()` reads `fail` above them), `matrix-exitcode`
/// ("Job 'test' failed": one cell of two, `fail-fast: false`).
#[test]
fn act_workflows_that_fail_fail_where_act_says() {
    let env = Env::new();
    let (code, show) = run(&env, "fail.yml", &[], &[]);
    assert_eq!(
        (code, step_state(&show, "build").as_deref()),
        (1, Some("failed"))
    );

    let (code, show) = run(&env, "if-expressions.yml", &[], &[]);
    assert_eq!(code, 1);
    assert_eq!(step_state(&show, "mytest").as_deref(), Some("failed"));
    assert_eq!(
        step_state(&show, "next").as_deref(),
        Some("upstream_failed")
    );
    let logs = text(
        &env.run(&["logs", show["id"].as_str().unwrap(), "mytest"])
            .stdout,
    );
    assert!(logs.contains("expected to run"), "{logs}");
    assert!(!logs.contains("Shouldn't run"), "{logs}");

    let (code, show) = run(&env, "job-status-check.yml", &[], &[]);
    assert_eq!(code, 1);
    for (s, st) in [
        ("fail", "failed"),
        ("suc1", "succeeded"),
        ("suc2", "succeeded"),
        ("next", "upstream_failed"),
    ] {
        assert_eq!(step_state(&show, s).as_deref(), Some(st), "{s}: {show:#}");
    }

    let (code, show) = run(&env, "matrix-exitcode.yml", &[], &[]);
    assert_eq!(code, 1);
    for (s, st) in [
        ("test[success]", "succeeded"),
        ("test[failure]", "failed"),
        ("test", "failed"),
    ] {
        assert_eq!(step_state(&show, s).as_deref(), Some(st), "{s}: {show:#}");
    }
}

/// `evalmatrix`: a matrix written as `fromJSON` of a literal, an `include`-only matrix
/// and one whose `include` adds a key run their cells as GitHub makes them, each
/// checking its own values (`exit ${{ matrix.A && '0' || '1' }}`). The jobs after them
/// read a matrix job's output, which baton gives as the list of its cells' values where
/// GitHub gives one cell's (docs/import-github.md): they fail here.
#[test]
fn act_evalmatrix_cells_run_with_githubs_values() {
    let env = Env::new();
    let (_, show) = run(&env, "evalmatrix.yml", &[], &[]);
    for s in [
        "evalm[A]",
        "evalm[B]",
        "_additionalinclude_0[val]",
        "_additionalproperties_0[0,0,0,val]",
    ] {
        assert_eq!(
            step_state(&show, s).as_deref(),
            Some("succeeded"),
            "{s}: {show:#}"
        );
    }
}

/// Files whose matrix GitHub knows only during its run (`fromJSON` of a need's output,
/// a key from an output), or whose matrix values hold expressions: each imports, says
/// so at its line, loads, and the job fails saying why rather than running with a
/// matrix that is not GitHub's. `defaults-run` reads `$SHELL`, which is the machine's.
#[test]
fn act_workflows_baton_cannot_run_as_github_import_and_say_why() {
    let env = Env::new();
    for (file, line, says) in [
        (
            "evalmatrixneeds.yml",
            17,
            "`matrix: ${{fromJson(needs.prepare.outputs.matrix)}}`",
        ),
        (
            "evalmatrixneeds2.yml",
            19,
            "matrix key `${{needs.prepare.outputs.helix}}`",
        ),
    ] {
        let src = act(file);
        let o = env.run(&["import", "github", src.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0));
        let report = text(&o.stderr);
        assert!(
            report.contains(&format!("{file}:{line}: {says}: the job fails saying so")),
            "{report}"
        );
        let (code, show) = run(&env, file, &[], &[]);
        assert_eq!(code, 1);
        assert_eq!(step_state(&show, "prepare").as_deref(), Some("succeeded"));
        assert_eq!(step_state(&show, "evalm").as_deref(), Some("failed"));
    }
    let src = act("defaults-run.yaml");
    let o = env.run(&["import", "github", src.to_str().unwrap(), "-o", "d.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    ok(&env.run(&["validate", "d.toml"]));
}
