//! Issue 44 point 5, `baton ask`'s exit codes: 0 approved, 1 rejected, 3 timed out, and
//! a broken store or system 5, never 1 or 3 (which other commands use for failures):
//! a script tells a timeout or a rejection from a store it cannot use.
use crate::helpers::{Env, secs, text, wait_child, wait_until};
use std::process::Stdio;

#[test]
fn a_store_that_cannot_be_used_exits_5_not_3_as_a_timeout_does() {
    let env = Env::new();
    let dir = env.db().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(env.db(), b"this is not a database, and not empty either").unwrap();
    let out = env.run(&["ask", "--prompt", "go?", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("error:"),
        "{}",
        text(&out.stderr)
    );
    // The timeout keeps its 3.
    let env = Env::new();
    let out = env.run(&["ask", "--prompt", "go?", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn an_ask_gone_from_the_store_while_waiting_exits_5_not_1_as_a_rejection_does() {
    let env = Env::new();
    let asker = env
        .cmd()
        .args(["ask", "--prompt", "vanish?", "--timeout", "60s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton ask");
    let db = env.db();
    wait_until("the ask recorded", secs(10), || {
        let n = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM asks", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0);
        (n == 1).then_some(())
    });
    let c = rusqlite::Connection::open(&db).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    c.execute("DELETE FROM asks", []).unwrap();
    drop(c);
    let out = wait_child(asker, 10);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("gone from the store"),
        "{}",
        text(&out.stderr)
    );
}
