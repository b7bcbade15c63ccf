//! Issue 6 point 7: values never become shell code; secrets never reach logs, the
//! store, the events or `show`; the database is private to its owner.
use crate::helpers::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn a_hostile_param_arrives_as_data_and_never_runs() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "hostile"
[params.msg]
type = "string"
[[step]]
id = "echo"
run = 'printf "%s\n" "$MSG" > got'
env = { MSG = "${{ params.msg }}" }
"#,
    );
    for payload in [
        "$(touch pwned1)",
        "`touch pwned2`",
        "x; touch pwned3",
        "'\"; touch pwned4; \"",
    ] {
        let out = env.run(&[
            "run",
            wf.to_str().unwrap(),
            "--headless",
            "--param",
            &format!("msg={payload}"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(
            std::fs::read_to_string(env.path().join("got"))
                .unwrap()
                .trim_end_matches('\n'),
            payload
        );
    }
    for n in 1..=4 {
        assert!(
            !env.path().join(format!("pwned{n}")).exists(),
            "payload {n} ran as code"
        );
    }
}

#[test]
fn secrets_are_masked_everywhere_they_could_land() {
    let env = Env::new();
    let secret = "hunter2-very-secret";
    let env_secret = "env-secret-value-42";
    let wf = env.workflow(
        "w.toml",
        r#"
name = "secretive"
secrets = ["API_TOKEN"]
[params.password]
type = "string"
secret = true
[[step]]
id = "leak"
run = 'echo "pw=$PW token=$API_TOKEN"; echo "err $PW" >&2; echo "out=$PW" >> "$BATON_OUTPUT"; echo "files: $BATON_OUTPUT $BATON_USAGE" > paths'
env = { PW = "${{ params.password }}" }
[[step]]
id = "fail"
needs = ["leak"]
run = 'echo "failing with $PW" >&2; exit 1'
env = { PW = "${{ params.password }}" }
"#,
    );
    let out = env
        .cmd()
        .args([
            "run",
            wf.to_str().unwrap(),
            "--headless",
            "--events",
            "events.jsonl",
            "--param",
            &format!("password={secret}"),
        ])
        .env("API_TOKEN", env_secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let id = run_id_of(&text(&out.stdout));
    let mut haystacks = vec![
        ("stdout", text(&out.stdout)),
        ("stderr", text(&out.stderr)),
        (
            "events",
            std::fs::read_to_string(env.path().join("events.jsonl")).unwrap(),
        ),
        ("show", env.show(&id).to_string()),
        ("logs leak", text(&env.run(&["logs", &id, "leak"]).stdout)),
        ("logs fail", text(&env.run(&["logs", &id, "fail"]).stdout)),
        ("audit", text(&env.run(&["audit", &id, "--json"]).stdout)),
    ];
    // Every byte of the database and of the log files.
    let mut files = vec![];
    let mut stack = vec![env.db().parent().unwrap().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    for f in files {
        haystacks.push((
            Box::leak(f.display().to_string().into_boxed_str()),
            String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned(),
        ));
    }
    let logs = &haystacks[4].1;
    assert!(
        logs.contains("pw=***"),
        "the log shows the masked value: {logs}"
    );
    for (name, hay) in &haystacks {
        assert!(!hay.contains(secret), "secret param leaked into {name}");
        assert!(!hay.contains(env_secret), "secret env leaked into {name}");
    }
    let show = env.show(&id);
    // An output holding a secret is withheld (not passed on as `***`), and said so.
    assert!(
        step_field(&show, "leak", "outputs").get("out").is_none(),
        "{show:#}"
    );
    let withheld = show.to_string();
    assert!(
        withheld.contains("output `out` contains a secret"),
        "a record names the withheld output: {show:#}"
    );
    // The files baton gave the step are gone once read.
    let paths = std::fs::read_to_string(env.path().join("paths")).unwrap();
    for p in paths.trim().trim_start_matches("files: ").split(' ') {
        assert!(!std::path::Path::new(p).exists(), "{p} was left behind");
    }
}

#[test]
fn the_database_is_private_and_a_shared_one_is_refused() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"p\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    assert_eq!(
        env.run(&["run", wf.to_str().unwrap(), "--headless"])
            .status
            .code(),
        Some(0)
    );
    let dir_mode = std::fs::metadata(env.db().parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    let file_mode = std::fs::metadata(env.db()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert_eq!(file_mode, 0o600);
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = env.run(&["runs"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("chmod") || err.contains("permission") || err.contains("writable"),
        "{err}"
    );
}

/// Security review: a gate prompt that templates a step's output reached a piped or
/// redirected `--headless` stdout (a CI log, `| tee`) with its escape sequences, which
/// whoever later `cat`s the log would have obeyed. Headless lines are sanitised wherever
/// they go; the text stays readable.
#[test]
fn headless_lines_are_sanitised_in_a_pipe_too() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "escapes"
[[step]]
id = "build"
run = '''printf 'e=\033]0;PWNTITLE\007\033]52;c;cHduZWQ=\007\033[2J\033[31mRED\342\200\256evil\n' >> "$BATON_OUTPUT"'''
[[step]]
id = "ship"
needs = ["build"]
gate = { prompt = "Ship ${{ steps.build.outputs.e }}?", timeout = "1s", on_timeout = "reject" }
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    let printed = text(&out.stdout);
    assert!(printed.contains("ship gate: Ship"), "{printed}");
    assert!(
        printed.contains("RED") && printed.contains("evil"),
        "{printed}"
    );
    for bad in ["\u{1b}]", "\u{7}", "\u{1b}[2J", "\u{202e}"] {
        assert!(
            !printed.contains(bad),
            "{bad:?} reached the pipe: {printed:?}"
        );
    }
}
