//! Issue 56 point 3: `validate` warns, at the name's place, of an approving rule that
//! tests with `starts_with`, `contains` or `ends_with` a value the step's command gets;
//! a tool left undeclared is one error. Also: `needs.ID.result` reads a direct need only.
use super::*;

const HEAD: &str = r#"name = "agent"
[tools.shell]
run = 'sh -c "$CMD"'
params = { CMD = { type = "string", required = true } }
[[step]]
id = "think"
run = "true"
"#;

/// The warnings of `HEAD` and a gated step `exec` with `body`, as `LINE:COL: message`.
fn warnings(body: &str) -> Vec<String> {
    let text = format!("{HEAD}[[step]]\nid = \"exec\"\nneeds = [\"think\"]\n{body}");
    let plan = load_str(&text, Path::new("w.toml")).unwrap_or_else(|d| panic!("{d}"));
    plan.warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.line, w.col, w.message))
        .collect()
}

const TOOL: &str = "uses = \"shell\"\nwith = { CMD = \"${{ steps.think.outputs.cmd }}\" }\n";

#[test]
fn an_approving_text_test_of_what_the_command_gets_is_warned_of_where_it_reads() {
    let w = warnings(&format!(
        "{TOOL}gate = {{ auto = [{{ if = \"starts_with(with.CMD, 'git status')\", decide = \"approve\" }}] }}\n"
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("13:38: `if` of rule 1 of the `auto` of the gate of step `exec` approves by `starts_with(with.CMD, …)`"),
        "{w:?}"
    );
    // A `run` step's `env` read from an output: the output is what its command gets.
    let w = warnings(
        "run = 'sh -c \"$CMD\"'\nenv = { CMD = \"${{ steps.think.outputs.cmd }}\" }\ngate = { auto = [{ if = \"contains(steps.think.outputs.cmd, 'status') || ends_with(steps.think.outputs.cmd, 'x')\", decide = \"approve\" }] }\n",
    );
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("approves by `contains(steps.think.outputs.cmd, …)`"),
        "{w:?}"
    );
    assert!(
        w[1].contains("approves by `ends_with(steps.think.outputs.cmd, …)`"),
        "{w:?}"
    );
}

#[test]
fn words_an_exact_match_a_reject_rule_and_what_no_command_gets_are_not_warned_of() {
    for rule in [
        "{ if = \"argv(with.CMD) == 'git status' || starts_with(argv(with.CMD), 'git log')\", decide = \"approve\" }",
        "{ if = \"with.CMD == 'ls' && is_simple(with.CMD)\", decide = \"approve\" }",
        "{ if = \"starts_with(with.CMD, 'rm')\", decide = \"reject\" }",
        "{ if = \"contains(steps.think.state, 'succ')\", decide = \"approve\" }",
    ] {
        assert_eq!(
            warnings(&format!("{TOOL}gate = {{ auto = [{rule}] }}\n")),
            Vec::<String>::new(),
            "{rule}"
        );
    }
    // A builtin runs no shell; a pure approval step runs nothing.
    let w = warnings(
        "uses = \"builtin.sleep\"\nwith = { DURATION = \"1s\" }\ngate = { auto = [{ if = \"starts_with(with.DURATION, '1')\", decide = \"approve\" }] }\n",
    );
    assert_eq!(w, Vec::<String>::new());
}

#[test]
fn an_undeclared_tool_is_one_error_and_its_rules_read_the_with_as_written() {
    let text = "name = \"x\"\n[[step]]\nid = \"exec\"\nuses = \"shell\"\nwith = { CMD = \"ls\" }\ngate = { auto = [{ if = \"with.CMD == 'ls' || with.CMD == 'x' || starts_with(with.CMD, 'a') || contains(with.CMD, 'b')\", decide = \"approve\" }] }\n";
    let d = load_str(text, Path::new("w.toml")).unwrap_err();
    assert_eq!(d.len(), 1, "{d}");
    assert!(
        d.0[0]
            .message
            .contains("uses tool \"shell\", which is not declared"),
        "{d}"
    );
    // A name its `with` does not set is still an error, said as such.
    let text = text.replace("with.CMD == 'x'", "with.CMDD == 'x'");
    let d = load_str(&text, Path::new("w.toml")).unwrap_err();
    assert_eq!(d.len(), 2, "{d}");
    assert!(
        d.0[1]
            .message
            .contains("reads `with.CMDD`, which the step's `with` does not set"),
        "{d}"
    );
    assert!(!d.to_string().contains("does not `uses` a tool"), "{d}");
}

/// `needs.ID.result` reads one of the step's own needs, as GitHub's `needs` context.
#[test]
fn needs_result_of_a_step_that_is_not_a_need_is_an_error_at_its_place() {
    let text = format!(
        "{HEAD}[[step]]\nid = \"b\"\nrun = \"true\"\nneeds = [\"think\"]\n[[step]]\nid = \"c\"\nrun = \"true\"\nneeds = [\"b\"]\nwhen = \"all_done\"\nif = \"needs.think.result == 'success' && needs.b.result != 'failure'\"\n"
    );
    let d = load_str(&text, Path::new("w.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        d.contains("w.toml:17:7: error: step `c` reads `needs.think.result`, but `think` is not one of its needs"),
        "{d}"
    );
    assert!(d.contains("add \"think\" to the `needs` of `c`"), "{d}");
    assert!(!d.contains("needs.b.result"), "{d}");
    let ok = text.replace("needs = [\"b\"]", "needs = [\"b\", \"think\"]");
    load_str(&ok, Path::new("w.toml")).unwrap_or_else(|d| panic!("{d}"));
}
