//! Child runs' links (`workflow = "…"` on a step, issue 57): a child's row in
//! `run_parents` (schema `RUN_PARENTS`), written with the child in its creation's
//! transaction, names the parent run, step and attempt; the parent reads its children
//! by the index, so both ends are on record without a scan of every run.
use crate::{Store, StoreError};
use baton_model::view::ParentLink;
use rusqlite::{Connection, OptionalExtension, params};

/// In the transaction that creates run `run_id`: its link to its parent. A second
/// child for the same attempt of the same step fails here (the unique index). A row
/// in its place whose run's `run_started` does not name this link was written by hand
/// (a member of a group store): it yields, so that it cannot block the step.
pub(crate) fn insert(tx: &Connection, run_id: &str, p: &ParentLink) -> Result<(), StoreError> {
    let there: Option<String> = tx
        .prepare_cached(
            "SELECT run_id FROM run_parents
             WHERE parent_run = ?1 AND parent_step = ?2 AND parent_attempt = ?3",
        )?
        .query_row(params![p.run, p.step, p.attempt], |r| r.get(0))
        .optional()?;
    if let Some(there) = there
        && names_parent(tx, &there)?.as_ref() != Some(p)
    {
        tx.prepare_cached("DELETE FROM run_parents WHERE run_id = ?1")?
            .execute([&there])?;
    }
    tx.prepare_cached(
        "INSERT INTO run_parents (run_id, parent_run, parent_step, parent_attempt) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![run_id, p.run, p.step, p.attempt])?;
    Ok(())
}

/// The parent run `run_id`'s `run_started` names, if any.
fn names_parent(c: &Connection, run_id: &str) -> Result<Option<ParentLink>, StoreError> {
    let json = crate::coord::commands::first_event_json(c, run_id)?;
    Ok(
        match json.and_then(|j| serde_json::from_str::<baton_model::Event>(&j).ok()) {
            Some(baton_model::Event {
                kind: baton_model::EventKind::RunStarted { parent, .. },
                ..
            }) => parent,
            _ => None,
        },
    )
}

/// Parent links [`Store::chain_depth`] follows at most.
const MAX_NESTING: usize = 64;

/// A child run as its parent's step knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRun {
    pub run: String,
    /// The parent step's attempt that made it.
    pub attempt: u32,
}

/// A link of `run_parents` that [`Store::proven_child_of`] does not take, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnprovenChild {
    pub child: ChildRun,
    pub why: String,
}

impl Store {
    /// The run and step whose child `run_id` is, if it is one: as its own `run_started`
    /// names it (on its chain, sealed in a group store), not as a row of `run_parents`
    /// says, which any member can write. A child an older baton made (its
    /// `run_started` names none) is read from the table in a private store only.
    pub fn parent_of(&self, run_id: &str) -> Result<Option<ParentLink>, StoreError> {
        if let Some(baton_model::EventKind::RunStarted { parent, .. }) =
            self.first_event(run_id)?.map(|e| e.kind)
            && (parent.is_some() || self.shared)
        {
            return Ok(parent);
        }
        self.parent_row(run_id)
    }

    /// How many triggers led to `run_id`: its trigger event's depth, or for a child run
    /// its parent's (up the proven links of [`Store::parent_of`]). A child carries its
    /// parent's depth, so a cycle of triggers through child runs (A's child ends, which
    /// starts A) meets `workflow::MAX_TRIGGER_DEPTH` as a direct one does.
    pub fn chain_depth(&self, run_id: &str) -> Result<u32, StoreError> {
        let mut run = run_id.to_string();
        // Links go from a child to an older parent; the bound only guards hand-written rows.
        for _ in 0..MAX_NESTING {
            if let Some(e) = self.event_of_run(&run)? {
                return Ok(e.depth);
            }
            match self.parent_of(&run)? {
                Some(p) => run = p.run,
                None => return Ok(0),
            }
        }
        Ok(0)
    }

    /// The row of `run_parents` of `run_id`, as written.
    fn parent_row(&self, run_id: &str) -> Result<Option<ParentLink>, StoreError> {
        let r = (|| {
            Ok(self
                .conn
                .prepare_cached(
                    "SELECT parent_run, parent_step, parent_attempt FROM run_parents WHERE run_id = ?1",
                )?
                .query_row([run_id], |r| {
                    Ok(ParentLink {
                        run: r.get(0)?,
                        step: r.get(1)?,
                        attempt: r.get(2)?,
                    })
                })
                .optional()?)
        })();
        self.ctx(r)
    }

