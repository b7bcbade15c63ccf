//! A console's decision over `baton link` (issue 59 point 4, docs/link-protocol.md):
//! it carries a request id, and reaches its run only as a row of the store's
//! `commands` table that keeps the id in its transaction (`store::coord::link_requests`),
//! however the run is driven: by an engine of this host (its verdict), or by none (a
//! background engine takes it over, as `baton approve --detach` does). An answer to an
//! ask is recorded at once with its id, in the transaction that decides it. After a drop,
//! the console asks by that id: the command's verdict, or the request settled as not
//! delivered, in one transaction. A link that comes late with a settled request is
//! refused: exactly one of the two is ever true.
use super::command::{self, Applied, Delivery};
use baton_link::wire::Found;
use baton_model::{Command, CommandOutcome, Refusal};
use baton_store::{LinkRequest, Store, StoreError};
use std::path::Path;
use std::time::{Duration, Instant};

/// Decide `command` (made by this process's account) on `run_id` for request
/// `request`; the outcome is the console's answer. Blocking: run off the runtime.
pub(crate) fn decide(
    db: &Path,
    read_only: bool,
    run_id: &str,
    command: Command,
    request: &str,
) -> CommandOutcome {
    if read_only {
        return CommandOutcome::Refused(Refusal::ReadOnly);
    }
    // A crash test's moment: the request read and this link held before it reaches
    // the store (its connection may be cut meanwhile, its process kept).
    baton_exec::failpoint::hold_at("link-held", "command");
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => return cannot(e.to_string()),
    };
    // An answer to an ask: recorded at once, no engine, its request id in the same
    // transaction.
    if baton_model::ask::is_ask_id(run_id) {
        return match super::ask::answer_for(&mut store, run_id, &command, Some(request)) {
            Ok(message) => CommandOutcome::Accepted { message },
            Err(r) => CommandOutcome::Refused(r),
        };
    }
    let command = match super::console::sign_for_console(db, run_id, command) {
        Ok(c) => c,
        Err(r) => return CommandOutcome::Refused(r),
    };
    let applied = command::apply_for(
        &mut store,
        run_id,
        command,
        &Delivery::Detach,
        &[],
        command::WAIT,
        Some(request),
    );
    match applied {
        Ok(Applied::ByEngine { outcome, .. } | Applied::Detached { outcome, .. }) => outcome,
        Ok(Applied::RecordedForStarter { starter, .. }) => CommandOutcome::Accepted {
            message: format!(
                "recorded for `{starter}`'s engine: {}",
                command::starter_only(run_id, &starter)
            ),
        },
        Ok(Applied::Recorded { .. }) => CommandOutcome::Accepted {
            message: "recorded for the next engine".into(),
        },
        // Never with `Detach`: a takeover hands the run to a background engine.
        Ok(Applied::TakenOver { .. }) => cannot("the run was taken over here, not handed to a background engine; look at it and decide again".into()),
        Err(e) => CommandOutcome::Refused(super::console::refusal(&e)),
    }
}

fn cannot(why: String) -> CommandOutcome {
    CommandOutcome::Refused(Refusal::CannotApply { why })
}

/// What the store holds of `request` on `run_id`, settling it as not delivered if it
/// was not handed in; a command handed in and not yet decided is waited for (at most
/// as long as its submitter waits), unless no engine drives the run and none is
/// coming of itself for it (`Store::link_request_awaits_engine`): then it is
/// answered undecided at once. The write lock is taken to settle, once, then
/// again only when the command changed (or at the end, which refuses as expired a
/// command still pending past its deadline); in between the store is only read.
/// On a read-only link nothing is written: nothing can have been handed in on it
/// ([`decide`] refuses every decision there), so it was not delivered.
pub(crate) fn found(
    db: &Path,
    read_only: bool,
    run_id: &str,
    request: &str,
) -> Result<Found, StoreError> {
    if read_only {
        return Ok(Found::NotDelivered);
    }
    found_within(db, run_id, request, command::WAIT + Duration::from_secs(2))
}

