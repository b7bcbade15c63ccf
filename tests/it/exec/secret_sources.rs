//! Issue 60 point 4: `[secrets]` read where teams keep them — Debian's real `pass`
//! over a throw-away gpg key, a systemd-style credentials directory, a file — when a
//! step that uses them starts; the step gets the value, the store never holds it, the
//! logs show it masked, and a secret that cannot be read fails its step with a record
//! that names it.
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PASS_VALUE: &str = "pa55-Qx7-v4lue";
const CRED_VALUE: &str = "cred-9Jk-v4lue";
const FILE_VALUE: &str = "file-Zt3-v4lue";

/// A GnuPG home and a `pass` store in the test's temp dir, with one unprotected key.
/// Its gpg-agent (started by the first gpg, and again by the steps' `pass`) is
/// stopped when it drops, a failing test included.
struct PassStore {
    gnupg: PathBuf,
    store: PathBuf,
}

impl PassStore {
    fn new(dir: &Path) -> Option<PassStore> {
        if !Path::new("/usr/bin/pass").exists() || !Path::new("/usr/bin/gpg").exists() {
            eprintln!("SKIPPED: pass or gpg is not installed (apt-get install pass gnupg)");
            return None;
        }
        use std::os::unix::fs::DirBuilderExt;
        let gnupg = dir.join("gnupg");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&gnupg)
            .unwrap();
        // Made before any gpg runs: dropped, it stops the agent whatever failed.
        let p = PassStore {
            gnupg,
            store: dir.join("password-store"),
        };
        p.ok(
            Command::new("gpg").args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--quick-gen-key",
                "baton test <test@baton.invalid>",
                "default",
                "default",
                "never",
            ]),
            None,
        );
        p.ok(
            Command::new("pass").args(["init", "test@baton.invalid"]),
            None,
        );
        let entry = format!("{PASS_VALUE}\nlogin: deploy\nurl: db.example\n");
        p.ok(
            Command::new("pass").args(["insert", "--multiline", "prod/db"]),
            Some(&entry),
        );
        Some(p)
    }

    /// `cmd` with this store's GnuPG home and password store.
    fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("GNUPGHOME", &self.gnupg)
            .env("PASSWORD_STORE_DIR", &self.store)
    }

    fn ok(&self, cmd: &mut Command, stdin: Option<&str>) {
        use std::io::Write;
        let mut child = self
            .env(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        let stopped = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", &self.gnupg)
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            eprintln!("gpgconf --kill all failed for {}", self.gnupg.display());
        }
    }
}

/// Every byte under the store's directory (the SQLite file, its journal, the logs).
fn store_bytes(env: &Env) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![env.db().parent().unwrap().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    assert!(
        out.iter().any(|(p, _)| p == &env.db()),
        "the store was read"
    );
    out
}

fn assert_nowhere_in_store(env: &Env, value: &str) {
    for (path, bytes) in store_bytes(env) {
        assert!(
            !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
            "{} holds the secret",
            path.display()
        );
    }
}

fn error_of(show: &serde_json::Value, step: &str) -> String {
    show["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["step"] == step)
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn a_secret_from_pass_reaches_its_step_only_and_is_never_stored_or_shown() {
    let env = Env::new();
    let Some(pass) = PassStore::new(env.path()) else {
        return;
    };
    let wf = env.workflow(
        "w.toml",
        r#"
name = "pass"
[secrets]
DB_PASSWORD = { command = ["pass", "show", "prod/db"], first_line = true, timeout = "20s" }
[[step]]
id = "use"
secrets = ["DB_PASSWORD"]
run = 'printf %s "$DB_PASSWORD" > got; echo "connecting with $DB_PASSWORD"; echo "seen=$DB_PASSWORD" >> "$BATON_OUTPUT"'
[[step]]
id = "other"
needs = ["use"]
run = 'printf %s "${DB_PASSWORD:-unset}" > other'
"#,
    );
    let out = pass
        .env(&mut env.cmd())
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains(PASS_VALUE), "{said}");
    // The first line of the entry, in the step's environment; not in another step's.
    assert_eq!(
        std::fs::read_to_string(env.path().join("got")).unwrap(),
        PASS_VALUE
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("other")).unwrap(),
        "unset"
    );
    let id = run_id_of(&text(&out.stdout));
    let logs = env.run(&["logs", &id, "use"]);
    let logged = text(&logs.stdout);
    assert!(logged.contains("connecting with ***"), "{logged}");
    assert!(!logged.contains(PASS_VALUE), "{logged}");
    let show = env.run(&["show", &id, "--json"]);
    assert!(!text(&show.stdout).contains(PASS_VALUE));
    assert_nowhere_in_store(&env, PASS_VALUE);
}

