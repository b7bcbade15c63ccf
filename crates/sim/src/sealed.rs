//! `--mix accounts`, engines and starters (issue 61 point 1): each engine is a process
//! of one account — engine 0 `gmalice`'s, engine 1 `gmbob`'s, engine 2 this process's
//! — so the runs it starts (`baton run`, a fork, a serve's slot) are that account's,
//! sealed by its engine with the account's own secret (`starter_seal`, each member's
//! in a state directory of its own in the scenario's directory), and only that
//! account's engine takes them over (`baton resume`, a command's takeover): another
//! account's command on such a run is recorded for the starter's engine.
//!
//! And a member's forgery only a group store has (issue 61's "a rewritten record"):
//! now and then (4 % of actions, from the seventh stream) a member rewrites, with SQL
//! as that member, the `runs` row of another account's run that no engine drives —
//! its workflow text, its params, or its starter (made the forger's own). The
//! starter's seal covers each of those fields: every takeover and fork checks it
//! (`Store::check_sealed`) and refuses the run, so nothing more is recorded in it
//! (`a_rewritten_record_is_not_obeyed`) and no fork of it is made. At the end the row
//! is put back, so that the end's checks read the whole store.
use crate::SimError;
use crate::accounts::{Account, Acting};
use crate::rewrites::{PutBack, Rewritten};
use crate::world::World;
use baton_store::starter_seal::{self, AccountKey};
use rand::Rng;

/// A `runs` column a member rewrites, with what the forger writes there.
#[derive(Debug, Clone, Copy)]
enum Field {
    WorkflowText,
    Params,
    Starter,
}

impl Field {
    const ALL: [Field; 3] = [Field::WorkflowText, Field::Params, Field::Starter];

    /// Where it is: `(table, key column, column)`.
    fn place(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Field::WorkflowText => ("run_sources", "run_id", "source_text"),
            Field::Params => ("run_sources", "run_id", "params_json"),
            Field::Starter => ("runs", "id", "operator"),
        }
    }

    /// The forged value: the forger's command planted in the text (a comment stands
    /// for it: any change is one the seal covers), the params' text, or the forger as
    /// starter.
    fn forged(self, old: &str, forger: &str, tag: u32) -> String {
        match self {
            Field::WorkflowText => format!("{old}\n# forged-{tag}: run = \"touch /tmp/owned\"\n"),
            // The workflows take no params: spaces change the text, not what it says.
            Field::Params => format!("{{{}}}", " ".repeat(tag as usize % 7 + 1)),
            Field::Starter => forger.to_string(),
        }
    }
}

impl World {
    /// The account engine `e` is a process of (`--mix accounts`); `None`: this
    /// process's account, as in every other mix.
    pub(crate) fn engine_account(&self, e: usize) -> Option<&Account> {
        self.accounts.get(e)
    }

    /// The name of the account engine `e` runs as.
    pub(crate) fn engine_user(&self, e: usize) -> String {
        self.engine_account(e)
            .map_or_else(|| self.user.clone(), |a| a.name.clone())
    }

    /// The engine of account `name` (`--mix accounts`): the process in which that
    /// account's command or resume takes a run over.
    pub(crate) fn engine_as(&self, name: &str) -> Option<usize> {
        self.accounts
            .iter()
            .position(|a| baton_model::same_actor(&a.name, name))
    }

    /// Whether engine `e` may take `run` over: in a group store only its starter's
    /// account does (`command::take_over`'s `StarterOnly`); any engine elsewhere.
    pub(crate) fn takes_over(&self, e: usize, run: &str) -> Result<bool, SimError> {
        if self.accounts.is_empty() {
            return Ok(true);
        }
        let starter = self.ops.run(run)?.operator;
        Ok(baton_model::same_actor(&starter, &self.engine_user(e)))
    }

    /// Engine `e`'s store (new with each of its processes) given its account's secret
    /// (`--mix accounts`; made on first use in the account's state directory, which is
    /// the scenario's: this process's account's too, never the machine's own).
    pub(crate) fn seat_engine(&mut self, e: usize) -> Result<(), SimError> {
        let Some(a) = self.engine_account(e) else {
            return Ok(());
        };
        seat(&self.engines[e].store, member_key(&self.db, &a.name)?)
    }

    /// The operators' connection given this process's account's secret, from the
    /// scenario's directory (`--mix accounts`).
    pub(crate) fn seat_operators(&mut self) -> Result<(), SimError> {
        if self.accounts.is_empty() {
            return Ok(());
        }
        seat(&self.ops, member_key(&self.db, &self.user)?)
    }

