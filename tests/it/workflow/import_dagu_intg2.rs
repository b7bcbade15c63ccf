//! Issue 78 points 4 and 7, continued (see import_dagu_intg.rs): Dagu's `parallel`
//! over a child DAG, `repeat_policy` with a backoff, `dotenv` and child DAGs, each
//! DAG copied from dagu-org/dagu at commit 59d92fc196a0cfd1f1f4b9cd1f1fcc96ef90251e,
//! from the Go test its case names, and run as that test asserts.
use super::import_dagu_intg::{Case, Want, check};
use crate::helpers::*;

/// parallel_test.go's child DAGs (parallelChildEchoDAG, parallelChildProcessDAG,
/// parallelChildWithOutputDAG), each after `---` in Dagu's test.
const CHILD_ECHO: (&str, &str) = (
    "child-echo",
    "name: child-echo\nparams:\n  - ITEM: \"default\"\nsteps:\n  - command: |\n      item=\"${ITEM:-$1}\"\n      echo \"Processing ${item}\"\n    output: PROCESSED_ITEM\n",
);
const CHILD_PROCESS: (&str, &str) = (
    "child-process",
    "name: child-process\nparams:\n  - REGION: \"us-east-1\"\n  - VERSION: \"1.0.0\"\nsteps:\n  - command: echo \"Deploying version ${VERSION} to region ${REGION}\"\n    output: DEPLOYMENT_RESULT\n",
);
const CHILD_WITH_OUTPUT: (&str, &str) = (
    "child-with-output",
    "name: child-with-output\nparams:\n  - ITEM: \"default\"\nsteps:\n  - command: |\n      item=\"${ITEM:-${TASK:-$1}}\"\n      echo \"Processing task: ${item}\"\n      echo \"TASK_RESULT_${item}\"\n    output: TASK_OUTPUT\n  - command: |\n      item=\"${ITEM:-${TASK:-$1}}\"\n      echo \"Task ${item} completed with output ${TASK_OUTPUT}\"\n",
);

/// A `parallel` case: the DAG, its child, how many child runs Dagu's test counts.
struct Fan {
    case: Case,
    children: usize,
    pool: Option<u64>,
}

const FANS: &[Fan] = &[
    Fan {
        case: Case {
            test: "parallel_test.go TestParallelExecution_ItemSources_SimpleItems",
            yaml: "steps:\n  - call: child-echo\n    parallel:\n      items:\n        - \"item1\"\n        - \"item2\"\n        - \"item3\"\n      max_concurrent: 3\n",
            children: &[CHILD_ECHO],
            succeeds: true,
            outputs: &[],
        },
        children: 3,
        pool: None,
    },
    Fan {
        case: Case {
            test: "parallel_test.go TestParallelExecution_ItemSources_ObjectItems",
            yaml: "steps:\n  - call: child-process\n    parallel:\n      items:\n        - REGION: us-east-1\n          VERSION: \"1.0.0\"\n        - REGION: us-west-2\n          VERSION: \"1.0.1\"\n        - REGION: eu-west-1\n          VERSION: \"1.0.2\"\n      max_concurrent: 2\n",
            children: &[CHILD_PROCESS],
            succeeds: true,
            outputs: &[],
        },
        children: 3,
        pool: Some(2),
    },
    Fan {
        case: Case {
            test: "parallel_test.go TestParallelExecution_ItemSources_VariableReference",
            yaml: "params:\n  - ITEMS: '[\"alpha\", \"beta\", \"gamma\", \"delta\"]'\nsteps:\n  - call: child-echo\n    parallel: ${ITEMS}\n",
            children: &[CHILD_ECHO],
            succeeds: true,
            outputs: &[],
        },
        children: 4,
        pool: None,
    },
    Fan {
        case: Case {
            test: "parallel_test.go TestParallelExecution_ItemSources_SpaceSeparated",
            yaml: "env:\n  - SERVERS: \"server1 server2 server3\"\nsteps:\n  - call: child-echo\n    parallel: ${SERVERS}\n",
            children: &[CHILD_ECHO],
            succeeds: true,
            outputs: &[],
        },
        children: 3,
        pool: None,
    },
    Fan {
        case: Case {
            test: "parallel_test.go TestParallelExecution_ItemSources_DirectVariable",
            yaml: "env:\n  - ITEMS: '[\"task1\", \"task2\", \"task3\"]'\nsteps:\n  - call: child-with-output\n    parallel: $ITEMS\n  - name: aggregate-results\n    command: echo \"Completed parallel tasks\"\n    output: FINAL_RESULT\n",
            children: &[CHILD_WITH_OUTPUT],
            succeeds: true,
            outputs: &[("FINAL_RESULT", Want::Is("Completed parallel tasks"))],
        },
        children: 3,
        pool: None,
    },
];

