//! Issue 76 point 7: a fork asked over `baton link` (the console's `F` on a store of
//! another host) carries the params its dialog changed, and the preview it is shown
//! carries the run's recorded params but never a secret's value; a peer of the
//! protocol before (6, whose fork had no params) is refused, naming both, instead of
//! forking with the recorded params. Real `baton link` processes on a real store (no
//! ssh: the protocol is the same on a pipe).
use super::never_both::Link;
use crate::helpers::*;
use baton::link::wire::{self, Hello, Reply, Request, ToClient, ToServer};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

const SECRET: &str = "hunter2-not-for-the-wire";

/// A param that reaches its step (`1.0` and the like), a secret one, and the step.
const VERSIONED: &str = r#"
name = "versioned"
[params.version]
type = "string"
pattern = '^\d+\.\d+$'
[params.token]
secret = true
[[step]]
id = "ship"
env = { V = "${{ params.version }}" }
run = 'echo "shipping $V"'
"#;

/// A finished run of [`VERSIONED`] in `env`, with `version=1.0` and `secret` as its
/// token: the run's id (the run the fork tests fork).
pub(crate) fn versioned_run(env: &Env, secret: &str) -> String {
    let wf = env.workflow("versioned.toml", VERSIONED);
    let token = format!("token={secret}");
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "version=1.0",
        "--param",
        &token,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    run_id_of(&text(&out.stdout))
}

/// The params `baton runs --json` lists for `run`, from the store.
pub(crate) fn params_of(env: &Env, run: &str) -> serde_json::Value {
    let runs = env.runs();
    runs.as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == run)
        .map(|r| r["params"].clone())
        .unwrap_or_default()
}

#[test]
fn a_fork_over_the_link_carries_the_changed_params_and_never_a_secrets_value() {
    let env = Env::new();
    let old = versioned_run(&env, SECRET);

    let mut link = Link::open(&env, &[]);
    link.send(&ToServer::Request {
        id: 1,
        request: Request::ForkPlan {
            run_id: old.clone(),
            step: "ship".into(),
        },
    });
    let preview = link.next(|m| match m {
        ToClient::Reply {
            id: 1,
            reply: Reply::ForkPlan(p),
        } => Some(p),
        _ => None,
    });
    let preview = preview.expect("the fork's plan");
    let said = serde_json::to_string(&preview).unwrap();
    assert!(!said.contains(SECRET), "{said}");
    assert_eq!(preview.workflow, "versioned");
    let params: Vec<(&str, bool, Option<&str>)> = preview
        .params
        .iter()
        .map(|p| (p.input.name.as_str(), p.secret, p.recorded.as_deref()))
        .collect();
    assert_eq!(
        params,
        [("version", false, Some("1.0")), ("token", true, None)],
        "{said}"
    );

    // The fork with what the dialog changed, and the secret given again.
    link.send(&ToServer::Request {
        id: 2,
        request: Request::Fork {
            run_id: old.clone(),
            step: "ship".into(),
            from_run_of: None,
            params: vec![
                ("version".into(), "2.0".into()),
                ("token".into(), SECRET.into()),
            ],
        },
    });
    let made = link.next(|m| match m {
        ToClient::Reply {
            id: 2,
            reply: Reply::Text(t),
        } => Some(t),
        _ => None,
    });
    let made = made.expect("the fork made");
    let new = wait_until("the fork listed", Duration::from_secs(20), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != old)
            .map(str::to_string)
    });
    assert!(made.contains(&new), "{made}");
    wait_until("the fork to succeed", Duration::from_secs(30), || {
        (env.show(&new)["state"] == "succeeded").then_some(())
    });
    assert_eq!(link.end(), Some(0));
    let (was, now) = (params_of(&env, &old), params_of(&env, &new));
    assert_eq!(was["version"], "1.0", "{was}");
    assert_eq!(now["version"], "2.0", "{now}");
    assert_ne!(now["token"], SECRET, "{now}");
    assert_eq!(env.show(&new)["forked_from"]["run"], old.as_str());
    let logs = text(&env.run(&["logs", &new, "ship"]).stdout);
    assert!(logs.contains("shipping 2.0"), "{logs}");
    assert_no_secret_under(env.path());
}

/// No file under `dir` (the store, its logs, the test's workflow) holds the secret.
fn assert_no_secret_under(dir: &std::path::Path) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
        assert!(!found, "{} holds the secret", entry.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(walk(&p)),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
    out
}

/// A console of protocol 6 (whose fork carried no params) is refused by the link,
/// naming both protocols: its fork never reaches the store with its params lost.
#[test]
fn a_peer_of_the_protocol_before_fork_params_is_refused_naming_both() {
    let env = Env::new();
    let mut child = env
        .cmd()
        .arg("link")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn baton link");
    let old = Hello {
        protocol: wire::PROTOCOL - 1,
        baton: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let mut line = serde_json::to_vec(&ToServer::Hello(old)).unwrap();
    line.push(b'\n');
    stdin.write_all(&line).expect("hello");
    stdin.flush().expect("flush");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let why = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| match serde_json::from_str::<ToClient>(&l) {
            Ok(ToClient::Refused { why, .. }) => Some(why),
            _ => None,
        })
        .expect("a refusal before the link ends");
    let ours = format!("(link protocol {})", wire::PROTOCOL);
    let theirs = format!("(link protocol {})", wire::PROTOCOL - 1);
    assert!(why.contains(&ours) && why.contains(&theirs), "{why}");
    drop(stdin);
    let status = wait_until("the link's end", Duration::from_secs(30), || {
        child.try_wait().ok().flatten()
    });
    assert!(!status.success(), "{status:?}");
}