    /// With `--mix accounts`, now and then (4 % of actions): a member rewrites the
    /// `runs` row of another account's run no engine drives.
    pub(crate) fn maybe_rewrite_runs_row(&mut self) -> Result<(), SimError> {
        if self.accounts.is_empty() || self.who.random_range(0..100) >= 4 {
            return Ok(());
        }
        let mut candidates = Vec::new();
        for (run, _) in &self.runs {
            let driven = self.engines.iter().any(|e| e.runs.contains_key(run))
                || self.ops.run_liveness(run)?.driven_by.is_some();
            if !driven && !self.is_rewritten(run) {
                candidates.push(run.clone());
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let run = candidates[self.who.random_range(0..candidates.len())].clone();
        let starter = self.ops.run(&run)?.operator;
        let forgers: Vec<Account> = (self.accounts.iter())
            .filter(|a| !baton_model::same_actor(&a.name, &starter))
            .cloned()
            .collect();
        if forgers.is_empty() {
            return Ok(());
        }
        let forger = forgers[self.who.random_range(0..forgers.len())].clone();
        let field = Field::ALL[self.who.random_range(0..Field::ALL.len())];
        self.tags += 1;
        let (table, key, column) = field.place();
        let old: String = self.raw.query_row(
            &format!("SELECT {column} FROM {table} WHERE {key} = ?1"),
            [&run],
            |r| r.get(0),
        )?;
        let forged = field.forged(&old, &forger.name, self.tags);
        write_as(&forger, &self.db, field.place(), &run, &forged)?;
        let last_seq: i64 = self.raw.query_row(
            "SELECT coalesce(max(seq), 0) FROM events WHERE run_id = ?1",
            [&run],
            |r| r.get(0),
        )?;
        self.steps += 1;
        self.history.push(format!(
            "  {} rewrote {run}'s {column} ({starter}'s run) with SQL",
            forger.name
        ));
        if self.config.bug == Some(crate::Bug::TrustRunsRow) {
            self.reseal_as_read(&run)?;
        }
        self.rewritten.push(Rewritten {
            run,
            put_back: PutBack::RunsRow {
                place: field.place(),
                old,
            },
            last_seq: last_seq as u64,
            forked: None,
        });
        Ok(())
    }

    /// [`crate::Bug::TrustRunsRow`]: the starter's engine seals the row as it reads
    /// (its seal computed afresh over whatever the row says, never checked against the
    /// one it made), with the key of the account the row now names.
    fn reseal_as_read(&mut self, run: &str) -> Result<(), SimError> {
        let r = self.ops.run(run)?;
        let key = match self.engine_as(&r.operator) {
            Some(e) if !baton_model::same_actor(&self.engine_user(e), &self.user) => {
                member_key(&self.db, &self.engine_user(e))?
            }
            _ => member_key(&self.db, &self.user)?,
        };
        let record = starter_seal::Record {
            run_id: run,
            workflow: &r.workflow,
            source_path: &r.source_path,
            source_text: &r.source_text,
            params_json: &r.params_json,
            operator: &r.operator,
        };
        self.raw.execute(
            "UPDATE run_seals SET record = ?2 WHERE run_id = ?1",
            rusqlite::params![run, starter_seal::seal_record(&key, &record)],
        )?;
        self.history
            .push(format!("  (bug) {run}'s record sealed as it reads"));
        Ok(())
    }

    /// After the last action, before the world settles, the forgers put every
    /// rewritten `runs` row back: the runs refused meanwhile are resumed and end.
    pub(crate) fn restore_runs_rows(&mut self) -> Result<(), SimError> {
        let (rows, events): (Vec<Rewritten>, Vec<Rewritten>) = std::mem::take(&mut self.rewritten)
            .into_iter()
            .partition(|w| matches!(w.put_back, PutBack::RunsRow { .. }));
        self.rewritten = events;
        for w in rows {
            if let PutBack::RunsRow { place, old } = &w.put_back {
                self.put_runs_row_back(&w.run, *place, old)?;
                self.history
                    .push(format!("  put {}'s {} back as it was", w.run, place.2));
            }
        }
        Ok(())
    }

    /// The forger puts a rewritten `runs` row back.
    pub(crate) fn put_runs_row_back(
        &self,
        run: &str,
        (table, key, column): (&str, &str, &str),
        old: &str,
    ) -> Result<(), SimError> {
        self.raw.execute(
            &format!("UPDATE {table} SET {column} = ?2 WHERE {key} = ?1"),
            rusqlite::params![run, old],
        )?;
        Ok(())
    }
}

/// A member's secret, made (by this process, 0600) on first use in the member's
/// state directory in the scenario's directory (`db`'s grandparent).
/// `store` given `key`, or an error when it had read or been given one already (it
/// would seal with that one: this process's own, outside the scenario).
fn seat(store: &baton_store::Store, key: AccountKey) -> Result<(), SimError> {
    if store.use_account_key(key) {
        Ok(())
    } else {
        Err(SimError::Accounts(
            "a store read its account's secret before the simulator gave it one".into(),
        ))
    }
}

fn member_key(db: &std::path::Path, name: &str) -> Result<AccountKey, SimError> {
    let base = db.parent().and_then(|p| p.parent()).unwrap_or(db);
    Ok(AccountKey::load_or_create(
        &base.join(format!("state-{name}")),
    )?)
}

/// `UPDATE table SET column = value` of `run`'s row as `who`, on a connection of its
/// own opened with the member's file-system identity (the group store's file is the
/// group's to write).
fn write_as(
    who: &Account,
    db: &std::path::Path,
    (table, key, column): (&str, &str, &str),
    run: &str,
    value: &str,
) -> Result<(), SimError> {
    let _as = Acting::as_account(who);
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute(
        &format!("UPDATE {table} SET {column} = ?2 WHERE {key} = ?1"),
        rusqlite::params![run, value],
    )?;
    Ok(())
}