#[test]
fn a_failing_or_slow_command_fails_its_step_with_a_record_naming_the_secret() {
    let env = Env::new();
    let Some(pass) = PassStore::new(env.path()) else {
        return;
    };
    let wf = env.workflow(
        "w.toml",
        r#"
name = "pass-fails"
[secrets]
GONE = { command = ["pass", "show", "prod/nope"] }
SLOW = { command = ["sleep", "30"], timeout = "1s" }
[[step]]
id = "missing"
secrets = ["GONE"]
run = 'touch ran-missing'
[[step]]
id = "slow"
secrets = ["SLOW"]
run = 'touch ran-slow'
"#,
    );
    let started = std::time::Instant::now();
    let out = pass
        .env(&mut env.cmd())
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "the deadline held"
    );
    assert!(!env.path().join("ran-missing").exists());
    assert!(!env.path().join("ran-slow").exists());
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(step_state(&show, "missing").as_deref(), Some("failed"));
    let gone = error_of(&show, "missing");
    assert!(
        gone.contains("secret `GONE` (from command `pass show prod/nope`)")
            && gone.contains("exited with status 1")
            && gone.contains("is not in the password store"),
        "{show:#}"
    );
    let slow = error_of(&show, "slow");
    assert!(
        slow.contains("secret `SLOW`") && slow.contains("did not finish within 1s"),
        "{show:#}"
    );
}

#[test]
fn a_credentials_directory_and_a_file_are_read_as_the_step_starts() {
    let env = Env::new();
    let creds = env.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("db"), format!("{CRED_VALUE}\n")).unwrap();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "creds"
[secrets]
DB = { credential = "db" }
API = { file = "run-secrets/api" }
[[step]]
id = "use"
secrets = ["DB", "API"]
run = 'printf "%s|%s" "$DB" "$API" > got; echo "db=$DB api=$API"'
"#,
    );
    // Written after the run was created would do too: nothing is read at load.
    std::fs::create_dir(env.path().join("run-secrets")).unwrap();
    std::fs::write(env.path().join("run-secrets/api"), FILE_VALUE).unwrap();
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("CREDENTIALS_DIRECTORY", &creds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(env.path().join("got")).unwrap(),
        format!("{CRED_VALUE}|{FILE_VALUE}")
    );
    let id = run_id_of(&text(&out.stdout));
    let logged = text(&env.run(&["logs", &id, "use"]).stdout);
    assert!(logged.contains("db=*** api=***"), "{logged}");
    assert_nowhere_in_store(&env, CRED_VALUE);
    assert_nowhere_in_store(&env, FILE_VALUE);

    // Without the directory (baton not started with LoadCredential=), or without the
    // file: the step fails, and its record says which secret and why.
    std::fs::remove_file(env.path().join("run-secrets/api")).unwrap();
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let record = error_of(&env.show(&run_id_of(&text(&out.stdout))), "use");
    assert!(
        record.contains("secret `DB` (from credential db)")
            && record.contains("$CREDENTIALS_DIRECTORY is not set"),
        "{record}"
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("CREDENTIALS_DIRECTORY", &creds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    let suggestion = show["errors"][0]["suggestion"].as_str().unwrap_or_default();
    assert!(
        suggestion.starts_with("make secret `API` readable where [secrets] says it is kept")
            && suggestion.contains("then `baton retry "),
        "{show:#}"
    );
    let record = error_of(&show, "use");
    assert!(
        record.contains("secret `API` (from file ")
            && record.contains("run-secrets/api")
            && record.contains("No such file"),
        "{record}"
    );
}

#[test]
fn validate_names_an_undeclared_secret_and_a_bad_source_and_plan_shows_sources() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"name = "v"
[secrets]
DB_PASSWORD = { command = ["pass", "show", "prod/db"], first_line = true }
API = { credential = "api" }
[[step]]
id = "deploy"
run = "true"
secrets = ["DB_PASSWRD"]
"#,
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("w.toml:8:12"), "{err}");
    assert!(err.contains("did you mean `DB_PASSWORD`?"), "{err}");
    let bad = env.workflow(
        "bad.toml",
        "name = \"v\"\n[secrets]\nDB = { command = \"pass show prod/db\" }\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["validate", bad.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:3:"), "{err}");
    assert!(
        err.contains("command = [\"pass\", \"show\", \"prod/db\"]"),
        "{err}"
    );
    let good = env.workflow(
        "good.toml",
        r#"name = "v"
[secrets]
DB_PASSWORD = { command = ["pass", "show", "prod/db"], first_line = true }
API = { credential = "api" }
[[step]]
id = "deploy"
run = "true"
secrets = ["DB_PASSWORD", "API"]
"#,
    );
    let out = env.run(&["plan", good.to_str().unwrap()]);
    let plan = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        plan.contains("deploy  [run, secrets DB_PASSWORD (command) API (credential)]"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "DB_PASSWORD: command `pass show prod/db` (timeout 30s, first line), used by deploy"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("API: credential api, used by deploy"),
        "{plan}"
    );
}

