//! `--mix schedules` (issue 61 point 1: "schedule pause/resume/trigger/backfill […],
//! schedules firing"): the deploy has a schedule (`*/10 * * * * *`, a slot every ten
//! simulated seconds), served from the start. After every action the serve looks, as
//! `baton serve` does each second: the pauses it finds proved (`session::prove_pauses`,
//! the serve's own check), the schedule's due slots decided on its cursor and its
//! proven pause (`model::schedule::decide` on `session::schedule_facts`, as the serve
//! decides them), recorded (`Store::record_slots`) and started, then the backfilled slots due,
//! each proved (`session::backfill_proved`) or refused on record. Operators pause,
//! resume and backfill through the session's own paths (`schedules::pause`,
//! `schedules::backfill`); some write the rows with SQL instead, without a decision on
//! the audit chain or a proof. What it draws comes from an eighth stream of the seed.
use crate::SimError;
use crate::world::World;
use baton_model::Timestamp;
use baton_model::schedule::{Fate, decide};
use baton_store::schedules::ServeState;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The deploy's schedule (every ten seconds, UTC).
pub(crate) const CRON: &str = "*/10 * * * * *";

/// The serve and what the checks know of the schedule.
pub(crate) struct Served {
    state: ServeState,
    /// When the serve began watching (its `awake_since`).
    started: Timestamp,
    /// The pause state of the latest pause or resume the CLI's path accepted: what the
    /// serve must go by (a forged row changes nothing of it).
    pub paused: bool,
    /// Each slot that started a run, and that run.
    pub fired: BTreeMap<i64, String>,
    /// The slots asked for by forged backfill rows (and never by a decision).
    pub forged: BTreeSet<i64>,
}

impl Served {
    pub(crate) fn open(dir: &std::path::Path, db: &std::path::Path) -> Result<Served, SimError> {
        Ok(Served {
            state: ServeState::open(&dir.join("serve-state"), db)?,
            started: Timestamp(crate::world::T0),
            paused: false,
            fired: BTreeMap::new(),
            forged: BTreeSet::new(),
        })
    }
}

impl World {
    /// The deploy's schedule as the serve records it when it loads the file.
    pub(crate) fn serve_schedule(&mut self) -> Result<(), SimError> {
        let file = self.workflows[0].path.to_string_lossy().into_owned();
        let served = baton_store::schedules::Served {
            file: &file,
            index: 1,
            workflow: "deploy",
            cron: CRON,
            timezone: "UTC",
            catch_up: "none",
            overlap: "queue",
        };
        self.ops
            .serve_schedules(&file, &[served], Timestamp(self.now))?;
        Ok(())
    }

    /// After an action (`--mix schedules`): now and then an operator's pause, resume or
    /// backfill, some forged; then the serve's look.
    pub(crate) fn schedules_turn(&mut self) -> Result<(), SimError> {
        if self.served.is_none() {
            return Ok(());
        }
        match self.sched.random_range(0..100) {
            0..4 => self.pause_or_resume()?,
            4..6 => self.backfill()?,
            _ => {}
        }
        self.serve_look()
    }

    /// `baton schedule pause|resume deploy#1` by an operator, or (one in four) the
    /// schedule's row set with SQL.
    fn pause_or_resume(&mut self) -> Result<(), SimError> {
        self.steps += 1;
        self.tags += 1;
        let paused = self.sched.random_bool(0.5);
        let verb = if paused { "pause" } else { "resume" };
        if self.sched.random_range(0..4) == 0 {
            self.raw.execute(
                "UPDATE schedules SET paused = ?1, paused_by = ?2, paused_reason = ?3, paused_at = ?4",
                rusqlite::params![paused, self.user, format!("forged-{}", self.tags), self.now],
            )?;
            self.history
                .push(format!("  forged {verb} row of deploy#1"));
            return Ok(());
        }
        let reason = format!("op-{}", self.tags);
        self.made_by.insert(reason.clone(), self.user.clone());
        let user = self.user.clone();
        baton_session::schedules::pause(&mut self.ops, "deploy#1", paused, &user, &reason)?;
        if let Some(s) = self.served.as_mut() {
            s.paused = paused;
        }
        self.history.push(format!("  {verb} of deploy#1"));
        Ok(())
    }

