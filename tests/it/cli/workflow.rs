//! `baton validate|plan|tools` through the real binary.

fn baton(args: &[&str]) -> (i32, String, String) {
    let out = crate::helpers::baton()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_ok_and_invalid() {
    let (code, out, _) = baton(&["validate", "examples/hello.toml", "examples/release.toml"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "ok: examples/hello.toml (3 steps, 1 gate)\nok: examples/release.toml (5 steps, 1 gate)\n"
    );
    let (code, out, err) = baton(&[
        "validate",
        "examples/hello.toml",
        "tests/fixtures/invalid/cycle.toml",
    ]);
    assert_eq!(code, 2);
    assert!(out.starts_with("ok: examples/hello.toml"));
    assert!(
        err.contains(
            "tests/fixtures/invalid/cycle.toml:4:10: error: dependency cycle: a -> c -> b -> a"
        ),
        "{err}"
    );
}

#[test]
fn validate_json_is_machine_readable() {
    let (code, out, _) = baton(&[
        "validate",
        "--json",
        "tests/fixtures/invalid/unknown_field_step.toml",
        "examples/hello.toml",
    ]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["ok"], false);
    assert_eq!(v[0]["diagnostics"][0]["line"], 7);
    assert_eq!(v[0]["diagnostics"][0]["hint"], "did you mean `needs`?");
    assert_eq!(v[1]["ok"], true);
    assert_eq!(v[1]["steps"], 3);
}

#[test]
fn validate_json_reports_a_fallbacks_errors() {
    let (code, out, _) = baton(&[
        "validate",
        "--json",
        "tests/fixtures/invalid/fallback_unknown_key.toml",
        "tests/fixtures/invalid/fallback_empty.toml",
    ]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = &v[0]["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["col"].as_u64()),
        (Some(9), Some(32)),
        "{d}"
    );
    assert_eq!(
        d["message"],
        "unknown field `retries` in alternative 2 of step `ask`"
    );
    let d = &v[1]["diagnostics"][0];
    assert_eq!(d["message"], "`fallback` of step `ask` is empty");
}

#[test]
fn plan_shows_layers_critical_path_gates_pools() {
    let (code, out, _) = baton(&["plan", "examples/release.toml"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "critical path (4 steps, each step weighs 1):\n  build -> test -> deploy -> announce"
        ),
        "{out}"
    );
    assert!(out.contains("  4. (2 steps)\n     announce  [uses notify]\n     page-oncall  [uses notify, when one_failed]"), "{out}");
    assert!(
        out.contains("deploy: capacity 1, rate 10/min, burst 1, used by 1 step"),
        "{out}"
    );
    assert!(out.contains("quorum 1, timeout 30m then reject"), "{out}");
}

#[test]
fn plan_shows_what_a_gate_asks() {
    let (code, out, _) = baton(&["plan", "examples/model-router.toml"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("    asks tag: string, required, matching ^v\\d+\\.\\d+\\.\\d+$\n    asks audience: enum(users|developers), default users\n    asks dry: bool, default false"),
        "{out}"
    );
}

#[test]
fn plan_shows_a_steps_fallbacks() {
    let (code, out, _) = baton(&["plan", "examples/model-router.toml"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("     draft  [run, gate, 2 fallbacks]\n        fallback 1: MODEL=pro-1.5\n        fallback 2: MODEL=flash, timeout 1m, 2 attempts\n"),
        "{out}"
    );
}

#[test]
fn tools_lists_builtins_and_declared() {
    let (code, out, _) = baton(&["tools", "examples/release.toml"]);
    assert_eq!(code, 0);
    assert!(out.contains("DURATION: string, required"));
    assert!(out.contains("  notify  Append a message"));
    assert!(out.contains("CHANNEL: string, default \"#releases\""));
    assert!(
        out.contains("executors:\n  none (every step runs here)"),
        "{out}"
    );
}

#[test]
fn tools_and_plan_know_executors() {
    for cmd in ["tools", "plan"] {
        let (code, out, _) = baton(&[cmd, "examples/slurm.toml"]);
        assert_eq!(code, 0, "{cmd}");
        assert!(
            out.contains("\nexecutors:\n  cluster: slurm"),
            "{cmd}: {out}"
        );
    }
}

#[test]
fn commands_on_missing_files_exit_2() {
    for cmd in ["validate", "plan", "tools"] {
        let (code, _, err) = baton(&[cmd, "nope.toml"]);
        assert_eq!(code, 2, "{cmd}");
        assert!(err.contains("nope.toml: error: no such file"), "{err}");
    }
}

#[test]
fn help_has_examples() {
    for cmd in ["validate", "plan", "tools"] {
        let (code, out, _) = baton(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Example"), "{cmd} --help: {out}");
    }
}

/// Issue 42 point 4: `on_timeout = "approve"` over a required input with no default
/// is refused where it is written, saying what would be right.
#[test]
fn validate_refuses_a_timeout_approving_a_required_input() {
    let file = "tests/fixtures/invalid/gate_timeout_approves_required_input.toml";
    let (code, _, err) = baton(&["validate", file]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{file}:9:14: error: the gate of step `ship` approves itself on timeout, but its input `tag` is required")),
        "{err}"
    );
    assert!(
        err.contains("use on_timeout = \"reject\" or \"fail\""),
        "{err}"
    );
}

/// Issue 41 point 3: a condition nested 10,000 parentheses deep (20 KB) is a load error
/// at FILE:LINE:COL of the `(` past the limit (exit 2), not a stack overflow (rc 134).
#[test]
fn validate_reports_a_condition_nested_too_deep_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("deep.toml");
    let n = 10_000;
    std::fs::write(
        &wf,
        format!(
            "name = \"deep\"\n[[step]]\nid = \"a\"\nrun = \"true\"\nif = \"{}params.x == 'y'{}\"\n",
            "(".repeat(n),
            ")".repeat(n)
        ),
    )
    .unwrap();
    let (code, _, err) = baton(&["validate", wf.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}:5:{}: error: `if` of step `a`: the condition nests deeper than 100 levels",
            wf.display(),
            6 + 100 + 1
        )),
        "{err}"
    );
}

/// Issue 41 point 3: 7 axes of 10 values (10^7 combinations from 260 bytes) are
/// refused by their count, never expanded to be counted.
#[test]
fn plan_refuses_a_huge_matrix_without_expanding_it() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("matrix.toml");
    let axes: Vec<String> = (0..7)
        .map(|i| format!("k{i} = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"))
        .collect();
    std::fs::write(
        &wf,
        format!(
            "name = \"m\"\n[[step]]\nid = \"t\"\nrun = \"true\"\nmatrix = {{ {} }}\n",
            axes.join(", ")
        ),
    )
    .unwrap();
    let (code, out, err) = baton(&["plan", wf.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "instances unknown: the matrix makes 10000000 combinations, more than max_instances = 10000"
        ),
        "{out}"
    );
}
