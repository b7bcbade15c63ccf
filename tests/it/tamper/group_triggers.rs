//! A `run_ended` trigger in a group store, through the real binary as the OS
//! accounts: a member (`gmbob`) runs a file of their own named like the source
//! (`build`) with an output of their choosing; alice's serve records that event
//! refused, naming why, and starts no `publish`; so is a run of theirs they made
//! hers with plain SQL. Her own run of `build` starts it.
use super::group_members::{ALICE, BOB, Members, all};
use super::group_schedules::{served, stop};
use crate::helpers::*;
use std::path::Path;
use std::time::Duration;

const BUILD: &str = r#"name = "build"

[params.n]
type = "int"
default = "3"

[[step]]
id = "package"
run = 'echo "version=1.2.$BATON_PARAM_N" >> "$BATON_OUTPUT"'
"#;

/// `publish`, started by each `build` that succeeds, its step appending to `ledger`.
fn publish(ledger: &Path) -> String {
    format!(
        r#"name = "publish"

[params.version]
type = "string"
required = true

[[trigger]]
on = "run_ended"
workflow = "build"
map = {{ version = "steps.package.outputs.version" }}

[[step]]
id = "ship"
run = 'echo "$BATON_PARAM_VERSION" >> {}'
"#,
        ledger.display()
    )
}

/// Every recorded event: (key, fate, why).
fn events(m: &Members) -> Vec<(String, String, Option<String>)> {
    let c =
        rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut st = c
        .prepare("SELECT event_key, fate, why FROM trigger_events ORDER BY recorded_at")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn published(ledger: &Path) -> Vec<String> {
    std::fs::read_to_string(ledger)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_members_run_named_like_the_source_starts_no_run_of_the_operators_trigger() {
    let Some(m) = Members::new() else {
        return;
    };
    let ledger = m.home(ALICE).join("published");
    let (flows, _) = served(&m, "publish.toml", &publish(&ledger));
    let alice_build = m.write(ALICE, "flows/build.toml", BUILD);
    std::fs::set_permissions(
        &alice_build,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let serve = super::group_schedules::serve(&m, &flows);
    let secs = Duration::from_secs;
    let c = || {
        rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
    };
    wait_until("the trigger served", secs(60), || {
        c().query_row("SELECT count(*) FROM triggers", [], |r| r.get::<_, i64>(0))
            .is_ok_and(|n| n == 1)
    });

    // Bob's own `build`, with the version he chooses.
    let bobs = m.write(
        BOB,
        "build.toml",
        &BUILD.replace("1.2.$BATON_PARAM_N", "1.2.666"),
    );
    let out = m.baton(BOB, &["run", bobs.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "bob's build: {}", all(&out));
    wait_until("bob's run's event decided", secs(60), || {
        !events(&m).is_empty()
    });
    let ev = events(&m);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].1, "refused", "{ev:?}");
    let why = ev[0].2.clone().unwrap_or_default();
    assert!(why.contains(BOB) && why.contains(ALICE), "{why}");

    // Alice's own run of `build` starts `publish` with its version.
    let out = m.baton(ALICE, &["run", alice_build.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "alice's build: {}", all(&out));
    wait_until("publish to run", secs(60), || {
        !published(&ledger).is_empty()
    });
    let beat = std::time::Instant::now();
    wait_until("two more looks", secs(10), || beat.elapsed() >= secs(2));
    assert_eq!(published(&ledger), ["1.2.3"]);

    // Bob's run made alice's with plain SQL while it runs: its seal does not hold.
    let slow = BUILD
        .replace("1.2.$BATON_PARAM_N", "1.2.777")
        .replace("run = 'echo", "run = 'sleep 3; echo");
    let slow = m.write(BOB, "slow.toml", &slow);
    let mut run = m.spawn(BOB, &["run", slow.to_str().unwrap(), "--headless"]);
    wait_until("bob's slow run on record", secs(30), || {
        c().query_row(
            "SELECT count(*) FROM runs WHERE operator = 'gmbob' AND state = 'running'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .is_ok_and(|n| n == 1)
    });
    m.sql(
        BOB,
        "UPDATE runs SET operator = 'gmalice' WHERE operator = 'gmbob';",
    );
    assert!(run.wait().unwrap().success());
    wait_until("the forged run's event decided", secs(60), || {
        events(&m).len() == 3
    });
    let beat = std::time::Instant::now();
    wait_until("two more looks", secs(10), || beat.elapsed() >= secs(2));
    stop(serve);
    let ev = events(&m);
    let fates: Vec<&str> = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(fates, ["refused", "started", "refused"], "{ev:?}");
    let why = ev[2].2.clone().unwrap_or_default();
    assert!(why.contains("not proven"), "{why}");
    assert_eq!(published(&ledger), ["1.2.3"]);
    let listed = all(&m.baton(ALICE, &["triggers"]));
    assert!(listed.contains("refused"), "{listed}");
}
