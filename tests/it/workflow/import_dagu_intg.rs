//! Issue 78 points 4 and 7: DAGs of Dagu's own integration tests, each imported by
//! `baton import dagu` and run by the real binary, ending as Dagu's test asserts (its
//! status, the outputs it names). Every DAG is copied from dagu-org/dagu at commit
//! 59d92fc196a0cfd1f1f4b9cd1f1fcc96ef90251e, from the Go test named in its case
//! (`FILE TestName/SubTest`), with Dagu's shell helpers written out as they expand on
//! Linux (`test.Output("x")` is `printf '%s\n' 'x'`). A child DAG after `---` is put
//! in a file of its own and imported first, as the import's report says. An output of
//! several lines is one line in baton (its lines joined by a space): the values below
//! are Dagu's with that one change, noted where it applies.
use crate::helpers::*;

/// What a run's output must be.
#[derive(Clone, Copy)]
pub(super) enum Want {
    /// Exactly this text.
    Is(&'static str),
    /// Each of these within it (Dagu's `[]test.Contains`).
    Has(&'static [&'static str]),
    /// No step gave it (a skipped step, a step after a failure).
    Missing,
}

pub(super) struct Case {
    /// Dagu's Go test, `internal/intg/FILE TestName/SubTest`.
    pub test: &'static str,
    pub yaml: &'static str,
    /// Child DAGs: (name, YAML), each imported as NAME.toml beside the parent.
    pub children: &'static [(&'static str, &'static str)],
    /// Dagu's test expects the run to succeed.
    pub succeeds: bool,
    pub outputs: &'static [(&'static str, Want)],
}