    /// The newest child of step `step` of run `parent` whose link is proven, and the
    /// links that are not (newest first). A row of `run_parents` is any member's to
    /// write, so it proves nothing alone: the child's own `run_started` must name this
    /// parent, step and attempt, and (in a group store) the child's record and events
    /// must be what this account's engines sealed (`check_sealed`) — the child's engine
    /// is the parent's step process, so the parent's starter made and sealed it. Read
    /// in one snapshot: what is checked is what is returned.
    pub fn proven_child_of(
        &self,
        parent: &str,
        step: &str,
    ) -> Result<(Option<ChildRun>, Vec<UnprovenChild>), StoreError> {
        let r = crate::tx::in_read_snapshot(&self.conn, |c| {
            let links: Vec<ChildRun> = c
                .prepare_cached(
                    "SELECT run_id, parent_attempt FROM run_parents
                     WHERE parent_run = ?1 AND parent_step = ?2
                     ORDER BY parent_attempt DESC",
                )?
                .query_map([parent, step], |r| {
                    Ok(ChildRun {
                        run: r.get(0)?,
                        attempt: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut ignored = Vec::new();
            for child in links {
                let link = ParentLink {
                    run: parent.to_string(),
                    step: step.to_string(),
                    attempt: child.attempt,
                };
                match self.link_unproven(&child.run, &link)? {
                    None => return Ok((Some(child), ignored)),
                    Some(why) => ignored.push(UnprovenChild { child, why }),
                }
            }
            Ok((None, ignored))
        });
        self.ctx(r)
    }

    /// Why run `child` is not proven the child `link` says it is (`None`: it is).
    fn link_unproven(&self, child: &str, link: &ParentLink) -> Result<Option<String>, StoreError> {
        let record = match self.run(child) {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) => return Ok(Some("no such run".into())),
            Err(e) => return Err(e),
        };
        let named = match self.first_event(child)?.map(|e| e.kind) {
            Some(baton_model::EventKind::RunStarted { parent, .. }) => parent,
            _ => return Ok(Some("it has no `run_started` event".into())),
        };
        match named {
            Some(p) if p == *link => {}
            Some(p) => {
                return Ok(Some(format!(
                    "its `run_started` names run {} step {} attempt {} as its parent",
                    p.run, p.step, p.attempt
                )));
            }
            // A child an older baton made, whose `run_started` named no parent: taken
            // from a private store, which only its owner writes.
            None if !self.shared => {}
            None => {
                return Ok(Some(
                    "its `run_started` names no parent: it is no child run".into(),
                ));
            }
        }
        match self.check_sealed(&record) {
            Ok(()) => Ok(None),
            Err(StoreError::Unproven { what, .. }) => Ok(Some(format!(
                "{what} (a run another account started, or altered since)"
            ))),
            Err(e) => Err(e),
        }
    }

    /// How attempt `attempt` of step `step` of run `run` stands on record (its
    /// `attempts` row's state: `running`, `succeeded`, `failed`, `interrupted`, …).
    pub fn attempt_state(
        &self,
        run: &str,
        step: &str,
        attempt: u32,
    ) -> Result<Option<String>, StoreError> {
        // As of the run's last event: the rows may lag it (`catch_up`).
        let r = super::catch_up::attempt_state_now(&self.conn, run, step, attempt);
        self.ctx(r)
    }

    /// Each step of `parent` with a child run, and its newest child that names it, by
    /// step id.
    pub fn children_of(&self, parent: &str) -> Result<Vec<(String, ChildRun)>, StoreError> {
        let r = (|| {
            let mut stmt = self.conn.prepare_cached(
                "SELECT parent_step, run_id, parent_attempt FROM run_parents
                 WHERE parent_run = ?1 ORDER BY parent_step, parent_attempt",
            )?;
            let rows = stmt.query_map([parent], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ChildRun {
                        run: r.get(1)?,
                        attempt: r.get(2)?,
                    },
                ))
            })?;
            let mut out: Vec<(String, ChildRun)> = Vec::new();
            for row in rows {
                let (step, child) = row?;
                // Only a child that names this link itself (see `parent_of`).
                let link = ParentLink {
                    run: parent.to_string(),
                    step: step.clone(),
                    attempt: child.attempt,
                };
                if self.parent_of(&child.run)?.as_ref() != Some(&link) {
                    continue;
                }
                // Ordered by attempt: the newest of a step replaces the older.
                match out.last_mut() {
                    Some((s, c)) if *s == step => *c = child,
                    _ => out.push((step, child)),
                }
            }
            Ok(out)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::coord::trigger_events::TriggerEvent;
    use crate::records::NewRun;
    use baton_model::state_summary::StateSummary;
    use baton_model::view::ParentLink;

    fn child(id: &str, parent: &str) -> NewRun {
        NewRun {
            parent: Some(ParentLink {
                run: parent.into(),
                step: "call".into(),
                attempt: 1,
            }),
            ..NewRun::bare(id)
        }
    }

    /// A run a trigger made at depth 3 has a child, whose child has one: each is at
    /// depth 3, so a trigger on their end makes a run at depth 4, never at 1.
    #[test]
    fn a_child_run_is_as_deep_in_a_chain_of_triggers_as_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("b.db")).unwrap();
        let event = TriggerEvent {
            file: "/w/a.toml",
            index: 1,
            key: "run:S",
            kind: "run_ended",
            detail: "run S of c succeeded",
            source_run: Some("S"),
            depth: 3,
        };
        s.fire_trigger(&event, &NewRun::bare("A"), "pid 1 on h", None, |_| {
            (Vec::new(), StateSummary::default())
        })
        .unwrap();
        s.create_run(&child("C1", "A")).unwrap();
        s.create_run(&child("C2", "C1")).unwrap();
        s.create_run(&NewRun::bare("lone")).unwrap();
        for run in ["A", "C1", "C2"] {
            assert_eq!(s.chain_depth(run).unwrap(), 3, "{run}");
        }
        assert_eq!(s.chain_depth("lone").unwrap(), 0);
    }
}
