//! Issue 58 point 8: which workflow text a run used (`show`, `show --json`), and `baton
//! diff RUN_A RUN_B`: a unified diff of two runs' texts and params, exit 0 when the
//! same, 1 when they differ, 2 for a run that is not there.
use crate::helpers::*;

const V1: &str = r#"name = "ver"
[params.region]
type = "string"
default = "eu"
[[step]]
id = "build"
run = "true"
"#;

#[test]
fn show_names_the_text_a_run_used_and_diff_shows_what_changed() {
    let env = Env::new();
    let wf = env.workflow("ver.toml", V1);
    let start = |params: &[&str]| {
        let mut args = vec!["run", wf.to_str().unwrap(), "--headless"];
        args.extend_from_slice(params);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        run_id_of(&text(&out.stdout))
    };
    let a = start(&[]);
    let same = start(&[]);
    std::fs::write(&wf, V1.replace("run = \"true\"", "run = \"echo v2\"")).unwrap();
    let b = start(&["--param", "region=us"]);

    let hash = |run: &str| env.show(run)["workflow_hash"].as_str().unwrap().to_string();
    let (ha, hb) = (hash(&a), hash(&b));
    assert_eq!(ha.len(), 12, "{ha}");
    assert_eq!(hash(&same), ha, "one text, one hash");
    assert_ne!(ha, hb);
    let shown = text(&env.run(&["show", &a]).stdout);
    assert!(shown.contains(&format!("workflow text {ha} (")), "{shown}");

    let same_diff = env.run(&["diff", &a, &same]);
    assert_eq!(
        same_diff.status.code(),
        Some(0),
        "{}",
        text(&same_diff.stderr)
    );
    assert_eq!(text(&same_diff.stdout), "");

    let d = env.run(&["diff", &a[..10], &b]);
    assert_eq!(d.status.code(), Some(1), "{}", text(&d.stderr));
    let out = text(&d.stdout);
    assert!(
        out.starts_with(&format!("--- run {a} workflow (text {ha}, ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("+++ run {b} workflow (text {hb}, ")),
        "{out}"
    );
    assert!(
        out.contains("\n-run = \"true\"\n+run = \"echo v2\"\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("--- run {a} params ("))
            && out.contains(&format!("+++ run {b} params (")),
        "{out}"
    );
    assert!(out.contains("\n-region=eu\n+region=us\n"), "{out}");

    let missing = env.run(&["diff", &a, "nosuchrun"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    assert!(
        text(&missing.stderr).contains("nosuchrun"),
        "{}",
        text(&missing.stderr)
    );
}