fn import(env: &Env, name: &str, yaml: &str) -> (std::path::PathBuf, String) {
    let src = env.path().join(format!("{name}.yaml"));
    std::fs::write(&src, yaml).unwrap();
    let out = env.path().join(format!("{name}.toml"));
    let o = env.run(&[
        "import",
        "dagu",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
    (out, text(&o.stderr))
}

/// Import `c` (its children first), run it, check the status and outputs its Dagu
/// test asserts; the run's `show` and the import's report.
pub(super) fn check(c: &Case) -> (serde_json::Value, String) {
    let env = Env::new();
    for (name, yaml) in c.children {
        import(&env, name, yaml);
    }
    let (file, report) = import(&env, "dag", c.yaml);
    let run = env.run(&["run", file.to_str().unwrap(), "--headless"]);
    let printed = text(&run.stdout);
    let show = env.show(&run_id_of(&printed));
    let toml = std::fs::read_to_string(&file).unwrap();
    let ctx = format!(
        "{}\n{show}\n{report}\n{toml}\n{}",
        c.test,
        text(&run.stderr)
    );
    assert_eq!(run.status.code() == Some(0), c.succeeds, "{ctx}");
    let steps = show["steps"].as_array().cloned().unwrap_or_default();
    for (key, want) in c.outputs {
        // The last step that gave it: Dagu's latest value of a name.
        let got = steps
            .iter()
            .rev()
            .find_map(|s| s["outputs"][*key].as_str().map(str::to_string));
        match (want, got) {
            (Want::Is(v), Some(g)) => assert_eq!(g, *v, "{key}: {ctx}"),
            (Want::Has(parts), Some(g)) => {
                for p in *parts {
                    assert!(g.contains(p), "{key} lacks {p:?}: {g:?}\n{ctx}");
                }
            }
            (Want::Missing, None) => {}
            (w, g) => panic!(
                "{key}: got {g:?}, want {}\n{ctx}",
                match w {
                    Want::Is(v) => format!("{v:?}"),
                    Want::Has(p) => format!("{p:?}"),
                    Want::Missing => "none".into(),
                }
            ),
        }
    }
    (show, report)
}

use Want::{Has, Is, Missing};

/// cfg_test.go, shell_test.go, mltcmd_test.go, output_test.go: plain commands, scripts,
/// shells, params, preconditions and outputs.
const CASES: &[Case] = &[
    Case {
        test: "cfg_test.go TestDAGExecution/NoName",
        yaml: "steps:\n  - command: echo 1\n    output: NO_NAME_STEP_OUT\n  - command: echo ${NO_NAME_STEP_OUT}=1\n    output: NO_NAME_STEP_OUT2\n",
        children: &[],
        succeeds: true,
        outputs: &[("NO_NAME_STEP_OUT2", Is("1=1"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/Depends",
        yaml: "type: graph\nsteps:\n  - name: \"1\"\n    command: echo 1\n  - name: \"2\"\n    depends: \"1\"\n    command: echo 2\n",
        children: &[],
        succeeds: true,
        outputs: &[],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/Pipe",
        yaml: "params:\n  - NAME: \"foo\"\nsteps:\n  - command: |\n      printf '%s\\n' \"hello $NAME\"\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("hello foo"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/StepTimeout",
        yaml: "type: graph\nsteps:\n  - name: slow\n    command: sleep 2\n    timeout_sec: 1\n  - name: after\n    depends: slow\n    command: echo after\n",
        children: &[],
        succeeds: false,
        outputs: &[],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/NamedParams",
        yaml: "type: graph\nparams:\n  NAME: \"Dagu\"\n  AGE: 30\n\nsteps:\n  - name: Hello\n    command: |\n      printf '%s\\n' \"$NAME\"\n    output: OUT1\n  - name: Name\n    command: |\n      printf '%s\\n' \"Hello, $NAME\"\n    depends: Hello\n    output: OUT2\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("Dagu")), ("OUT2", Is("Hello, Dagu"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/NamedParamsList",
        yaml: "params:\n  - NAME: \"Dagu\"\n  - AGE: 30\n\nsteps:\n  - command: |\n      printf '%s\\n' \"$NAME\"\n    output: OUT1\n  - command: |\n      printf '%s\\n' \"Hello, $NAME\"\n    output: OUT2\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("Dagu")), ("OUT2", Is("Hello, Dagu"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/PositionalParams",
        yaml: "params: \"foo bar\"\n\nsteps:\n  - output: OUT1\n    command: |\n      echo '$1' is $1, '$2' is $2\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Has(&["$1 is foo", "$2 is bar"]))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/PositionalParamsScript",
        yaml: "params: \"foo bar\"\n\nsteps:\n  - output: OUT1\n    script: |\n      echo '$1' is $1, '$2' is ${2}\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Has(&["$1 is foo", "$2 is bar"]))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/Script",
        yaml: "params:\n  - NAME: \"foo\"\nsteps:\n  - script: |\n      echo 1 2 3\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("1 2 3"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/RegexPrecondition",
        yaml: "steps:\n  - command: |\n      printf '%s\\n' 'abc run def'\n    output: OUT1\n  - command: |\n      printf '%s\\n' 'match'\n    output: OUT2\n    preconditions:\n      - condition: \"$OUT1\"\n        expected: \"re:^abc.*def$\"\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("abc run def")), ("OUT2", Is("match"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/EnvScript",
        yaml: "env:\n  - \"E1\": foo\n  - \"E2\": bar\n\nsteps:\n  - output: OUT1\n    script: |\n      printf '%s\\n' \"E1 is $E1\"\n      printf '%s\\n' \"E2 is $E2\"\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Has(&["E1 is foo", "E2 is bar"]))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/PerlScript",
        yaml: "env:\n  - LC_ALL: C\n  - LC_CTYPE: C\n  - LANG: C\nsteps:\n  - command: perl\n    script: |\n      use strict;\n      use warnings;\n      print(\"Hello World\\n\");\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("Hello World"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/Shebang",
        yaml: "env:\n  - LC_ALL: C\n  - LC_CTYPE: C\n  - LANG: C\nsteps:\n  - script: |\n      #!env perl\n      use strict;\n      use warnings;\n      print(\"Hello World\\n\");\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("Hello World"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/ShebangInCommand",
        yaml: "env:\n  - LC_ALL: C\n  - LC_CTYPE: C\n  - LANG: C\nsteps:\n  - |\n      #!env perl\n      use strict;\n      use warnings;\n      print(\"Hello World\\n\");\n",
        children: &[],
        succeeds: true,
        outputs: &[],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/Issue810",
        yaml: "type: graph\nparams: bar\nsteps:\n  - name: step1\n    command: echo start\n    output: OUT1 # \"start\"\n  - name: foo\n    command: echo foo\n    depends:\n      - step1\n    output: OUT2 # \"foo\"\n    preconditions:\n      - condition: $OUT1 # should be \"start\"\n        expected: start\n  - name: bar\n    command: echo bar\n    depends:\n      - step1\n    output: OUT3 # \"bar\"\n    preconditions:\n      - condition: \"$1\" # should be \"bar\"\n        expected: bar\n  - name: baz\n    command: echo baz\n    depends:\n      - foo\n      - bar\n    output: OUT4 # \"baz\"\n    preconditions:\n      - condition: \"$1\" # should be \"bar\"\n        expected: bar\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("OUT1", Is("start")),
            ("OUT2", Is("foo")),
            ("OUT3", Is("bar")),
            ("OUT4", Is("baz")),
        ],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/ShellOptions",
        yaml: "steps:\n  - command: |\n      echo 'hello world' && ls -al /\n    shell: bash -o errexit -o xtrace -o pipefail -c\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Has(&["hello world"]))],
    },
    Case {
        test: "shell_test.go TestShellExecution/DAGLevelShellWithArgs",
        yaml: "\nshell: \"/bin/bash -e\"\nsteps:\n  - name: test\n    script: |\n      echo \"hello\"\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("hello"))],
    },
    Case {
        test: "shell_test.go TestShellExecution/ErrexitBehavior",
        yaml: "\nshell: \"/bin/bash -e\"\nsteps:\n  - name: test\n    script: |\n      false\n      echo \"should not reach\"\n    output: OUT\n",
        children: &[],
        succeeds: false,
        outputs: &[],
    },
    Case {
        test: "shell_test.go TestShellExecution/ShellCmdArgsWithPipe",
        yaml: "\nshell: /bin/bash\nsteps:\n  - name: test\n    command: echo hello | tr 'h' 'H'\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("Hello"))],
    },
    Case {
        test: "shell_test.go TestShellExecution/ShellPreservesBackslashDollar",
        yaml: "\nshell: /bin/sh\nsteps:\n  - name: test\n    command: 'echo \"\\$HOME\"'\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("$HOME"))],
    },
    Case {
        test: "shell_test.go TestShellExecution/ShellScriptWithShebang",
        yaml: "\nshell: /bin/sh\nsteps:\n  - name: test\n    script: |\n      #!/bin/bash\n      echo \"bash via shebang\"\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("bash via shebang"))],
    },
    Case {
        test: "mltcmd_test.go TestMultipleCommands_Shell/ThreeCommandsWithArgs",
        // Dagu's value: "first command\nsecond command\nthird command".
        yaml: "\nsteps:\n  - name: multi-cmd\n    command:\n      - echo \"first command\"\n      - echo \"second command\"\n      - echo \"third command\"\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("first command second command third command"))],
    },
    Case {
        test: "mltcmd_test.go TestMultipleCommands_Shell/SecondCommandFails",
        yaml: "\nsteps:\n  - name: multi-cmd\n    command:\n      - echo \"first runs\"\n      - \"false\"\n      - echo \"should not run\"\n    output: OUT\n",
        children: &[],
        succeeds: false,
        outputs: &[],
    },
    Case {
        test: "mltcmd_test.go TestMultipleCommands_Shell/CommandsWithPipes",
        // Dagu's value: "Hello world\nFoo bar".
        yaml: "\nshell: /bin/bash\nsteps:\n  - name: multi-cmd\n    command:\n      - echo \"hello world\" | tr 'h' 'H'\n      - echo \"foo bar\" | tr 'f' 'F'\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("Hello world Foo bar"))],
    },
    Case {
        test: "mltcmd_test.go TestMultipleCommands_Shell/CommandWithColonInArray",
        yaml: "\nsteps:\n  - name: colon-test\n    command:\n      - echo SATID: 123\n    output: OUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT", Is("SATID: 123"))],
    },
    Case {
        test: "output_test.go TestOutputsCollection/OutputWithDollarPrefix",
        yaml: "\nsteps:\n  - name: step1\n    command: echo \"MY_VAR=value123\"\n    output: $MY_VAR\n",
        children: &[],
        succeeds: true,
        outputs: &[("MY_VAR", Is("MY_VAR=value123"))],
    },
    Case {
        test: "output_test.go TestOutputsCollection/LastOneWinsForDuplicateKeys",
        yaml: "\ntype: graph\nsteps:\n  - name: step1\n    command: echo \"VALUE=first\"\n    output: VALUE\n  - name: step2\n    depends: [step1]\n    command: echo \"VALUE=second\"\n    output: VALUE\n",
        children: &[],
        succeeds: true,
        outputs: &[("VALUE", Is("VALUE=second"))],
    },
    Case {
        test: "output_test.go TestOutputsCollection_FailedDAG",
        yaml: "\ntype: graph\nsteps:\n  - name: step1\n    command: echo \"BEFORE_FAIL=collected\"\n    output: BEFORE_FAIL\n  - name: step2\n    depends: [step1]\n    command: exit 1\n  - name: step3\n    depends: [step2]\n    command: echo \"AFTER_FAIL=not_collected\"\n    output: AFTER_FAIL\n",
        children: &[],
        succeeds: false,
        outputs: &[
            ("BEFORE_FAIL", Is("BEFORE_FAIL=collected")),
            ("AFTER_FAIL", Missing),
        ],
    },
    Case {
        test: "env_test.go TestEnv/ShellFallbacks",
        yaml: "\nsteps:\n  - name: default-env\n    command: |\n      echo \"${UNSET_OPTIONAL:-default_value}\"\n    output: FALLBACK_OUTPUT\n",
        children: &[],
        succeeds: true,
        outputs: &[("FALLBACK_OUTPUT", Is("default_value"))],
    },
    Case {
        test: "env_test.go TestEnv/EnvReferencesParams",
        yaml: "\nparams:\n  data_dir: /tmp/foo\nenv:\n  - FULL_PATH: \"${data_dir}/output\"\nsteps:\n  - command: echo \"${FULL_PATH}\"\n    output: RESULT\n",
        children: &[],
        succeeds: true,
        outputs: &[("RESULT", Is("/tmp/foo/output"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/JSON",
        yaml: "steps:\n  - command: |\n      echo '{\"port\": 8080, \"host\": \"localhost\"}'\n    output: CONFIG\n\n  - command: echo \"Starting server at ${CONFIG.host}:${CONFIG.port}\"\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("Starting server at localhost:8080"))],
    },
    Case {
        test: "cfg_test.go TestDAGExecution/JSONVar",
        yaml: "steps:\n  - command: |\n      echo '{\"port\": 8080, \"host\": \"localhost\"}'\n    output: CONFIG\n  - name: start_server\n    command: echo \"Starting server at ${CONFIG.host}:${CONFIG.port}\"\n    output: OUT1\n",
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Is("Starting server at localhost:8080"))],
    },
    Case {
        test: "stepref_test.go TestStepScopedOutputAccess/BasicOutputAccess",
        // Dagu's value: "Title: Quarterly Revenue\nSummary: Revenue grew 18 percent year over year."
        yaml: "\ntype: graph\nsteps:\n  - id: extract_title\n    output: RESULT\n    script: |\n      printf 'Quarterly Revenue'\n  - id: extract_summary\n    output: RESULT\n    script: |\n      printf 'Revenue grew 18 percent year over year.'\n  - id: report\n    depends: [extract_title, extract_summary]\n    script: |\n      printf 'Title: %s\\nSummary: %s' \"${extract_title.output}\" \"${extract_summary.output}\"\n    output: REPORT\n",
        children: &[],
        succeeds: true,
        outputs: &[(
            "REPORT",
            Is("Title: Quarterly Revenue Summary: Revenue grew 18 percent year over year."),
        )],
    },
    Case {
        test: "stepref_test.go TestStepScopedOutputAccess/EmptyOutputResolvesToEmptyString",
        yaml: "\ntype: graph\nsteps:\n  - id: empty_step\n    output: RESULT\n    script: |\n      printf ''\n  - id: consumer\n    depends: [empty_step]\n    script: |\n      printf 'got:[%s]' \"${empty_step.output}\"\n    output: CONSUMED\n",
        children: &[],
        succeeds: true,
        outputs: &[("CONSUMED", Is("got:[]"))],
    },
    Case {
        test: "stepref_test.go TestStepIDComplexScenarios/MultipleStepsWithSameOutput",
        yaml: "\ntype: graph\nsteps:\n  - id: gen1\n    command: echo \"data from gen1\"\n    output: DATA\n  - id: gen2\n    command: echo \"data from gen2\"\n    output: DATA\n  - depends:\n      - gen1\n      - gen2\n    command: |\n      echo \"gen1_output=data from gen1\"\n      echo \"gen2_output=data from gen2\"\n      echo \"current_DATA=${DATA}\"\n    output: RESULT\n",
        children: &[],
        succeeds: true,
        outputs: &[
            ("DATA", Has(&["data from gen"])),
            (
                "RESULT",
                Has(&["gen1_output=data from gen1", "gen2_output=data from gen2"]),
            ),
        ],
    },
];

#[test]
fn dagus_integration_test_dags_end_as_its_tests_assert() {
    for c in CASES {
        check(c);
    }
}
