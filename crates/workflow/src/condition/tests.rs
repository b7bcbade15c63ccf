use super::*;

fn eval(text: &str, vals: &[(&str, &str)]) -> Evaluation {
    let c = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    c.eval(|n| {
        let k = n.to_string();
        vals.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn operators_and_truth() {
    let t = |s: &str| {
        eval(
            s,
            &[
                ("params.n", "10"),
                ("params.e", "push"),
                ("params.f", "false"),
            ],
        )
        .result
    };
    assert!(t("params.e == 'push'"));
    assert!(t("params.e != \"release\""));
    assert!(t("params.n > 9"), "numeric: 10 > 9");
    assert!(!t("params.n < 9"));
    assert!(t("(params.n > 9) == true"));
    assert!(parse("1 < 2 < 3").is_err(), "comparisons do not chain");
    assert!(t("params.n >= 10 && params.n <= 10"));
    assert!(t("!params.f"), "the text false is false");
    assert!(t("!(params.e == 'x') && (true || false)"));
    assert!(!t("''"));
    assert!(t("1.5 < 2"));
    assert!(t("'abc' < 'abd'"), "text compares as text");
}

#[test]
fn functions() {
    let v = [
        ("steps.build.outputs.tag", "v1.2.3"),
        ("env.REF", "refs/tags/v1"),
    ];
    let t = |s: &str| eval(s, &v).result;
    assert!(t("starts_with(env.REF, 'refs/tags/')"));
    assert!(t("ends_with(steps.build.outputs.tag, '.3')"));
    assert!(t("contains(steps.build.outputs.tag, '1.2')"));
    assert!(t(
        "matches(steps.build.outputs.tag, '^v[0-9]+\\.[0-9]+\\.[0-9]+$')"
    ));
    assert!(!t("matches(env.REF, '^v')"));
}

#[test]
fn the_wrapper_is_accepted_and_the_record_names_the_values() {
    let e = eval(
        "${{ params.event == 'release' }}",
        &[("params.event", "push")],
    );
    assert!(!e.result);
    assert_eq!(
        e.record("params.event == 'release'", |v| v.to_string()),
        "condition false: params.event == 'release' (params.event = \"push\")"
    );
    let c = parse("${{ params.event == 'release' }}").unwrap();
    assert_eq!(c.text, "params.event == 'release'");
    // A missing value reads as empty text and says so.
    let e = eval("steps.a.outputs.x == ''", &[]);
    assert!(e.result);
    assert_eq!(
        e.record("steps.a.outputs.x == ''", |v| v.to_string()),
        "condition true: steps.a.outputs.x == '' (steps.a.outputs.x has no value)"
    );
}

#[test]
fn values_are_data() {
    // A value that looks like an expression or shell is only compared.
    let e = eval(
        "params.x == 'a'",
        &[("params.x", "a' || true || '$(rm -rf /)")],
    );
    assert!(!e.result);
}

#[test]
fn names_and_state() {
    let c = parse(
        "steps.test.state == 'failed' && params.a == env.B && run.id != '' || steps.ok.inputs.go",
    )
    .unwrap();
    let names: Vec<String> = c.names().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        names,
        [
            "steps.test.state",
            "params.a",
            "env.B",
            "run.id",
            "steps.ok.inputs.go"
        ]
    );
}

#[test]
fn errors_point_at_the_place_and_say_what_is_right() {
    let e = |s: &str| parse(s).unwrap_err();
    let x = e("params.a = 'b'");
    assert_eq!(
        (x.message.as_str(), x.at.clone()),
        ("`=` is not an operator", 9..10)
    );
    assert_eq!(x.hint, "compare with ==");
    let x = e("params.a == 'b");
    assert!(x.message.contains("unclosed text"), "{x:?}");
    let x = e("secrets.token == 'x'");
    assert_eq!(x.at, 0..13);
    assert!(x.message.contains("unknown name `secrets.token`"));
    let x = e("contains(params.a)");
    assert!(x.message.contains("takes 2 arguments, found 1"), "{x:?}");
    let x = e("contain(params.a, 'x')");
    assert!(x.hint.contains("did you mean `contains`?"), "{x:?}");
    let x = e("matches(params.a, '(')");
    assert!(
        x.message.contains("not a valid regular expression"),
        "{x:?}"
    );
    assert_eq!(x.at, 18..21);
    let x = e("(params.a == 'b'");
    assert!(x.message.contains("not closed"));
    let x = e("params.a == ");
    assert!(x.message.contains("ends where a value was expected"));
    let x = e("params.a 'b'");
    assert!(x.message.contains("after a complete expression"));
    let x = e("${{ params.a = 'b' }}");
    assert_eq!(x.at, 13..14, "places count in the text as written");
    assert!(e("").message.contains("empty"));
    assert!(e("a & b").message.contains("`&` is not an operator"));
}

/// Issue 41 point 3: a hostile condition is refused at the token past the limit, never
/// a stack overflow (in the parser, the evaluator or a drop).
#[test]
fn nesting_past_the_limit_is_an_error_at_the_token_that_goes_over() {
    let deep = |open: &str, close: &str, n: usize| {
        format!("{}params.x == 'y'{}", open.repeat(n), close.repeat(n))
    };
    for (text, what) in [
        (deep("(", ")", 10_000), "parentheses"),
        (deep("!", "", 10_000), "negations"),
        (deep("contains(", ", 'a')", 10_000), "calls"),
        (vec!["true"; 10_000].join(" && "), "a chain of &&"),
        (vec!["true"; 10_000].join(" || "), "a chain of ||"),
    ] {
        let e = parse(&text).expect_err(what);
        assert_eq!(
            e.message,
            format!("the condition nests deeper than {MAX_DEPTH} levels"),
            "{what}"
        );
        assert!(
            e.at.end <= text.len() && e.at.start < e.at.end,
            "{what}: {:?}",
            e.at
        );
    }
    // At the limit it parses and evaluates.
    assert!(eval(&deep("(", ")", MAX_DEPTH), &[("params.x", "y")]).result);
    assert!(eval(&vec!["true"; MAX_DEPTH].join(" && "), &[]).result);
    let e = parse(&deep("(", ")", MAX_DEPTH + 1)).expect_err("one past");
    assert_eq!(e.at, MAX_DEPTH..MAX_DEPTH + 1, "the `(` that goes over");
}

/// Issue 56 point 3: a rule over a command's words cannot be fooled by shell; an exact
/// match cannot either.
#[test]
fn argv_and_is_simple_read_a_command_as_its_words_or_not_at_all() {
    let rule = "argv(with.CMD) == 'git status' || argv(with.CMD) == 'ls' || starts_with(argv(with.CMD), 'git log')";
    let t = |text: &str, cmd: &str| eval(text, &[("with.CMD", cmd)]).result;
    for ok in [
        "git status",
        "  git  'status' ",
        "ls",
        "git log",
        "git log --oneline -n 3",
    ] {
        assert!(t(rule, ok), "{ok:?}");
        assert!(t("is_simple(with.CMD)", ok), "{ok:?}");
    }
    for fooled in [
        "git status && touch x",
        "git status; rm -rf /tmp/x",
        "git status $(touch x)",
        "git status `touch x`",
        "git status\ntouch x",
        "git status | sh",
        "git status > x",
        "git log; rm x",
        "git status x",
        "GIT STATUS",
        "git statuses",
        "git logx",
    ] {
        assert!(!t(rule, fooled), "{fooled:?}");
        if fooled != "GIT STATUS" {
            assert!(!t("with.CMD == 'git status'", fooled), "{fooled:?}");
        }
    }
    assert!(t("with.CMD == 'git status'", "git status"));
    // `==` ignores case, as GitHub's; a command's words are compared exactly.
    let b = "git checkout -b x";
    assert!(t("with.CMD == 'git checkout -B x'", b));
    assert!(!t("argv(with.CMD) == 'git checkout -B x'", b));
    assert!(t("argv(with.CMD) == 'git checkout -b x'", b));
    assert!(!t("is_simple(with.CMD)", "git status && touch x"));
    // None compares with nothing: `!=` is false too, so a rule cannot approve by it.
    assert!(!t("argv(with.CMD) != 'rm -rf /'", "ls; rm -rf /"));
    assert!(t("argv(with.CMD) != 'rm -rf /'", "ls"));
    // Words are whole: `contains` asks for a word (or words in a row), never a piece.
    assert!(t("contains(argv(with.CMD), '--force')", "git push --force"));
    assert!(!t("contains(argv(with.CMD), 'force')", "git push --force"));
    assert!(t(
        "contains(argv(with.CMD), 'push --force')",
        "git push --force"
    ));
    assert!(t(
        "ends_with(argv(with.CMD), '--dry-run')",
        "make deploy --dry-run"
    ));
    assert!(!t(
        "ends_with(argv(with.CMD), '--dry-run')",
        "make deploy --dry-run;"
    ));
    // As text, the words joined so that they split back: `matches` reads that.
    assert!(t(
        "matches(argv(with.CMD), '^git (status|log)$')",
        "git  \"log\""
    ));
    assert!(!t("matches(argv(with.CMD), '^git')", "git status && x"));
    assert!(t("argv(with.CMD) == argv('git  status')", "git status"));
    let e = parse("argv(with.CMD, 'x')").unwrap_err();
    assert!(
        e.message.contains("`argv` takes 1 argument, found 2"),
        "{e:?}"
    );
    assert!(parse("isSimple(with.CMD)").is_ok(), "GitHub's spelling too");
}

#[test]
fn needs_results_read_as_githubs_needs_context() {
    let vals = [
        ("needs.*.result", r#"["success","failure","skipped"]"#),
        ("needs.lint.result", "success"),
    ];
    let t = |s: &str| eval(s, &vals).result;
    assert!(t("contains(needs.*.result, 'failure')"));
    assert!(
        t("contains(needs.*.result, 'SKIPPED')"),
        "ignoring case, as GitHub"
    );
    assert!(!t("contains(needs.*.result, 'cancelled')"));
    assert!(
        !t("contains(needs.*.result, 'fail')"),
        "membership, not text"
    );
    assert!(t("needs.lint.result == 'success'"));
    let c = parse("${{ contains(needs.*.result, 'failure') || needs.lint.result != 'success' }}")
        .unwrap();
    let names: Vec<String> = c.names().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["needs.*.result", "needs.lint.result"]);
    // `*` is a name's part only after a dot; elsewhere it is no operator.
    assert!(parse("needs.*.result * 2").is_err());
    let x = parse("needs.lint.state").unwrap_err();
    assert!(
        x.hint.contains("needs.<id>.result, needs.*.result"),
        "{x:?}"
    );
}
