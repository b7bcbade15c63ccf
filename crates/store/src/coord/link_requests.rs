//! A console's decisions sent over `baton link` (issue 59 point 4, docs/link-protocol.md):
//! each carries a request id the console drew at random. The command's row and its
//! request's row are written in one transaction; the console's check after a drop
//! either finds that row or settles the request as not delivered, in one transaction
//! too. Whichever commits first wins: a request settled is never handed in afterwards
//! (a `baton link` whose connection was cut but whose process still ran finds it
//! settled and refuses), and a request handed in is never said not delivered.
use super::{Store, StoreError};
use crate::tx::in_transaction;
use baton_model::{Command, CommandOutcome, Timestamp};
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
        command: Option<Box<Command>>,
        outcome: Option<CommandOutcome>,
    },
    /// Handed in, and its command's row is gone since (its run was deleted).
    Gone,
}

/// Why a settled request is refused when its link comes late with it.
fn settled(request: &str) -> StoreError {
    StoreError::Refused(format!(
        "request {request} was settled as not delivered by the console's check after its link dropped: it is not recorded; decide again"
    ))
}

/// The request's command row, if it was handed in (`Some(None)`: settled).
fn request_row(conn: &Connection, request: &str) -> Result<Option<Option<i64>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT command FROM link_requests WHERE request = ?1")?
        .query_row([request], |r| r.get(0))
        .optional()?)
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
        if let Some(None) = request_row(conn, request)? {
            return Err(settled(request));
        }
        // Handed in again after a withdrawal (`session::command::apply` tries twice):
        // the request names its newest command.
        conn.prepare_cached(
            "INSERT INTO link_requests (request, run_id, command, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(request) DO UPDATE SET command = excluded.command",
        )?
        .execute(params![request, run_id, command_id, Timestamp::now().0])?;
        Ok(())
    }

    /// The console's check of a request whose answer a drop lost: its command and
    /// verdict if it was handed in, else settled as not delivered, for good, in the
    /// same transaction.
    pub fn settle_link_request(
        &mut self,
        request: &str,
        run_id: &str,
    ) -> Result<LinkRequest, StoreError> {
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
                Some(None) => return Ok(LinkRequest::NotDelivered),
                Some(Some(id)) => id,
            };
            let row: Option<(String, Option<String>)> = conn
                .prepare_cached("SELECT json, outcome FROM commands WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(match row {
                None => LinkRequest::Gone,
                Some((json, outcome)) => LinkRequest::Delivered {
                    id,
                    command: serde_json::from_str(&json).ok().map(Box::new),
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
        assert_eq!(
            (found, command, outcome),
            (id, Some(Box::new(cancel())), None)
        );
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
}