    /// `baton schedule backfill deploy#1 --from … --to …` of a past minute, or (one in
    /// three) a slot asked for with SQL.
    fn backfill(&mut self) -> Result<(), SimError> {
        self.steps += 1;
        self.tags += 1;
        let to = self.now - self.sched.random_range(0..60_000);
        let from = to - 30_000;
        if from < crate::world::T0 {
            return Ok(());
        }
        let file = self.workflows[0].path.to_string_lossy().into_owned();
        if self.sched.random_range(0..3) == 0 {
            let slot = to - to.rem_euclid(10_000);
            let n = self.raw.execute(
                "INSERT INTO schedule_slots (file, idx, slot_at, fate, requested_by, recorded_at)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                rusqlite::params![
                    file,
                    slot,
                    baton_store::schedules::REQUESTED,
                    self.user,
                    self.now
                ],
            )?;
            if n > 0
                && let Some(s) = self.served.as_mut()
            {
                s.forged.insert(slot);
            }
            self.history.push(format!(
                "  forged backfill row of deploy#1 slot t+{}",
                slot - crate::world::T0
            ));
            return Ok(());
        }
        let reason = format!("op-{}", self.tags);
        self.made_by.insert(reason.clone(), self.user.clone());
        let (from, to) = (Timestamp(from).to_rfc3339(), Timestamp(to).to_rfc3339());
        let user = self.user.clone();
        let lines = baton_session::schedules::backfill(
            &mut self.ops,
            "deploy#1",
            (&from, &to),
            false,
            &user,
            &reason,
        )?;
        let asked: Vec<i64> = (lines.iter())
            .filter(|l| l.fate == baton_store::schedules::Backfilled::Requested)
            .map(|l| l.slot.0)
            .collect();
        // A slot a decision asked for is no longer the forger's alone.
        if let Some(s) = self.served.as_mut() {
            for slot in &asked {
                s.forged.remove(slot);
            }
        }
        let asked = asked.len();
        self.history.push(format!(
            "  backfill of deploy#1: {} slot(s), {asked} asked for",
            lines.len()
        ));
        Ok(())
    }

    /// The serve's look: pauses proved, due slots decided, recorded and started, then
    /// the backfilled slots due.
    fn serve_look(&mut self) -> Result<(), SimError> {
        let Some(mut served) = self.served.take() else {
            return Ok(());
        };
        let r = self.fire_due(&mut served);
        self.served = Some(served);
        r
    }

    fn fire_due(&mut self, served: &mut Served) -> Result<(), SimError> {
        let name = |_: &str, i: u32| format!("deploy#{i}");
        let user = self.user.clone();
        let obey_row = self.config.bug == Some(crate::Bug::ObeyPauseRow);
        if !obey_row && !baton_session::prove_pauses(&mut self.ops, &mut served.state, &user, &name)
        {
            return Ok(());
        }
        let plan = self.workflows[0].plan.clone();
        let Some(s) = plan.schedules.first() else {
            return Ok(());
        };
        let file = self.workflows[0].path.to_string_lossy().into_owned();
        let Some(row) = self
            .ops
            .schedules()?
            .into_iter()
            .find(|r| r.file == file && r.index == s.index)
        else {
            return Ok(());
        };
        // As the serve decides them (`session::schedule_facts`).
        let recorded = self.ops.last_slot(&file, s.index)?;
        let own = served.state.cursor(&file, s.index);
        let paused = match obey_row {
            // The bug put back: the row as it reads, whoever wrote it.
            true => row.paused.is_some(),
            false => served.state.paused(&file, s.index),
        };
        let facts = baton_session::schedule_facts(
            s,
            (recorded, own, row.since),
            (served.started, paused),
            Timestamp(self.now),
        );
        let d = decide(&s.cadence, &facts);
        if !d.slots.is_empty() {
            let rows: Vec<(&str, u32, Timestamp, &str)> = (d.slots.iter())
                .map(|(slot, fate)| (file.as_str(), s.index, *slot, fate.as_str()))
                .collect();
            let fresh = self.ops.record_slots(&rows)?;
            for (slot, _) in &d.slots {
                served.state.advance(&file, s.index, *slot);
            }
            served.state.save()?;
            for ((slot, fate), fresh) in d.slots.iter().zip(fresh) {
                self.history.push(format!(
                    "  serve: deploy#1 slot t+{} {}",
                    slot.0 - crate::world::T0,
                    fate.as_str()
                ));
                if fresh && *fate == Fate::Start {
                    self.start_slot(served, (&file, s.index), *slot, false)?;
                }
            }
        }
        for b in self.ops.due_backfills()? {
            let proved =
                baton_session::backfill_proved(&mut self.ops, &b, &name(&b.file, b.index), &user);
            self.history.push(format!(
                "  serve: deploy#1 backfilled slot t+{} {}",
                b.slot.0 - crate::world::T0,
                if proved { "starts" } else { "refused" }
            ));
            if proved {
                self.start_slot(served, (&b.file, b.index), b.slot, true)?;
            }
        }
        Ok(())
    }

    /// The run of one slot, started as the serve starts it (in the deploy's group),
    /// checked first against what the serve must go by.
    fn start_slot(
        &mut self,
        served: &mut Served,
        (file, index): (&str, u32),
        slot: Timestamp,
        backfilled: bool,
    ) -> Result<(), SimError> {
        let broke = a_slot_starts_as_decided(served, slot.0, backfilled);
        let e = self.sched.random_range(0..self.engines.len());
        self.start_run(e, 0, None, None)?;
        let run = self.runs.last().map(|(r, _)| r.clone()).unwrap_or_default();
        self.ops
            .slots_started(&[(file, index, slot, "started", Some(&run))])?;
        served.fired.insert(slot.0, run);
        if broke.is_some() {
            self.schedule_broke = broke;
        }
        Ok(())
    }
}

/// concurrency-and-schedules.md and commands.md (`baton schedule`): "a slot is decided
/// once", a paused schedule's slots are recorded `paused` and start nothing, a slot
/// that ran "is never started again, whoever asks and however often", and a slot row
/// written by hand starts nothing: a slot starts only if it never started, a cron
/// slot only while the last pause or resume the CLI accepted left it running (a
/// backfill is a decision of its own and starts while paused too), and a backfilled
/// slot only if a decision asked for it.
pub(crate) fn a_slot_starts_as_decided(
    served: &Served,
    slot: i64,
    backfilled: bool,
) -> Option<String> {
    let at = slot - crate::world::T0;
    if let Some(run) = served.fired.get(&slot) {
        return Some(format!(
            "slot t+{at} of deploy#1 started a second run (its first: {run})"
        ));
    }
    if !backfilled && served.paused {
        return Some(format!(
            "slot t+{at} of deploy#1 started while the schedule is paused"
        ));
    }
    if backfilled && served.forged.contains(&slot) {
        return Some(format!(
            "slot t+{at} of deploy#1 started on a forged backfill row"
        ));
    }
    None
}
