//! Notes on runs and steps (`baton note`): rows of the audit chain (action `note`, the
//! run as their subject, no event), appended by the writer's own process in one
//! transaction, so a note is on record whether or not an engine drives the run, and
//! whatever happens to that engine after. `runs rm` blanks them with the run's other
//! rows.
use crate::error::StoreError;
use crate::ledger::Store;
use crate::ledger::append::run_key;
use baton_model::Timestamp;
use baton_model::history::{AuditAction, Decision};
use baton_model::note::NoteView;

impl Store {
    /// Record `by`'s note `text` on run `run_id` (on its step `step`, if given). The
    /// caller checks the text (`note::text_problem`) and that the step is the run's.
    pub fn add_note(
        &mut self,
        run_id: &str,
        step: Option<&str>,
        by: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let decision = Decision {
            actor: by.to_string(),
            action: AuditAction::Note,
            step: step.map(str::to_string),
            reason: Some(text.to_string()),
            summary: match step {
                Some(s) => format!("note on step {s}"),
                None => "note on the run".to_string(),
            },
            details: serde_json::json!({}),
        };
        self.decide_on(
            run_id,
            |()| decision,
            |tx| {
                run_key(tx, run_id)?;
                // The run's row moves, so that the lists re-read it with its mark.
                tx.prepare_cached(&format!(
                    "UPDATE runs SET rev = {} WHERE id = ?1",
                    crate::read::run_counts::NEXT_REV
                ))?
                .execute([run_id])?;
                Ok(((), ()))
            },
        )
    }

    /// The notes on run `run_id` and its steps, oldest first.
    pub fn notes(&self, run_id: &str) -> Result<Vec<NoteView>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT at, actor, step, reason FROM audit
                 WHERE run_id = ?1 AND action = ?2 ORDER BY id",
            )?;
            let rows =
                st.query_map(rusqlite::params![run_id, AuditAction::Note.as_str()], |r| {
                    Ok(NoteView {
                        at: Timestamp(r.get(0)?),
                        by: r.get(1)?,
                        step: r.get(2)?,
                        text: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    })
                })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }

    /// How many notes each of `run_ids` has (runs with none left out): what the lists
    /// mark a run looked at by. One indexed look per run (`audit_by_action`).
    pub fn note_counts(
        &self,
        run_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, usize>, StoreError> {
        let r = (|| {
            let mut st = self
                .conn
                .prepare_cached("SELECT COUNT(*) FROM audit WHERE run_id = ?1 AND action = ?2")?;
            let mut out = std::collections::HashMap::new();
            for id in run_ids {
                let n: i64 = st
                    .query_row(rusqlite::params![id, AuditAction::Note.as_str()], |r| {
                        r.get(0)
                    })?;
                if n > 0 {
                    out.insert((*id).to_string(), usize::try_from(n).unwrap_or(usize::MAX));
                }
            }
            Ok(out)
        })();
        self.ctx(r)
    }
}