#[test]
fn a_step_on_an_ssh_host_gets_its_secret_over_the_connection_never_stored() {
    let Some(config) = super::ssh::hosts() else {
        return;
    };
    let env = Env::new().with_own_tmp();
    std::fs::write(env.path().join("token"), format!("{FILE_VALUE}\n")).unwrap();
    let got = env.path().join("got-on-host");
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"ssh-secret\"\n{}\n[secrets]\nTOKEN = {{ file = \"token\" }}\n[[step]]\nid = \"remote\"\nexecutor = \"box\"\nsecrets = [\"TOKEN\"]\nrun = 'printf %s \"$TOKEN\" > {}; echo \"token=$TOKEN\"'\n",
            super::ssh::executor("box", "baton-h2", &config, &env, ""),
            got.display()
        ),
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), FILE_VALUE);
    let id = run_id_of(&text(&out.stdout));
    let logged = text(&env.run(&["logs", &id, "remote"]).stdout);
    assert!(logged.contains("token=***"), "{logged}");
    assert_nowhere_in_store(&env, FILE_VALUE);
}

/// Issue 75 point 3: an `env` secret's source variable and `$CREDENTIALS_DIRECTORY`
/// are in baton's environment, yet a step that names no secret inherits neither: its
/// `env` and a read of the credentials directory print no value. The step that names
/// them gets them, masked in its log. It runs after, so its values are not yet in
/// the run's masker when the first step prints.
#[test]
fn a_secret_s_source_and_the_credentials_directory_reach_only_steps_naming_them() {
    const HOOK_VALUE: &str = "hook-Vb8-v4lue";
    let env = Env::new();
    let creds = env.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("db"), format!("{CRED_VALUE}\n")).unwrap();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "scope"
[secrets]
SLACK_HOOK = { env = "SLACK_HOOK" }
DB = { credential = "db" }
[[step]]
id = "none"
run = 'env; cat "$CREDENTIALS_DIRECTORY/db"; echo "dir=${CREDENTIALS_DIRECTORY-unset} hook=${SLACK_HOOK-unset}"; true'
[[step]]
id = "named"
needs = ["none"]
secrets = ["SLACK_HOOK", "DB"]
run = 'printf "%s|%s" "$SLACK_HOOK" "$DB" > got; echo "hook=$SLACK_HOOK db=$DB dir=${CREDENTIALS_DIRECTORY:+set}"'
"#,
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("SLACK_HOOK", HOOK_VALUE)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = run_id_of(&text(&out.stdout));
    let none = text(&env.run(&["logs", &id, "none"]).stdout);
    assert!(none.contains("BATON_STEP_ID=none"), "env printed: {none}");
    assert!(none.contains("dir=unset hook=unset"), "{none}");
    for leaked in [
        HOOK_VALUE,
        CRED_VALUE,
        "CREDENTIALS_DIRECTORY=",
        "SLACK_HOOK=",
    ] {
        assert!(!none.contains(leaked), "{leaked} in: {none}");
    }
    assert_eq!(
        std::fs::read_to_string(env.path().join("got")).unwrap(),
        format!("{HOOK_VALUE}|{CRED_VALUE}")
    );
    let named = text(&env.run(&["logs", &id, "named"]).stdout);
    assert!(named.contains("hook=*** db=*** dir=set"), "{named}");
    assert_nowhere_in_store(&env, HOOK_VALUE);
    assert_nowhere_in_store(&env, CRED_VALUE);
}
