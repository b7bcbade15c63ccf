//! A console's decisions sent over `baton link` (issue 59 point 4, docs/link-protocol.md):
//! each carries a request id the console drew at random. The command's row and its
//! request's row are written in one transaction; the console's check after a drop
//! either finds that row or settles the request as not delivered, in one transaction
//! too. Whichever commits first wins: a request settled is never handed in afterwards
//! (a `baton link` whose connection was cut but whose process still ran finds it
//! settled and refuses), and a request handed in is never said not delivered. A check
//! that finds the request handed in closes it (`checked`): the submitter's second try
//! after withdrawing its command is refused then, so the console is never told the
//! first command's fate while a second is applied. A request is one run's.
use super::{Store, StoreError};
use crate::tx::in_transaction;
use baton_model::{Command, CommandOutcome, Refusal, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// What the store says of a link request after [`Store::settle_link_request`].
#[derive(Debug, Clone, PartialEq)]
pub enum LinkRequest {
    /// Never handed in: settled as not delivered (now or by an earlier check); it
    /// never will be.
    NotDelivered,
    /// Handed in as command `id` (`command`: what it asked), its engine's verdict
    /// once given (`None` while pending or claimed).
    Delivered {
        id: i64,
        command: Box<Command>,
        outcome: Option<CommandOutcome>,
    },
    /// Handed in, and its command's row is gone since (its run was deleted).
    Gone,
    /// An answer to an ask (no command row): `what` it said, and what became of it,
    /// both recorded in the transaction that decided it ([`Store::answer_ask`]).
    Answered {
        what: String,
        outcome: CommandOutcome,
    },
}

/// What a request that answered an ask keeps (`link_requests.answer`, JSON).
#[derive(serde::Serialize, serde::Deserialize)]
struct AskAnswer {
    what: String,
    outcome: CommandOutcome,
}

/// Why a settled request is refused when its link comes late with it.
fn settled(request: &str) -> StoreError {
    StoreError::Refused(format!(
        "request {request} was settled as not delivered by the console's check after its link dropped: it is not recorded; decide again"
    ))
}

/// A request's row: its command (`None`: settled as not delivered), and whether a
/// console's check has read it (then no later hand-in of it is recorded).
struct Row {
    run_id: String,
    command: Option<i64>,
    checked: bool,
    /// An ask's answer it recorded ([`AskAnswer`]'s JSON).
    answer: Option<String>,
}

fn request_row(conn: &Connection, request: &str) -> Result<Option<Row>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT run_id, command, checked, answer FROM link_requests WHERE request = ?1",
        )?
        .query_row([request], |r| {
            Ok(Row {
                run_id: r.get(0)?,
                command: r.get(1)?,
                checked: r.get(2)?,
                answer: r.get(3)?,
            })
        })
        .optional()?)
}

/// Why a request of another run is refused: a console draws a new id for each
/// decision, so the same id on two runs is never one decision.
fn other_run(request: &str, theirs: &str, ours: &str) -> StoreError {
    StoreError::Refused(format!(
        "request {request} belongs to run {theirs}, not run {ours}: it is not this run's decision; decide again"
    ))
}

/// Why a handed-in command a check finds cannot be told: its row does not read.
fn unreadable(request: &str, id: i64, run_id: &str, e: &serde_json::Error) -> StoreError {
    StoreError::Refused(format!(
        "request {request} was handed in as command {id}, whose row cannot be read ({e}; a newer baton may have written it): look at run {run_id} with `baton show {run_id}`"
    ))
}

/// Why a request a check has read is refused when it is handed in again.
/// Whether command `id` was given up by its submitter (or refused): only then may its
/// request be handed in again. One pending, claimed or accepted stands: a second
/// hand-in of its request (the same line sent twice) would be a second decision.
fn withdrawn(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT status = 'refused' FROM commands WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(true))
}

fn handed_in(request: &str, id: i64) -> StoreError {
    StoreError::Refused(format!(
        "request {request} was handed in before as command {id}, which stands: it is not handed in twice"
    ))
}