/// Dagu's `parallel` runs one child per item, at most `max_concurrent` at once, and the
/// step after it once all of them succeeded: the import's one child-run step per item
/// (in a pool of that capacity when there are more items) does the same.
#[test]
fn dagus_parallel_runs_one_child_per_item() {
    for f in FANS {
        let (show, report) = check(&f.case);
        let ctx = format!("{}\n{show}\n{report}", f.case.test);
        let steps = show["steps"].as_array().unwrap();
        let children: Vec<&serde_json::Value> = steps
            .iter()
            .filter(|s| s["id"].as_str().unwrap_or("").starts_with("step-1-"))
            .collect();
        assert_eq!(children.len(), f.children, "{ctx}");
        for c in &children {
            assert_eq!(c["state"], "succeeded", "{ctx}");
        }
        match f.pool {
            Some(n) => assert!(
                report.contains(&format!("in the pool `step-1-parallel` of capacity {n}")),
                "{ctx}"
            ),
            None => assert!(report.contains("none needed"), "{ctx}"),
        }
    }
}

/// backoff_test.go TestRepeatPolicy_WithExponentialBackoff: repeated while exit code 0
/// to its limit of 4 executions, succeeded, the waits growing (Dagu's
/// CalculateBackoffInterval: interval x backoff^(executions done): 2 s, 4 s, 8 s).
#[test]
fn dagus_repeat_backoff_waits_longer_each_time() {
    let started = std::time::Instant::now();
    let (show, report) = check(&Case {
        test: "backoff_test.go TestRepeatPolicy_WithExponentialBackoff",
        yaml: "steps:\n  - name: repeat-step\n    command: whoami\n    repeat_policy:\n      repeat: while\n      limit: 4\n      interval_sec: 1\n      backoff: 2.0\n      exit_code: [0]  # Repeat while exit code is 0\n",
        children: &[],
        succeeds: true,
        outputs: &[],
    });
    assert!(!report.contains("left out"), "{report}");
    assert_eq!(show["steps"][0]["state"], "succeeded", "{show}");
    assert_eq!(show["steps"][0]["attempts"], 4, "{show}");
    // Dagu's test: at least 6 s; its formula: 14 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(14),
        "{:?}",
        started.elapsed()
    );
}

/// cfg_test.go TestDAGExecution/DotEnv: two dotenv files (Dagu's testdata
/// integration/dotenv1 `ENV1=123`, `ENV2=456` and dotenv2 `ENV2=abc`) read in order,
/// the later winning.
#[test]
fn dagus_dotenv_files_are_read_in_order() {
    let env = Env::new();
    let one = env.path().join("dotenv1");
    let two = env.path().join("dotenv2");
    std::fs::write(&one, "ENV1=123\nENV2=456").unwrap();
    std::fs::write(&two, "ENV2=abc").unwrap();
    let yaml = format!(
        "dotenv:\n  - {}\n  - {}\nsteps:\n  - command: echo \"${{ENV1}} ${{ENV2}}\"\n    output: OUT1\n",
        one.display(),
        two.display()
    );
    let (_, report) = check(&Case {
        test: "cfg_test.go TestDAGExecution/DotEnv",
        yaml: Box::leak(yaml.into_boxed_str()),
        children: &[],
        succeeds: true,
        outputs: &[("OUT1", Want::Is("123 abc"))],
    });
    assert!(
        report.contains("dag.yaml:1: `dotenv`: each step reads the files"),
        "{report}"
    );
}

