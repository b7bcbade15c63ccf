//! Where baton's expressions follow GitHub's: case-insensitive comparison and
//! `contains`/`startsWith`/`endsWith`, and `contains` over a list. The vectors are
//! GitHub's own: actions/languageservices `expressions/testdata/` (the evaluator the
//! runner's `src/Sdk/DTExpressions2` mirrors), at the cases baton's grammar can say
//! (no `null` literal).
use super::*;

fn truth(text: &str, vals: &[(&str, &str)]) -> bool {
    let c = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    c.eval(|n| {
        let k = n.to_string();
        vals.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .result
}

fn check(cases: &[(&str, bool)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(e, want)| truth(e, &[]) != *want)
        .map(|(e, want)| format!("{e}: GitHub says {want}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `operators_case_insensitive.json`, every case.
#[test]
fn comparisons_ignore_case_as_githubs_vectors_say() {
    let mut cases = Vec::new();
    // (left, right, ==, <): `!=`, `<=`, `>`, `>=` follow from them.
    let pairs = [
        (
            "abcdefghijklmnopqrstuvwxyz",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            true,
            false,
        ),
        (
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "abcdefghijklmnopqrstuvwxyz",
            true,
            false,
        ),
        ("ς", "Σ", true, false),
        ("ς", "σ", true, false),
        ("Σ", "σ", true, false),
        ("ü", "Ü", true, false),
        ("Ü", "ü", true, false),
        ("ç", "Ç", true, false),
        ("Ç", "ç", true, false),
        ("i", "İ", false, true),
        ("İ", "i", false, false),
        ("ı", "I", false, false),
        ("I", "ı", false, true),
        (
            "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЬЭЮЯ",
            "абвгдежзийклмнопрстуфхцчшщьэюя",
            true,
            false,
        ),
    ];
    let exprs: Vec<(String, bool)> = pairs
        .iter()
        .flat_map(|&(a, b, eq, lt)| {
            let e = |op: &str| format!("'{a}' {op} '{b}'");
            [
                (e("=="), eq),
                (e("!="), !eq),
                (e("<"), lt),
                (e("<="), lt || eq),
                (e(">"), !lt && !eq),
                (e(">="), !lt),
            ]
        })
        .collect();
    cases.extend(exprs.iter().map(|(e, w)| (e.as_str(), *w)));
    // "a-z-equivalent-to-A-Z-wrt-chars-between-Z-and-a": letters compare as capitals.
    cases.extend([
        ("'A' < '['", true),
        ("'A' <= '['", true),
        ("'A' > '['", false),
        ("'A' >= '['", false),
        ("'a' < '['", true),
        ("'a' <= '['", true),
        ("'a' > '['", false),
        ("'a' >= '['", false),
    ]);
    check(&cases);
}

/// `endsWith.json`, every case but `endsWith('asdf', null)`; `startsWith` and
/// `contains` compare the same way in the runner (`OrdinalIgnoreCase`).
#[test]
fn starts_ends_and_contains_ignore_case_as_githubs_vectors_say() {
    check(&[
        ("endsWith('abcdef', 'def')", true),
        ("endsWith('abcdef', 'de')", false),
        ("endsWith('abcdef', '')", true),
        ("endsWith('1234', 34)", true),
        ("endsWith('true', true)", true),
        ("endsWith('false', false)", true),
        ("endsWith('1234', 23)", false),
        ("endsWith('true', false)", false),
        (
            "endsWith('asdf_ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
            true,
        ),
        (
            "endsWith('asdf_abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')",
            true,
        ),
        ("endsWith('asdf_ς', 'Σ')", true),
        ("endsWith('asdf_ς', 'σ')", true),
        ("endsWith('asdf_Σ', 'ς')", true),
        ("endsWith('asdf_Σ', 'σ')", true),
        ("endsWith('asdf_σ', 'ς')", true),
        ("endsWith('asdf_σ', 'Σ')", true),
        ("endsWith('asdf_ü', 'Ü')", true),
        ("endsWith('asdf_Ü', 'ü')", true),
        ("endsWith('asdf_ç', 'Ç')", true),
        ("endsWith('asdf_Ç', 'ç')", true),
        ("endsWith('asdf_i', 'İ')", false),
        ("endsWith('asdf_İ', 'i')", false),
        ("endsWith('asdf_ı', 'I')", false),
        ("endsWith('asdf_I', 'ı')", false),
        (
            "endsWith('asdf_АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЬЭЮЯ', 'абвгдежзийклмнопрстуфхцчшщьэюя')",
            true,
        ),
        // baton's spellings are the same functions.
        ("ends_with('abcDEF', 'def')", true),
        ("startsWith('Refs/Tags/v1', 'refs/tags/')", true),
        ("starts_with('refs/heads/main', 'REFS/TAGS')", false),
        ("STARTSWITH('abc', 'A')", true),
        ("contains('Hello World', 'WORLD')", true),
        ("contains('debug', 'BUG')", true),
        ("contains('abc', 'abd')", false),
    ]);
}

#[test]
fn contains_over_a_json_list_is_membership() {
    let labels = [(
        "steps.triage.outputs.labels",
        r#"["debug","CI",3,true,null,{"a":1}]"#,
    )];
    let t = |e: &str| truth(e, &labels);
    // A list's item, not a piece of one: `bug` is not `debug`.
    assert!(!t("contains(steps.triage.outputs.labels, 'bug')"));
    assert!(t("contains(steps.triage.outputs.labels, 'debug')"));
    assert!(
        t("contains(steps.triage.outputs.labels, 'ci')"),
        "items ignore case"
    );
    assert!(t("contains(steps.triage.outputs.labels, 3)"));
    assert!(
        t("contains(steps.triage.outputs.labels, '3.0')"),
        "numbers as numbers"
    );
    assert!(t("contains(steps.triage.outputs.labels, true)"));
    assert!(
        !t("contains(steps.triage.outputs.labels, 'a')"),
        "an object is no value"
    );
    // Text that is not a JSON list is searched as text.
    let broken = [("steps.triage.outputs.labels", r#"["debug", "#)];
    assert!(truth(
        "contains(steps.triage.outputs.labels, 'bug')",
        &broken
    ));
}

#[test]
fn the_truth_of_text_is_documented_as_it_is() {
    // baton: '', 'false' and '0' are false (values between steps are text); GitHub
    // would read 'false' and '0' as true (docs/workflow/conditions.md says so).
    for (v, want) in [
        ("", false),
        ("false", false),
        ("0", false),
        ("FALSE", true),
        ("no", true),
        ("00", true),
        ("1", true),
    ] {
        assert_eq!(truth("params.v", &[("params.v", v)]), want, "{v:?}");
    }
    // `true == 'true'`: baton compares the text (GitHub would coerce to numbers: false).
    assert!(truth("true == 'true'", &[]));
    // Two numbers in text compare as numbers (GitHub compares two texts as text).
    assert!(truth("params.v == '1'", &[("params.v", "1.0")]));
}

#[test]
fn status_functions_point_at_when() {
    for (f, rule) in [
        ("success()", "all_success"),
        ("failure()", "one_failed"),
        ("always()", "`when = \"always\"`"),
        ("cancelled()", "a cancelled run starts no more steps"),
    ] {
        let e = parse(&format!("{f} && params.a == 'b'")).unwrap_err();
        assert!(e.message.contains("job-status function"), "{f}: {e:?}");
        assert!(e.message.contains("the step's `when`"), "{f}: {e:?}");
        assert!(e.hint.contains(rule), "{f}: {e:?}");
        assert_eq!(e.at, 0..f.len() - 2, "{f}");
    }
}