fn checked(request: &str) -> StoreError {
    StoreError::Refused(format!(
        "request {request} was handed in before, and the console's check after its link dropped has read it since: it is not handed in again (the console was told what became of the first); decide again if that is not what you want"
    ))
}

impl Store {
    /// In the transaction of a command's insert (`command_id`): its link request's
    /// row; refused when a check settled the request first (the insert is rolled back).
    pub(crate) fn note_link_request(
        conn: &Connection,
        request: &str,
        run_id: &str,
        command_id: i64,
    ) -> Result<(), StoreError> {
        match request_row(conn, request)? {
            Some(row) if row.run_id != run_id => {
                return Err(other_run(request, &row.run_id, run_id));
            }
            Some(
                Row {
                    answer: Some(_), ..
                }
                | Row { checked: true, .. },
            ) => {
                return Err(checked(request));
            }
            Some(Row { command: None, .. }) => return Err(settled(request)),
            Some(Row {
                command: Some(first),
                ..
            }) if !withdrawn(conn, first)? => return Err(handed_in(request, first)),
            _ => {}
        }
        // Handed in again after a withdrawal (`session::command::apply` tries twice)
        // that no check has read: the request names its newest command.
        conn.prepare_cached(
            "INSERT INTO link_requests (request, run_id, command, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(request) DO UPDATE SET command = excluded.command",
        )?
        .execute(params![request, run_id, command_id, Timestamp::now().0])?;
        Ok(())
    }

    /// In the transaction of an answer to ask `ask_id` sent with `request`, before it is
    /// decided: refused when a check settled the request first, or when it answered
    /// already (the transaction is rolled back, nothing recorded).
    pub(crate) fn check_ask_request(
        conn: &Connection,
        request: &str,
        ask_id: &str,
    ) -> Result<(), StoreError> {
        match request_row(conn, request)? {
            None => Ok(()),
            Some(row) if row.run_id != ask_id => Err(other_run(request, &row.run_id, ask_id)),
            Some(Row {
                command: None,
                answer: None,
                ..
            }) => Err(settled(request)),
            Some(_) => Err(checked(request)),
        }
    }

    /// In the same transaction, once it is decided: what the answer `what` to ask
    /// `ask_id` came to, kept with its `request`; the console's check reads it.
    pub(crate) fn note_ask_answer(
        conn: &Connection,
        request: &str,
        ask_id: &str,
        what: &str,
        outcome: &CommandOutcome,
    ) -> Result<(), StoreError> {
        let answer = serde_json::to_string(&AskAnswer {
            what: what.to_string(),
            outcome: outcome.clone(),
        })?;
        conn.prepare_cached(
            "INSERT INTO link_requests (request, run_id, command, at, answer)
             VALUES (?1, ?2, NULL, ?3, ?4)",
        )?
        .execute(params![request, ask_id, Timestamp::now().0, answer])?;
        Ok(())
    }