/// [`found`], waiting at most `wait` for a verdict.
fn found_within(
    db: &Path,
    run_id: &str,
    request: &str,
    wait: Duration,
) -> Result<Found, StoreError> {
    let mut store = Store::open_existing(db)?;
    let until = Instant::now() + wait;
    let settle = |store: &mut Store| store.settle_link_request(request, run_id);
    let mut got = settle(&mut store)?;
    while let LinkRequest::Delivered {
        id, outcome: None, ..
    } = got
        && Instant::now() < until
    {
        if awaits_next_engine(&store, run_id, request)? {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        let now = store.link_request_state(request)?;
        if now == Some((id, false)) && Instant::now() < until {
            continue;
        }
        got = settle(&mut store)?;
    }
    Ok(match got {
        LinkRequest::NotDelivered => Found::NotDelivered,
        LinkRequest::Gone => Found::Gone,
        LinkRequest::Answered { what, outcome } => Found::Delivered {
            what,
            outcome: Some(outcome),
        },
        LinkRequest::Delivered {
            command, outcome, ..
        } => Found::Delivered {
            what: what(&command),
            outcome,
        },
    })
}

/// Whether no live engine drives `run_id` and `request`'s command waits for the run's
/// next engine: no verdict comes however long a check waits.
fn awaits_next_engine(store: &Store, run_id: &str, request: &str) -> Result<bool, StoreError> {
    // A run gone since: the next settle says so.
    let undriven = store
        .run_liveness(run_id)
        .is_ok_and(|l| l.driven_by.is_none());
    Ok(undriven && store.link_request_awaits_engine(request)?)
}

/// A decision in a few words, as the audit chain says it: `approve deploy: REASON`.
pub(crate) fn what(c: &Command) -> String {
    // The store's JSON of a command: `{"cmd": "approve", "step": …, "reason": …}`.
    let v = serde_json::to_value(c).unwrap_or_default();
    let field = |k: &str| v.get(k).and_then(|s| s.as_str());
    let (step, reason) = (field("step"), field("reason"));
    let mut out = field("cmd").unwrap_or("decision").to_string();
    if let Some(step) = step {
        out.push(' ');
        out.push_str(step);
    }
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        out.push_str(": ");
        out.push_str(reason);
    }
    baton_model::sanitize::for_terminal(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::Timestamp;
    use baton_store::NewRun;

    /// A store with run `R1`, and a count of the check's settles of a handed-in
    /// request (each marks it `checked`; a trigger counts them).
    fn store_counting_settles() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("b.db");
        let mut s = Store::open(&db).expect("store");
        s.create_run(&NewRun {
            id: "R1".into(),
            workflow: "w".into(),
            source_path: "/w.toml".into(),
            source_text: "name = \"w\"\n".into(),
            params_json: "{}".into(),
            operator: "ana".into(),
            started_at: Timestamp(1),
            steps: Vec::new(),
            parent: None,
        })
        .expect("a run");
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.execute_batch(
                    "CREATE TABLE settles (n INTEGER);
                     CREATE TRIGGER count_settles AFTER UPDATE OF checked ON link_requests
                     BEGIN INSERT INTO settles VALUES (1); END;",
                )
            })
            .expect("the counter");
        (dir, db, s)
    }

    fn settles(db: &Path) -> i64 {
        rusqlite::Connection::open(db)
            .and_then(|c| c.query_row("SELECT count(*) FROM settles", [], |r| r.get(0)))
            .expect("count")
    }

    #[test]
    fn a_check_takes_the_write_lock_to_settle_and_only_reads_while_it_waits() {
        let (_d, db, mut s) = store_counting_settles();
        let cancel = Command::Cancel {
            operator: "ana".into(),
            reason: None,
        };
        let later = Timestamp(Timestamp::now().0 + 60_000);
        s.submit_command_for("R1", &cancel, Some(later), Some("r-1"))
            .expect("handed in");
        // No verdict comes: it waits its whole time, polling.
        let got = found_within(&db, "R1", "r-1", Duration::from_millis(400)).expect("check");
        assert_eq!(
            got,
            Found::Delivered {
                what: "cancel".into(),
                outcome: None
            }
        );
        assert_eq!(settles(&db), 2, "once at first, once at the end");
    }

    /// `found_within` on a thread of its own, waiting up to an hour: its answer, or
    /// `None` if it had not come within `deadline` (it waited for a verdict).
    fn found_soon(db: &Path, request: &str, deadline: Duration) -> Option<Found> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (db, request) = (db.to_path_buf(), request.to_string());
        std::thread::spawn(move || {
            let _ = tx.send(found_within(&db, "R1", &request, Duration::from_secs(3600)));
        });
        rx.recv_timeout(deadline).ok().map(|r| r.expect("check"))
    }

    /// A command no engine will decide of itself, of a run no live engine drives: one
    /// recorded for the next engine (no deadline), and one claimed by an engine that
    /// stopped before its verdict. The check answers undecided at once, not after
    /// its submitter's wait: nothing would come meanwhile.
    #[test]
    fn a_command_waiting_for_the_next_engine_of_an_undriven_run_is_answered_at_once() {
        let (_d, db, mut s) = store_counting_settles();
        let cancel = Command::Cancel {
            operator: "ana".into(),
            reason: None,
        };
        let undecided = Found::Delivered {
            what: "cancel".into(),
            outcome: None,
        };
        s.submit_command_for("R1", &cancel, None, Some("r-next"))
            .expect("handed in");
        let got = found_soon(&db, "r-next", Duration::from_secs(30));
        assert_eq!(got.as_ref(), Some(&undecided), "answered at once");
        assert_eq!(settles(&db), 1, "settled once, no wait");
        // Claimed under a lease whose engine is gone (its heartbeat long stale).
        let later = Timestamp(Timestamp::now().0 + 60_000);
        s.submit_command_for("R1", &cancel, Some(later), Some("r-claimed"))
            .expect("handed in");
        let stale = Duration::from_secs(30);
        s.acquire_lease("R1", "pid 1 on elsewhere", Timestamp(1), stale)
            .expect("a lease");
        assert_eq!(s.claim_commands("R1").expect("claimed").len(), 2);
        let got = found_soon(&db, "r-claimed", Duration::from_secs(30));
        assert_eq!(got, Some(undecided));
    }

    /// The same command of a run a live engine drives: the check waits for its
    /// verdict (its whole time here, as no engine runs).
    #[test]
    fn a_command_of_a_driven_run_is_waited_for() {
        let (_d, db, mut s) = store_counting_settles();
        let cancel = Command::Cancel {
            operator: "ana".into(),
            reason: None,
        };
        s.submit_command_for("R1", &cancel, None, Some("r-live"))
            .expect("handed in");
        // Another host's engine, its heartbeat now: live as far as this host can tell.
        let now = Timestamp::now();
        s.acquire_lease("R1", "pid 1 on elsewhere", now, Duration::from_secs(3600))
            .expect("a lease");
        let got = found_within(&db, "R1", "r-live", Duration::from_millis(400)).expect("check");
        assert_eq!(
            got,
            Found::Delivered {
                what: "cancel".into(),
                outcome: None
            }
        );
        assert_eq!(settles(&db), 2, "once at first, once at the end: it waited");
    }

    #[test]
    fn a_read_only_links_check_writes_nothing() {
        let (_d, db, _s) = store_counting_settles();
        let rows = || {
            rusqlite::Connection::open(&db)
                .and_then(|c| c.query_row("SELECT count(*) FROM link_requests", [], |r| r.get(0)))
                .expect("count")
        };
        let got = found(&db, true, "R1", "r-2").expect("check");
        assert_eq!((got, rows()), (Found::NotDelivered, 0_i64));
        // On a writable link the same check settles the request.
        let got = found(&db, false, "R1", "r-2").expect("check");
        assert_eq!((got, rows()), (Found::NotDelivered, 1_i64));
    }

    #[test]
    fn a_decision_is_said_in_a_few_words() {
        let c = Command::Approve {
            step: "deploy".into(),
            operator: "ana".into(),
            reason: Some("ship".into()),
            signature: None,
            inputs: Default::default(),
        };
        assert_eq!(what(&c), "approve deploy: ship");
        let c = Command::Cancel {
            operator: "ana".into(),
            reason: None,
        };
        assert_eq!(what(&c), "cancel");
    }
}
