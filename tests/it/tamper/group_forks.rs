//! Issue 56 point 1, in a group store through the real binary: `baton fork` reuses an
//! old run's text, params and outputs, which any member (`gmbob`) can rewrite with
//! plain SQL. A fork of `gmalice`'s own run checks them as a takeover does and refuses
//! a rewrite (exit 3, naming it, on record); a fork of another account's run says
//! whose record it runs and needs `--from-run-of`; the fork is sealed by the forker.
use super::group_members::{ALICE, BOB, Members, all, sql_text};
use crate::helpers::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// `a` emits `version`; `b` passes it on (and runs `$WHO`'s greeting, a param).
const FLOW: &str = r#"
name = "rel"
[params.who]
default = "alice"
[[step]]
id = "a"
run = 'echo version=1.0 >> "$BATON_OUTPUT"'
[[step]]
id = "b"
needs = ["a"]
run = 'echo "seen=$V-$WHO" >> "$BATON_OUTPUT"'
env = { V = "${{ steps.a.outputs.version }}", WHO = "${{ params.who }}" }
"#;

/// A world-writable directory where bob's planted command would leave its mark.
fn flags(m: &Members) -> PathBuf {
    let dir = m.home(ALICE).join("flags");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// `user` runs [`FLOW`] (from their home) to its end; the run's id.
fn finished_run(m: &Members, user: &str) -> String {
    let wf = m.write(user, "rel.toml", FLOW);
    let out = m.baton(user, &["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    run_id_of(&text(&out.stdout))
}

fn runs(m: &Members) -> Vec<String> {
    let out = m.baton(ALICE, &["runs", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

/// `baton audit RUN --json` as alice.
fn audit(m: &Members, run: &str) -> Vec<Value> {
    json_rows(&m.baton(ALICE, &["audit", run, "--json"]))
}

/// Alice forks `run` from `b`; it is refused (exit 3) naming `what`, no run is made,
/// and the refusal is on record under `run`.
fn refused(m: &Members, run: &str, what: &str, before: usize) {
    let out = m.baton(ALICE, &["fork", run, "--from", "b", "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(all(&out).contains(what), "{what}: {}", all(&out));
    assert_eq!(runs(m).len(), 1, "a refused fork made no run");
    let refusals: Vec<Value> = audit(m, run)
        .into_iter()
        .filter(|r| r["action"] == "command_refused")
        .collect();
    assert_eq!(refusals.len(), before + 1, "{refusals:#?}");
    let last = refusals.last().unwrap();
    assert_eq!(last["actor"], ALICE, "{last:#}");
    assert!(last.to_string().contains(what), "{last:#}");
    // Issue 75 point 7: the row names the decision it refused, a fork, and which.
    assert_eq!(last["refused"]["decision"], "fork", "{last:#}");
    assert_eq!(last["refused"]["code"], "unproven", "{last:#}");
    assert_eq!(last["details"]["fork"], run, "{last:#}");
    assert_eq!(last["details"]["from"], "b", "{last:#}");
    let table = all(&m.baton(ALICE, &["audit", run]));
    assert!(table.contains("command_refused fork (unproven)"), "{table}");
}

#[test]
fn a_fork_of_a_run_another_member_rewrote_is_refused_on_record_naming_what() {
    let Some(m) = Members::new() else {
        return;
    };
    let flags = flags(&m);
    let id = finished_run(&m, ALICE);
    // Bob's text: `b` also runs his command.
    let evil = FLOW.replace(
        "run = 'echo \"seen",
        &format!("run = 'touch {}/pwned; echo \"seen", flags.display()),
    );
    assert_ne!(evil, FLOW);
    m.sql(
        BOB,
        &format!(
            "UPDATE run_sources SET source_text = {} WHERE run_id = {};",
            sql_text(&evil),
            sql_text(&id)
        ),
    );
    refused(
        &m,
        &id,
        "workflow text is not what the starter's engine recorded",
        0,
    );
    let recorded: String =
        rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
            .query_row(
                "SELECT params_json FROM run_sources WHERE run_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
    // Put back, then a param of his.
    m.sql(
        BOB,
        &format!(
            "UPDATE run_sources SET source_text = {}, params_json = '{{\"who\":\"bob\"}}' WHERE run_id = {};",
            sql_text(FLOW),
            sql_text(&id)
        ),
    );
    refused(
        &m,
        &id,
        "params is not what the starter's engine recorded",
        1,
    );
    // Put back as recorded (its exact text), then an output: the trigger dropped.
    m.sql(
        BOB,
        &format!(
            "UPDATE run_sources SET params_json = {} WHERE run_id = {};
             DROP TRIGGER events_no_update;
             UPDATE events SET json = replace(json, 'version\":\"1.0', 'version\":\"6.6.6')
               WHERE run_id = {} AND type = 'step_finished' AND step = 'a';",
            sql_text(&recorded),
            sql_text(&id),
            sql_text(&id)
        ),
    );
    refused(&m, &id, "events", 2);
    assert!(!flags.join("pwned").exists(), "bob's command ran");
    // Nothing reused his value: no run but alice's own was made.
    assert_eq!(runs(&m), [id]);
}

/// Alice forks `run` from `b`, naming `starter` as whose run it is.
fn fork_of(m: &Members, run: &str, starter: &str) -> std::process::Output {
    let args = [
        "fork",
        run,
        "--from",
        "b",
        "--from-run-of",
        starter,
        "--headless",
    ];
    m.baton(ALICE, &args)
}

#[test]
fn honest_forks_of_ones_own_run_and_of_anothers_work_and_the_fork_is_the_forkers() {
    let Some(m) = Members::new() else {
        return;
    };
    let mine = finished_run(&m, ALICE);
    let out = m.baton(ALICE, &["fork", &mine, "--from", "b", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let bobs = finished_run(&m, BOB);
    // Another account's run: said, and refused until the command names its starter.
    let out = m.baton(ALICE, &["fork", &bobs, "--from", "b", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(
        all(&out).contains(&format!(
            "run {bobs} was started by `{BOB}`: a fork runs its recorded workflow text and params and reuses its outputs as `{ALICE}`"
        )),
        "{}",
        all(&out)
    );
    assert!(
        all(&out).contains(&format!("--from-run-of {BOB}")),
        "{}",
        all(&out)
    );
    let out = fork_of(&m, &bobs, ALICE);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert_eq!(runs(&m).len(), 3, "refused forks made no run");
    let out = fork_of(&m, &bobs, BOB);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains(&format!("`{BOB}`'s run, as the store holds them")),
        "{}",
        all(&out)
    );
    let fork = run_id_of(&text(&out.stdout));
    let shown = m.show(&fork);
    assert_eq!(shown["operator"], ALICE, "{shown:#}");
    assert_eq!(shown["forked_from"]["run"], bobs.as_str(), "{shown:#}");
    assert_eq!(step(&shown, "a")["reused_from"], bobs.as_str(), "{shown:#}");
    assert_eq!(
        step(&shown, "b")["outputs"]["seen"],
        "1.0-alice",
        "{shown:#}"
    );
    // Sealed by alice's engine: her fork of it checks against her own seal.
    let out = m.baton(ALICE, &["fork", &fork, "--from", "b", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}
