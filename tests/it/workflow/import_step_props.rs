//! Issue 78 points 3, 4 and 7, the last of them: Dagu's `${id.stdout}`,
//! `${id.stderr}` and `${id.exitCode}` (the step that has the value publishes it from
//! a wrapper) and their slices (`${id.output:0:5}`), the `.env` Dagu reads without a
//! `dotenv` key, and a GitHub output's trailing newlines, each on files of others and
//! ending as their engine's tests say. Dagu's DAGs are copied from dagu-org/dagu at
//! commit 59d92fc196a0cfd1f1f4b9cd1f1fcc96ef90251e, internal/intg/stepref_test.go and
//! env_test.go (the case each names), with its shell helpers as they expand on Linux
//! (`test.Output("x")` is `printf '%s\n' 'x'`, `test.Stderr("x")` the same to `1>&2`);
//! an output of several lines is one line in baton (its lines joined by a space).
use super::import_dagu_intg::{Case, Want, check};
use crate::helpers::*;
use Want::{Has, Is};

const CASES: &[Case] = &[
    Case {
        test: "stepref_test.go TestStepIDPropertyAccess/ExitCodeAccess",
        // Dagu's status is PartiallySucceeded (a failure allowed); baton's run succeeds
        // with the step failed.
        yaml: "\ntype: graph\nsteps:\n  - id: success\n    command: exit 0\n\n  - id: failure\n    command: exit 42\n    continue_on:\n      failure: true\n\n  - depends:\n      - success\n      - failure\n    command: |\n      echo \"success_code=${success.exitCode}\"\n      echo \"failure_code=${failure.exitCode}\"\n    output: EXIT_CODES\n",
        children: &[],
        succeeds: true,
        outputs: &[("EXIT_CODES", Is("success_code=0 failure_code=42"))],
    },
    Case {
        test: "stepref_test.go TestStepIDPropertyAccess/UnknownStepIDRemainsUnchanged",
        yaml: "\ntype: graph\nsteps:\n  - id: first_step\n    command: echo \"Hello\"\n    output: FIRST_OUT\n\n  - depends:\n      - first_step\n    command: |\n      printf '%s\\n' 'known=${first_step.stdout}'\n      printf '%s\\n' 'unknown=${unknown_step.stdout}'\n      printf '%s\\n' 'invalid=${first_step.unknown_property}'\n    output: RESULT\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("FIRST_OUT", Is("Hello")),
            (
                "RESULT",
                Has(&[
                    "known=",
                    ".out",
                    "${unknown_step.stdout}",
                    "${first_step.unknown_property}",
                ]),
            ),
        ],
    },
    Case {
        test: "stepref_test.go TestStepIDPropertyAccess/RegularVariableTakesPrecedenceOverStepID",
        yaml: "\ntype: graph\nsteps:\n  - id: check\n    command: echo '{\"status\":\"from-step\"}'\n    output: check\n\n  - depends:\n      - check\n    command: |\n      echo \"variable=${check.status}\"\n      echo \"stdout=${check.stdout}\"\n    output: PRECEDENCE_TEST\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("check", Is("{\"status\":\"from-step\"}")),
            (
                "PRECEDENCE_TEST",
                Has(&["variable=from-step", "stdout=", ".out"]),
            ),
        ],
    },
    Case {
        test: "stepref_test.go TestStepIDComplexScenarios/StepIDInScript",
        yaml: "\ntype: graph\nsteps:\n  - id: setup_step\n    command: echo '{\"env\":\"test\",\"timeout\":30}'\n    output: CONFIG\n\n  - depends:\n      - setup_step\n    script: |\n      #!/bin/bash\n      set -e\n\n      # Access file paths\n      echo \"Setup logs available at: ${setup_step.stdout}\"\n    output: SCRIPT_OUTPUT\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("CONFIG", Is("{\"env\":\"test\",\"timeout\":30}")),
            ("SCRIPT_OUTPUT", Has(&["Setup logs available at:", ".out"])),
        ],
    },
    Case {
        test: "stepref_test.go TestStepScopedOutputAccess/OutputVsStdout",
        yaml: "\ntype: graph\nsteps:\n  - id: producer\n    output: CAPTURED\n    script: |\n      printf 'captured value'\n\n  - id: consumer\n    depends: [producer]\n    script: |\n      printf 'output=%s\\nstdout=%s' \"${producer.output}\" \"${producer.stdout}\"\n    output: RESULT\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("CAPTURED", Is("captured value")),
            ("RESULT", Has(&["output=captured value", "stdout=", ".out"])),
        ],
    },
    Case {
        test: "stepref_test.go TestStepScopedOutputAccess/OutputSlicing",
        yaml: "\ntype: graph\nsteps:\n  - id: producer\n    output: DATA\n    script: |\n      printf 'hello world'\n\n  - id: consumer\n    depends: [producer]\n    script: |\n      printf 'sliced=%s' \"${producer.output:0:5}\"\n    output: RESULT\n",
        children: &[],
        succeeds: true,
        outputs: &[("DATA", Is("hello world")), ("RESULT", Is("sliced=hello"))],
    },
    Case {
        test: "env_test.go TestEnv/StepOutputSubstrings",
        yaml: "\ntype: graph\nsteps:\n  - id: producer\n    name: producer\n    command: echo \"HBL01_22OCT2025_0536\"\n    output: PRODUCER_OUTPUT\n  - id: substring_validate\n    name: substring-validate\n    depends: producer\n    command: |\n      if [ \"${producer.stdout:0:5}${producer.stdout:5}\" = \"${producer.stdout}\" ]; then\n        echo OK\n      else\n        echo FAIL\n        exit 1\n      fi\n    output: SUBSTRING_VALIDATION\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("PRODUCER_OUTPUT", Is("HBL01_22OCT2025_0536")),
            ("SUBSTRING_VALIDATION", Is("OK")),
        ],
    },
];

