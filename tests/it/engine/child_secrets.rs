//! Issue 75 point 1: a secret handed to a child run is a secret there. The parent's
//! secret param, a value made from it, and its `secrets = [...]` entry (which the
//! child's engine inherits) reach the child's steps as they are, and the child masks
//! them as its own: its steps' logs say `***`, and no file of the store (rows, events,
//! audit, logs, of either run) holds the token. The child's outputs reach its parent's
//! step, those holding a handed secret withheld (issue 78 point 4).
use crate::helpers::*;
use std::path::Path;

const TOKEN: &str = "tok-5b1e-cafe-77";
const API: &str = "api-9d2c-beef-13";

const PARENT: &str = r#"
name = "parent"
secrets = ["API_TOKEN"]
[params.token]
secret = true
required = true
[[step]]
id = "deploy"
workflow = "child.toml"
params = { tok = "${{ params.token }}", url = "https://h.example/?t=${{ params.token }}" }
[[step]]
id = "after"
needs = ["deploy"]
run = 'echo "plain=$PLAIN"'
env = { PLAIN = "${{ steps.deploy.outputs.plain }}" }
"#;

/// `tok` and `url` are plain params here: only the parent knows they hold a secret.
const CHILD: &str = r#"
name = "child"
[params]
tok = { required = true }
url = { required = true }
[[step]]
id = "ship"
run = '''
echo "tok=$TOK url=$URL api=$API_TOKEN"
[ "$TOK" = "$WANT_TOK" ] && [ "$API_TOKEN" = "$WANT_API" ] && touch "$MARK"
printf 'seen=%s\nderived=%s\nplain=ok\n' "$TOK" "x${URL#*t=}" >> "$BATON_OUTPUT"
'''
env = { TOK = "${{ params.tok }}", URL = "${{ params.url }}" }
"#;

/// Every file under `dir` (the store, its logs, the account's state) that holds `needle`.
fn holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(holding(&p, needle));
        } else if std::fs::read(&p)
            .unwrap_or_default()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            found.push(p.display().to_string());
        }
    }
    found
}

#[test]
fn a_secret_handed_to_a_child_is_masked_there_and_stored_nowhere() {
    let env = Env::new();
    let work = env.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("child.toml"), CHILD).unwrap();
    let wf = work.join("parent.toml");
    std::fs::write(&wf, PARENT).unwrap();
    let token_param = format!("token={TOKEN}");
    let out = env
        .cmd()
        .current_dir(&work)
        .args(["run", "--headless", "--param", &token_param, "--"])
        .arg(&wf)
        .env("API_TOKEN", API)
        .env("WANT_TOK", TOKEN)
        .env("WANT_API", API)
        .env("MARK", env.path().join("got-them"))
        .output()
        .unwrap();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    // The child's step got the real values.
    assert!(env.path().join("got-them").exists(), "{said}");
    let parent = run_id_of(&text(&out.stdout));
    let kid = step_field(&env.show(&parent), "deploy", "child_run");
    let kid = kid.as_str().expect("the child run").to_string();
    let log = text(&env.run(&["logs", &kid, "ship"]).stdout);
    assert!(
        log.contains("tok=*** url=*** api=***"),
        "the child's log: {log}"
    );
    for secret in [TOKEN, API] {
        assert!(!said.contains(secret), "printed: {said}");
        let kept = holding(env.path(), secret);
        assert!(kept.is_empty(), "{secret} kept in {kept:?}");
    }
    // The child's outputs reach the parent's step, but none holding a handed secret
    // (`session::child::outputs_for_parent`): withheld, as a step's own would be.
    let deploy = step_field(&env.show(&parent), "deploy", "outputs");
    assert_eq!(deploy["plain"], "ok", "{deploy}");
    assert!(
        deploy.get("seen").is_none() && deploy.get("derived").is_none(),
        "{deploy}"
    );
    let after = text(&env.run(&["logs", &parent, "after"]).stdout);
    assert!(after.contains("plain=ok"), "{after}");
    // The child's audit says `***` for the handed params.
    let audit = json_rows(&env.run(&["audit", &kid, "--json"]));
    let started = audit
        .iter()
        .find(|r| r["action"] == "run_started")
        .expect("run_started in the audit");
    let params = &started["details"]["params"];
    assert_eq!(params["tok"], "***", "{started:#}");
    assert_eq!(params["url"], "***", "{started:#}");
}

#[test]
fn validate_says_when_a_secret_param_feeds_a_child_param_not_declared_secret() {
    let env = Env::new();
    env.workflow("child.toml", CHILD);
    let wf = env.workflow("parent.toml", PARENT);
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning, not an error: {said}"
    );
    for key in ["tok", "url"] {
        assert!(
            said.contains(&format!(
                "`params.{key}` of step `deploy` is given the secret param `token`"
            )),
            "{said}"
        );
    }
    // Declared secret in the child: nothing to say.
    env.workflow(
        "child.toml",
        &CHILD.replace(
            "tok = { required = true }\nurl = { required = true }",
            "tok = { required = true, secret = true }\nurl = { required = true, secret = true }",
        ),
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("is given the secret param"), "{said}");
}
