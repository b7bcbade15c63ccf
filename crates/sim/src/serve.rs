//! Schedules: operators' `baton schedule trigger` (through `session::schedules::trigger`,
//! the CLI's own path: a decision on the audit chain with its account's proof), forged
//! trigger rows (a `requested` slot written into `schedule_slots` with SQL, in the
//! operator's name, without a decision or proof), and the serve's look at the
//! requested triggers as `baton serve` makes it (`Store::requested_triggers`, each
//! proved by `Store::prove_trigger`, refused on record by `Store::refuse_trigger`, or
//! started as a run, its slot recorded by `Store::slots_started`).
use crate::world::World;
use crate::{Bug, SimError};
use baton_model::Timestamp;
use baton_store::schedules::{REQUESTED, TRIGGER_INDEX};
use rand::Rng;

impl World {
    /// Both workflows are served (what a serve records of the files it loaded), so an
    /// operator can trigger them.
    pub(crate) fn serve_workflows(&mut self) -> Result<(), SimError> {
        let now = Timestamp(self.now);
        for w in &self.workflows {
            let file = w.path.to_string_lossy();
            self.ops.record_load(&file, Some(&w.name), None, now)?;
        }
        Ok(())
    }

    /// `baton schedule trigger WORKFLOW` by the operator, or a forged trigger row.
    pub(crate) fn trigger(&mut self) -> Result<(), SimError> {
        self.steps += 1;
        let w = self.extra.random_range(0..self.workflows.len());
        let name = self.workflows[w].name.clone();
        self.tags += 1;
        if self.extra.random_range(0..100) < 30 {
            return self.forge_trigger(w);
        }
        let who = self.draw_operator();
        let user = who
            .as_ref()
            .map_or_else(|| self.user.clone(), |a| a.name.clone());
        let reason = format!("op-{}", self.tags);
        self.made_by.insert(reason.clone(), user.clone());
        let said = self.acting(who.as_ref(), |w| {
            Ok(baton_session::schedules::trigger(
                &mut w.ops,
                &name,
                &[],
                &user,
                &reason,
            )?)
        })?;
        self.history.push(format!(
            "  trigger of {name}: {}",
            said.split(':').next().unwrap_or_default()
        ));
        Ok(())
    }

    /// A trigger row written with SQL, as anyone who can write the database could: in
    /// the operator's name, with no decision on the audit chain and no proof.
    fn forge_trigger(&mut self, w: usize) -> Result<(), SimError> {
        let file = self.workflows[w].path.to_string_lossy().into_owned();
        let mut at = self.now;
        while self.raw.execute(
            "INSERT INTO schedule_slots (file, idx, slot_at, fate, params, requested_by, recorded_at)
             VALUES (?1, ?2, ?3, ?4, '[]', ?5, ?3) ON CONFLICT DO NOTHING",
            rusqlite::params![file, TRIGGER_INDEX, at, REQUESTED, self.user],
        )? == 0
        {
            at += 1;
        }
        self.forged_slots.insert(at);
        self.history.push(format!(
            "  forged trigger row of {} at t+{}",
            self.workflows[w].name,
            at - crate::world::T0
        ));
        Ok(())
    }

    /// The serve's look at the requested triggers, as `baton serve` makes it each
    /// second: a trigger proved starts a run of its workflow (made by an engine chosen
    /// by the seed, in its concurrency group if it has one); any other is refused on
    /// record.
    pub(crate) fn serve_triggers(&mut self) -> Result<(), SimError> {
        let requested = self.ops.requested_triggers()?;
        if requested.is_empty() {
            return Ok(());
        }
        self.steps += 1;
        for t in requested {
            let Some(w) = self
                .workflows
                .iter()
                .position(|w| w.path.to_string_lossy() == t.file)
            else {
                continue;
            };
            let name = self.workflows[w].name.clone();
            let at = t.at.0 - crate::world::T0;
            let proved = match self.config.bug {
                Some(Bug::ObeyForgedTrigger) => Ok(()),
                _ => self.ops.prove_trigger(&t)?,
            };
            if let Err(why) = proved {
                let user = self.user.clone();
                self.ops
                    .refuse_trigger(&t, &name, &user, &why.to_string())?;
                self.history.push(format!(
                    "  serve refused the trigger of {name} at t+{at}: {why}"
                ));
                continue;
            }
            let e = self.extra.random_range(0..crate::world::ENGINES);
            self.start_run(e, w, None, None)?;
            let run = self.runs.last().map(|(r, _)| r.clone()).unwrap_or_default();
            self.ops
                .slots_started(&[(&t.file, TRIGGER_INDEX, t.at, "started", Some(&run))])?;
            self.history.push(format!(
                "  serve started {run} for the trigger of {name} at t+{at}"
            ));
        }
        Ok(())
    }
}