#[test]
fn dagus_step_properties_read_as_its_tests_assert() {
    for c in CASES {
        check(c);
    }
}

/// stepref_test.go TestStepIDPropertyAccess/BasicStdout/StderrFileAccess: the paths
/// end in `.out` and `.err`, and (Dagu's log files, SKILL.md: "`${step_id.stdout}` is
/// a log file path") the files hold what the step wrote there, which its log still
/// shows.
#[test]
fn dagus_stdout_and_stderr_are_files_holding_what_the_step_wrote() {
    let yaml = "\ntype: graph\nsteps:\n  - id: gen\n    command: |\n      printf '%s\\n' 'Test output data'\n      printf '%s\\n' 'Error message' 1>&2\n    output: GEN_OUTPUT\n\n  - depends:\n      - gen\n    command: |\n      printf '%s\\n' 'stdout_file=${gen.stdout}'\n      printf '%s\\n' 'stderr_file=${gen.stderr}'\n    output: FILE_PATHS\n";
    let env = Env::new();
    std::fs::write(env.path().join("dag.yaml"), yaml).unwrap();
    let o = env.run(&["import", "dagu", "dag.yaml", "-o", "dag.toml"]);
    let report = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert!(
        report.contains("`${gen.stdout}`: the output `dagu_stdout` step `gen` writes"),
        "{report}"
    );
    let run = env.run(&["run", "dag.toml", "--headless"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    let id = run_id_of(&text(&run.stdout));
    let show = env.show(&id);
    let steps = show["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["outputs"]["GEN_OUTPUT"], "Test output data",
        "{show}"
    );
    let paths = steps[1]["outputs"]["FILE_PATHS"].as_str().unwrap();
    let mut words = paths.split(' ');
    let out = words.next().unwrap().strip_prefix("stdout_file=").unwrap();
    let err = words.next().unwrap().strip_prefix("stderr_file=").unwrap();
    assert!(out.ends_with(".out") && err.ends_with(".err"), "{paths}");
    assert_eq!(std::fs::read_to_string(out).unwrap(), "Test output data\n");
    assert_eq!(std::fs::read_to_string(err).unwrap(), "Error message\n");
    let log = text(&env.run(&["logs", &id, "gen"]).stdout);
    assert!(
        log.contains("Test output data") && log.contains("Error message"),
        "{log}"
    );
}

/// Dagu reads `.env` before the files `dotenv` names, and reads it when there is no
/// `dotenv` key (internal/core/spec/dag.go `buildDotenv`, "EmptyDefaultsToDotEnv" of
/// dag_test.go; internal/core/dag.go `loadDotEnvFiles`: `.env` first, later files
/// win). The DAG is secret_test.go's TestEnvSecretMasking/EnvSecretFromDotenvFile
/// without its `dotenv: .env` line, `working_dir` and `secrets` (a secret masks the
/// value in Dagu's log; the value read is the point here).
#[test]
fn dagus_own_dotenv_file_is_read_without_a_dotenv_key() {
    let env = Env::new();
    std::fs::write(
        env.path().join(".env"),
        "DOTENV_SECRET=dotenv-loaded-secret-2468\nWHICH=env\n",
    )
    .unwrap();
    std::fs::write(env.path().join(".env.local"), "WHICH=local\n").unwrap();
    for (yaml, want) in [
        (
            "steps:\n  - name: use-dotenv-secret\n    command: echo \"Dotenv secret is ${DOTENV_SECRET}\"\n    output: RESULT\n",
            "Dotenv secret is dotenv-loaded-secret-2468",
        ),
        (
            "dotenv: .env.local\nsteps:\n  - command: echo \"${DOTENV_SECRET} ${WHICH}\"\n    output: RESULT\n",
            "dotenv-loaded-secret-2468 local",
        ),
    ] {
        std::fs::write(env.path().join("dag.yaml"), yaml).unwrap();
        let o = env.run(&["import", "dagu", "dag.yaml", "-o", "dag.toml"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let run = env.run(&["run", "dag.toml", "--headless"]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
        let show = env.show(&run_id_of(&text(&run.stdout)));
        assert_eq!(show["steps"][0]["outputs"]["RESULT"], want, "{show}");
    }
}

/// GitHub keeps an output's trailing newlines: the value of
/// `::set-output name=foo::{%0A  "hello": "world"%0A}%0A` (the example of
/// edwardgeorge/gha-echo-output's README.md at commit
/// 9efe5ad4ee1ba8407e17e3adbdd87249fe168c23, which escapes a value for it) is three
/// lines, each ended, in the `env` of a step that reads it.
#[test]
fn a_github_output_keeps_its_trailing_newlines() {
    let env = Env::new();
    let wf = r#"on: workflow_dispatch
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: x
        run: |
          echo '::set-output name=foo::{%0A  "hello": "world"%0A}%0A'
      - env:
          FOO: ${{ steps.x.outputs.foo }}
        run: |
          printf '%s' "$FOO" > env.txt
"#;
    std::fs::write(env.path().join("wf.yml"), wf).unwrap();
    let o = env.run(&["import", "github", "wf.yml", "-o", "wf.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let run = env.run(&["run", "wf.toml", "--headless"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    let value = "{\n  \"hello\": \"world\"\n}\n";
    assert_eq!(
        std::fs::read_to_string(env.path().join("env.txt")).unwrap(),
        value
    );
}

/// nektos/act's pkg/runner/testdata/.github/workflows/local-reusable-workflow.yml (at
/// bd86152165b976e89c24093ceb039d732b5ed95f, tests/fixtures/import/act/) checks
/// `toJSON` of its inputs in its `run:` bodies (`[[ "${{ tojson(inputs.bool_required)
/// }}" = "true" ]]`, `tojson(inputs.number_required) == '1'`); act's test runs it
/// with string_required=string, bool_required=true, number_required=1 and the secret
/// keep_it_private and expects success. A boolean or number input is bare, a text a
/// JSON string, a matrix value its cell's JSON (`1` for the number 1).
#[test]
fn tojson_of_inputs_runs_as_act_expects() {
    let env = Env::new();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/act/local-reusable-workflow.yml");
    let o = env.run(&["import", "github", src.to_str().unwrap(), "-o", "wf.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report = text(&o.stderr);
    assert!(
        !report.contains("tojson(inputs.bool_required) }}` in `run:`: left empty"),
        "{report}"
    );
    let run = env
        .cmd()
        .args(["run", "wf.toml", "--headless"])
        .args(["--param", "string_required=string"])
        .args(["--param", "bool_required=true"])
        .args(["--param", "number_required=1"])
        .env("secret", "keep_it_private")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let id = run_id_of(&text(&run.stdout));
    let logs = text(&env.run(&["logs", &id]).stdout);
    assert_eq!(run.status.code(), Some(0), "{}\n{logs}", text(&run.stdout));
    assert!(logs.contains("inputs.bool_required=true"), "{logs}");
    assert!(logs.contains("inputs.number_required=1"), "{logs}");
    // A text input is a JSON string: GitHub's `toJSON('string')` is `"string"`.
    let wf = "on:\n  workflow_dispatch:\n    inputs:\n      s:\n        type: string\n        default: 'a \"b\"'\njobs:\n  j:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        n: [1]\n    steps:\n      - run: printf '%s|%s' '${{ toJSON(inputs.s) }}' '${{ toJSON(matrix.n) }}' > out.txt\n";
    std::fs::write(env.path().join("t.yml"), wf).unwrap();
    let o = env.run(&["import", "github", "t.yml", "-o", "t.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr)
            .contains("`${{ toJSON(matrix.n) }}` in `run:`: decided in the job's script"),
        "{}",
        text(&o.stderr)
    );
    let run = env.run(&["run", "t.toml", "--headless"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    assert_eq!(
        std::fs::read_to_string(env.path().join("out.txt")).unwrap(),
        "\"a \\\"b\\\"\"|1"
    );
}

/// A value `a || b` picks keeps its trailing newlines where it is only read, as GitHub
/// keeps them (its expressions compare text exactly, ignoring case: actions/
/// languageservices, expressions/src/result.ts `equals`): `yes⏎` is not `yes` in an
/// `if`, ends with no `yes`, starts with `YES`; `timeout-minutes` reads `1⏎` as the
/// number 1, as JavaScript's `Number` reads a text (expressions/src/data/string.ts);
/// `continue-on-error` is on for `true` and not for `true⏎`.
#[test]
fn a_picked_value_keeps_its_trailing_newlines_in_an_if_a_timeout_and_a_switch() {
    let env = Env::new();
    let wf = r#"on: workflow_dispatch
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: x
        run: |
          echo '::set-output name=v::yes%0A'
          echo '::set-output name=n::1%0A'
          echo '::set-output name=t::true'
          echo '::set-output name=tn::true%0A'
      - if: ${{ (steps.x.outputs.v || 'no') == 'yes' }}
        run: touch eq-without-newline
      - if: "${{ (steps.x.outputs.v || 'no') == 'yes\n' }}"
        run: touch eq-with-newline
      - if: ${{ endsWith(steps.x.outputs.v || 'no', 'yes') }}
        run: touch ends-without-newline
      - if: ${{ startsWith(steps.x.outputs.v || 'no', 'YES') }}
        run: touch starts
      - if: ${{ steps.x.outputs.v != 'yes' }}
        run: touch differs
      - timeout-minutes: ${{ steps.x.outputs.n || 5 }}
        run: tr '\0' ' ' < /proc/$PPID/cmdline > parent.txt
      - continue-on-error: ${{ steps.x.outputs.t || false }}
        run: exit 3
      - run: touch after-true
      - continue-on-error: ${{ steps.x.outputs.tn || false }}
        run: exit 3
      - run: touch after-true-newline
"#;
    std::fs::write(env.path().join("wf.yml"), wf).unwrap();
    let o = env.run(&["import", "github", "wf.yml", "-o", "wf.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let run = env.run(&["run", "wf.toml", "--headless"]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    let there = |f: &str| env.path().join(f).exists();
    for (file, ran) in [
        ("eq-without-newline", false),
        ("eq-with-newline", true),
        ("ends-without-newline", false),
        ("starts", true),
        ("differs", true),
        ("after-true", true),
        ("after-true-newline", false),
    ] {
        assert_eq!(there(file), ran, "{file}");
    }
    let parent = std::fs::read_to_string(env.path().join("parent.txt")).unwrap();
    assert!(parent.starts_with("timeout 60s "), "{parent}");
}