/// A dotenv value is data: a line that would run a command when sourced runs nothing.
#[test]
fn a_dotenv_value_never_runs() {
    let env = Env::new();
    let file = env.path().join("evil.env");
    let marker = env.path().join("ran");
    std::fs::write(
        &file,
        format!(
            "# comment\nexport A=\"$(touch {m})\"\nB='x y'\ntouch {m}\n",
            m = marker.display()
        ),
    )
    .unwrap();
    let yaml = format!(
        "dotenv: {}\nsteps:\n  - command: printf '%s|%s' \"$A\" \"$B\"\n    output: OUT\n",
        file.display()
    );
    let want: &'static str =
        Box::leak(format!("$(touch {})|x y", marker.display()).into_boxed_str());
    let outputs: &'static [(&'static str, Want)] = Box::leak(Box::new([("OUT", Want::Is(want))]));
    check(&Case {
        test: "baton's own: a dotenv file with a command in it",
        yaml: Box::leak(yaml.into_boxed_str()),
        children: &[],
        succeeds: true,
        outputs,
    });
    assert!(!marker.exists());
}

/// subdag_test.go TestInlineSubDAG/TwoLevelNesting: the child after `---`, imported
/// beside its parent, runs as the step's child run with the step's params.
#[test]
fn dagus_inline_child_runs_as_a_child_run() {
    let (show, _) = check(&Case {
        test: "subdag_test.go TestInlineSubDAG/TwoLevelNesting",
        yaml: "\nsteps:\n  - name: call_child\n    call: child\n    params: \"MSG=hello\"\n",
        children: &[(
            "child",
            "name: child\nparams: \"MSG=default\"\nsteps:\n  - name: echo_msg\n    command: echo \"${MSG}_from_child\"\n    output: RESULT\n",
        )],
        succeeds: true,
        outputs: &[],
    });
    assert_eq!(show["steps"][0]["state"], "succeeded", "{show}");
}

/// `parallel` over a step's output has no baton counterpart (a child workflow runs
/// once per step; `for_each` does not take `workflow`): the report says so at its line.
#[test]
fn a_parallel_over_an_output_is_reported_at_its_line() {
    let env = Env::new();
    let src = env.path().join("p.yaml");
    std::fs::write(
        &src,
        "steps:\n  - command: echo '[\"a\",\"b\"]'\n    output: ITEMS\n  - call: child-echo\n    parallel: ${ITEMS}\n",
    )
    .unwrap();
    let out = env.path().join("p.toml");
    let o = env.run(&[
        "import",
        "dagu",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report = text(&o.stderr);
    assert!(
        report.contains(
            "p.yaml:5: step `step-2`: `parallel: ${ITEMS}`: left out, the step runs its child once"
        ),
        "{report}"
    );
}

/// subdag_test.go TestInlineSubDAG/OutputPassingBetweenDAGs and SimpleExecution: a
/// child's outputs reach its parent's step, read by `${OUT.outputs.X}` in a child's
/// params and in a command (SimpleExecution's second step given `output: SAID`, so the
/// text its test reads in the log is an output here).
#[test]
fn a_childs_outputs_reach_the_parent_as_dagus_tests_assert() {
    check(&Case {
        test: "subdag_test.go TestInlineSubDAG/OutputPassingBetweenDAGs",
        yaml: "\nsteps:\n  - name: generate-data\n    call: generator-dag\n    output: GEN_OUTPUT\n\n  - name: process-data\n    call: processor-dag\n    params: \"INPUT_DATA=${GEN_OUTPUT.outputs.DATA}\"\n",
        children: &[
            (
                "generator-dag",
                "name: generator-dag\nsteps:\n  - command: echo \"test-value-42\"\n    output: DATA\n",
            ),
            (
                "processor-dag",
                "name: processor-dag\nparams:\n  - INPUT_DATA\nsteps:\n  - command: echo \"Processing ${INPUT_DATA}\"\n    output: RESULT\n\n  - command: |\n      echo \"Validated: ${RESULT}\"\n",
            ),
        ],
        succeeds: true,
        outputs: &[
            ("DATA", Want::Is("test-value-42")),
            ("RESULT", Want::Is("Processing test-value-42")),
        ],
    });
    check(&Case {
        test: "subdag_test.go TestInlineSubDAG/SimpleExecution",
        yaml: "\nsteps:\n  - name: run-local-child\n    call: local-child\n    params: \"NAME=World\"\n    output: SUB_RESULT\n\n  - command: echo \"Child said ${SUB_RESULT.outputs.GREETING}\"\n    output: SAID\n",
        children: &[(
            "local-child",
            "name: local-child\nparams:\n  - NAME\nsteps:\n  - command: echo \"Hello, ${NAME}!\"\n    output: GREETING\n\n  - echo \"Greeting was ${GREETING}\"\n",
        )],
        succeeds: true,
        outputs: &[("SAID", Want::Is("Child said Hello, World!"))],
    });
}
