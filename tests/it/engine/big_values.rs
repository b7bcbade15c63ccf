//! Issue 42 point 5 through the real binary: a value too big for the environment
//! reaches the step through the file `$BATON_FILE_<NAME>` names (no spawn fails), and
//! an output `$BATON_OUTPUT`'s bound cut is never handed on: its readers fail before
//! they start, saying so, and a `for_each` over it too (not a JSON parse error).
use crate::helpers::*;

#[test]
fn a_value_too_big_for_the_environment_reaches_the_step_through_a_file() {
    let env = Env::new();
    let wf = env.workflow(
        "big.toml",
        r#"
name = "big"
[[step]]
id = "make"
run = 'printf "v=%s\n" "$(head -c 300000 /dev/zero | tr "\0" a)" >> "$BATON_OUTPUT"'
[[step]]
id = "use"
needs = ["make"]
env = { V = "${{ steps.make.outputs.v }}", SMALL = "s" }
run = 'test -z "${V:-}" && test "$SMALL" = s && wc -c < "$BATON_FILE_V" > got'
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let got = std::fs::read_to_string(env.path().join("got")).unwrap();
    assert_eq!(got.trim(), "300000");
}

#[test]
fn an_output_the_bound_cut_is_never_handed_on() {
    let env = Env::new();
    let wf = env.workflow(
        "cut.toml",
        r#"
name = "cut"
[[step]]
id = "list"
run = 'printf "files=[" >> "$BATON_OUTPUT"; head -c 1200000 /dev/zero | tr "\0" 1 | sed "s/1/1,/g" >> "$BATON_OUTPUT"; echo "1]" >> "$BATON_OUTPUT"'
[[step]]
id = "each"
needs = ["list"]
for_each = "${{ steps.list.outputs.files }}"
run = "true"
[[step]]
id = "use"
needs = ["list"]
env = { FILES = "${{ steps.list.outputs.files }}" }
run = "touch ran"
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "list").as_deref(), Some("succeeded"));
    assert!(!env.path().join("ran").exists(), "`use` never started");
    for id in ["each", "use"] {
        assert_eq!(step_state(&show, id).as_deref(), Some("failed"), "{id}");
        let why = show["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["step"] == id)
            .and_then(|e| e["message"].as_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            why.contains("`steps.list.outputs.files` was cut: `list` wrote more than 1 MiB"),
            "{id}: {why}"
        );
        assert!(!why.contains("EOF while parsing"), "{why}");
    }
}