    /// A read, no write: the command `request` names now and whether it is decided
    /// (its verdict given, or its row gone); `None` if the request has no command.
    /// What a check polls between its settles ([`Store::settle_link_request`]).
    pub fn link_request_state(&self, request: &str) -> Result<Option<(i64, bool)>, StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "SELECT l.command, c.id IS NULL OR c.outcome IS NOT NULL
                 FROM link_requests l LEFT JOIN commands c ON c.id = l.command
                 WHERE l.request = ?1 AND l.command IS NOT NULL",
            )
            .and_then(|mut st| {
                st.query_row([request], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Whether `request`'s command waits for an engine that no submitter brings:
    /// undecided, and handed in with no deadline (recorded for the run's next engine,
    /// or its starter's) or claimed by an engine that stopped before its verdict. Of
    /// a run no live engine drives, such a command is decided only once an engine is
    /// started for the run: a check answers at once rather than wait for it.
    pub fn link_request_awaits_engine(&self, request: &str) -> Result<bool, StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM link_requests l JOIN commands c ON c.id = l.command
                 WHERE l.request = ?1 AND c.outcome IS NULL
                   AND (c.status = 'claimed' OR c.deadline IS NULL))",
            )
            .and_then(|mut st| st.query_row([request], |r| r.get(0)))
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// The console's check of a request whose answer a drop lost: its command and
    /// verdict if it was handed in, else settled as not delivered, for good, in the
    /// same transaction. A command still pending past its deadline is refused as
    /// expired in it too (no engine will take it). Either way the request is closed: a later hand-in of it (a
    /// second try after its command was withdrawn) is refused.
    pub fn settle_link_request(
        &mut self,
        request: &str,
        run_id: &str,
    ) -> Result<LinkRequest, StoreError> {
        let path = &self.path;
        let r = in_transaction(&self.conn, |conn| {
            let id = match request_row(conn, request)? {
                None => {
                    conn.prepare_cached(
                        "INSERT INTO link_requests (request, run_id, command, at)
                         VALUES (?1, ?2, NULL, ?3)",
                    )?
                    .execute(params![request, run_id, Timestamp::now().0])?;
                    return Ok(LinkRequest::NotDelivered);
                }
                Some(row) if row.run_id != run_id => {
                    return Err(other_run(request, &row.run_id, run_id));
                }
                Some(Row {
                    answer: Some(a), ..
                }) => {
                    let AskAnswer { what, outcome } = serde_json::from_str(&a)?;
                    return Ok(LinkRequest::Answered { what, outcome });
                }
                Some(Row { command: None, .. }) => return Ok(LinkRequest::NotDelivered),
                Some(Row {
                    command: Some(id), ..
                }) => id,
            };
            // Read by a check now: no later hand-in of it is recorded, so what the
            // console is told stays the whole truth.
            conn.prepare_cached("UPDATE link_requests SET checked = 1 WHERE request = ?1")?
                .execute([request])?;
            // Pending past its deadline: its submitter stopped waiting (or died) and no
            // engine will apply it; refused as expired now, as an engine's claim would,
            // so the console is told a verdict, not "not decided yet" for ever.
            let expired = serde_json::to_string(&CommandOutcome::Refused(Refusal::Expired))?;
            let json: Option<String> = conn
                .prepare_cached(
                    "UPDATE commands SET status = 'refused', outcome = ?2, done_at = ?3
                     WHERE id = ?1 AND status = 'pending' AND deadline IS NOT NULL
                       AND deadline <= ?3 RETURNING json",
                )?
                .query_row(params![id, expired, Timestamp::now().0], |r| r.get(0))
                .optional()?;
            if let Some(json) = &json {
                super::proof::discard(path, json);
            }
            let row: Option<(String, Option<String>)> = conn
                .prepare_cached("SELECT json, outcome FROM commands WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(match row {
                None => LinkRequest::Gone,
                Some((json, outcome)) => LinkRequest::Delivered {
                    id,
                    command: Box::new(
                        serde_json::from_str(&json)
                            .map_err(|e| unreadable(request, id, run_id, &e))?,
                    ),
                    outcome: match outcome {
                        Some(o) => Some(serde_json::from_str(&o)?),
                        None => None,
                    },
                },
            })
        });
        self.ctx_run(run_id, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::NewRun;

    fn store_with_run() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("b.db")).expect("store");
        s.create_run(&NewRun::bare("R1")).expect("a run");
        (dir, s, "R1".to_string())
    }

    fn cancel() -> Command {
        Command::Cancel {
            operator: "ana".into(),
            reason: Some("same words".into()),
        }
    }

    #[test]
    fn a_request_settled_first_is_never_handed_in_after() {
        let (_d, mut s, run) = store_with_run();
        assert_eq!(
            s.settle_link_request("r-1", &run).expect("settle"),
            LinkRequest::NotDelivered
        );
        let late = s.submit_command_for(&run, &cancel(), None, Some("r-1"));
        assert!(
            matches!(&late, Err(StoreError::Refused(w)) if w.contains("settled as not delivered")),
            "{late:?}"
        );
        assert!(
            !s.has_open_commands(&run).expect("read"),
            "nothing handed in"
        );
        // Asked again: still not delivered.
        assert_eq!(
            s.settle_link_request("r-1", &run).expect("settle"),
            LinkRequest::NotDelivered
        );
    }

    #[test]
    fn a_request_handed_in_first_is_found_by_its_id_and_never_settled() {
        let (_d, mut s, run) = store_with_run();
        // Another decision with the same words, without a request id: not this one.
        s.submit_command(&run, &cancel(), None).expect("submit");
        let id = s
            .submit_command_for(&run, &cancel(), None, Some("r-2"))
            .expect("submit");
        let LinkRequest::Delivered {
            id: found,
            command,
            outcome,
        } = s.settle_link_request("r-2", &run).expect("check")
        else {
            panic!("not found")
        };
        assert_eq!((found, command, outcome), (id, Box::new(cancel()), None));
        let ok = CommandOutcome::Accepted {
            message: "cancelled".into(),
        };
        s.complete_command(id, &ok).expect("verdict");
        assert!(matches!(
            s.settle_link_request("r-2", &run).expect("check"),
            LinkRequest::Delivered { outcome: Some(o), .. } if o == ok
        ));
        // Unknown ids are settled, one by one.
        assert_eq!(
            s.settle_link_request("r-3", &run).expect("check"),
            LinkRequest::NotDelivered
        );
    }

    #[test]
    fn a_request_whose_withdrawal_a_check_read_is_never_handed_in_again() {
        let (_d, mut s, run) = store_with_run();
        let first = s
            .submit_command_for(&run, &cancel(), None, Some("r-4"))
            .expect("submit");
        let not_taken = Refusal::NotTaken {
            holder: "gone".into(),
            wait: "10s".into(),
        };
        assert!(s.withdraw_command(first, &not_taken).expect("withdraw"));
        let seen = s.settle_link_request("r-4", &run).expect("check");
        assert!(
            matches!(&seen, LinkRequest::Delivered { id, outcome: Some(CommandOutcome::Refused(r)), .. } if *id == first && *r == not_taken),
            "{seen:?}"
        );
        // Its submitter's second try: refused, nothing recorded.
        let again = s.submit_command_for(&run, &cancel(), None, Some("r-4"));
        assert!(
            matches!(&again, Err(StoreError::Refused(w)) if w.contains("has read it since")),
            "{again:?}"
        );
        assert!(!s.has_open_commands(&run).expect("read"), "nothing open");
        assert_eq!(s.settle_link_request("r-4", &run).expect("check"), seen);
    }

    #[test]
    fn a_request_whose_command_stands_is_not_handed_in_twice() {
        let (_d, mut s, run) = store_with_run();
        let first = s
            .submit_command_for(&run, &cancel(), None, Some("r-7"))
            .expect("submit");
        let twice = s.submit_command_for(&run, &cancel(), None, Some("r-7"));
        assert!(
            matches!(&twice, Err(StoreError::Refused(w)) if w.contains("not handed in twice")),
            "{twice:?}"
        );
        let ok = CommandOutcome::Accepted {
            message: "cancelled".into(),
        };
        s.complete_command(first, &ok).expect("verdict");
        let after = s.submit_command_for(&run, &cancel(), None, Some("r-7"));
        assert!(matches!(&after, Err(StoreError::Refused(_))), "{after:?}");
        assert!(matches!(
            s.settle_link_request("r-7", &run).expect("check"),
            LinkRequest::Delivered { id, .. } if id == first
        ));
    }

    #[test]
    fn a_withdrawn_request_no_check_read_is_handed_in_again() {
        let (_d, mut s, run) = store_with_run();
        let first = s
            .submit_command_for(&run, &cancel(), None, Some("r-5"))
            .expect("submit");
        let gone = Refusal::NotTaken {
            holder: "gone".into(),
            wait: "10s".into(),
        };
        assert!(s.withdraw_command(first, &gone).expect("withdraw"));
        let second = s
            .submit_command_for(&run, &cancel(), None, Some("r-5"))
            .expect("second try");
        assert!(matches!(
            s.settle_link_request("r-5", &run).expect("check"),
            LinkRequest::Delivered { id, outcome: None, .. } if id == second
        ));
    }

    #[test]
    fn a_check_refuses_as_expired_a_command_left_pending_past_its_deadline() {
        let (_d, mut s, run) = store_with_run();
        // Its submitter died before an engine took it; its deadline has passed.
        let id = s
            .submit_command_for(&run, &cancel(), Some(Timestamp(1)), Some("r-6"))
            .expect("submit");
        let expired = Some(CommandOutcome::Refused(Refusal::Expired));
        assert!(matches!(
            s.settle_link_request("r-6", &run).expect("check"),
            LinkRequest::Delivered { id: found, outcome, .. } if found == id && outcome == expired
        ));
        assert_eq!(s.command_outcome(id).expect("read"), expired);
        assert!(
            !s.has_open_commands(&run).expect("read"),
            "no engine takes it"
        );
        // Within its deadline it stays pending.
        let later = Timestamp(Timestamp::now().0 + 60_000);
        let id = s
            .submit_command_for(&run, &cancel(), Some(later), Some("r-7"))
            .expect("submit");
        assert!(matches!(
            s.settle_link_request("r-7", &run).expect("check"),
            LinkRequest::Delivered { outcome: None, .. }
        ));
        assert_eq!(s.command_outcome(id).expect("read"), None);
    }

    #[test]
    fn a_requests_state_is_read_without_writing() {
        let (_d, mut s, run) = store_with_run();
        assert_eq!(s.link_request_state("r-8").expect("read"), None);
        let id = s
            .submit_command_for(&run, &cancel(), None, Some("r-8"))
            .expect("submit");
        assert_eq!(
            s.link_request_state("r-8").expect("read"),
            Some((id, false))
        );
        let ok = CommandOutcome::Accepted {
            message: "cancelled".into(),
        };
        s.complete_command(id, &ok).expect("verdict");
        assert_eq!(s.link_request_state("r-8").expect("read"), Some((id, true)));
        // Not a settle: an unknown request stays unknown, and open to a hand-in.
        assert_eq!(s.link_request_state("r-9").expect("read"), None);
        s.submit_command_for(&run, &cancel(), None, Some("r-9"))
            .expect("still open");
    }

    #[test]
    fn a_request_is_its_runs_only_and_an_unreadable_command_is_said_so() {
        let (_d, mut s, run) = store_with_run();
        s.create_run(&NewRun::bare("R2")).expect("a second run");
        s.submit_command_for(&run, &cancel(), None, Some("r-10"))
            .expect("submit");
        let on_other = s.submit_command_for("R2", &cancel(), None, Some("r-10"));
        assert!(
            matches!(&on_other, Err(StoreError::Refused(w)) if w.contains("belongs to run R1, not run R2")),
            "{on_other:?}"
        );
        assert!(!s.has_open_commands("R2").expect("read"), "nothing on R2");
        let asked = s.settle_link_request("r-10", "R2");
        assert!(
            matches!(&asked, Err(StoreError::Refused(w)) if w.contains("belongs to run R1")),
            "{asked:?}"
        );
        // A command row that does not read: an error that says where to look.
        s.conn
            .execute("UPDATE commands SET json = '{\"cmd\": \"newer\"}'", [])
            .expect("break it");
        let asked = s.settle_link_request("r-10", &run);
        assert!(
            matches!(&asked, Err(StoreError::Refused(w)) if w.contains("cannot be read") && w.contains("baton show R1")),
            "{asked:?}"
        );
    }
}
