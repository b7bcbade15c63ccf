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
use baton_model::schedule::{CatchUp, Fate, decide};
use rand::Rng;
use rand::rngs::SmallRng;
use std::collections::{BTreeMap, BTreeSet};

/// The deploy's schedule (every ten seconds, UTC).
pub(crate) const CRON: &str = "*/10 * * * * *";
/// The time between two of its slots.
const PERIOD_MS: i64 = 10_000;

/// The serves and what the checks know of the schedule.
pub(crate) struct Served {
    /// The serve processes: one, serving from the start (`--mix schedules`), or two
    /// that die, start again and race (`--mix serves`, [`crate::serving`]).
    pub(crate) procs: Vec<crate::serving::ServeProc>,
    /// The pause state of the latest pause or resume the CLI's path accepted: what the
    /// serve must go by (a forged row changes nothing of it).
    pub paused: bool,
    /// Each slot that started a run, and that run.
    pub fired: BTreeMap<i64, String>,
    /// The slots asked for by forged backfill rows (and never by a decision).
    pub forged: BTreeSet<i64>,
    /// Each slot's fate as it was first recorded: a slot is decided once.
    pub decided: BTreeMap<i64, Fate>,
    /// The schedule's `catch_up` and `max_catch_up`, as its file says.
    pub catch_up: (CatchUp, u32),
    /// The ninth stream of the seed: what the serves of `--mix serves` do.
    pub(crate) rng: SmallRng,
}

impl Served {
    /// The serves of a scenario whose deploy has a schedule (`shape.lines`), or none.
    pub(crate) fn open(
        (dir, db): (&std::path::Path, &std::path::Path),
        mix: crate::Mix,
        shape: crate::serving::Shape,
    ) -> Result<Option<Served>, SimError> {
        if shape.lines.is_none() {
            return Ok(None);
        }
        let mut rng = shape.rng;
        Ok(Some(Served {
            procs: crate::serving::procs(mix, dir, db, &mut rng)?,
            paused: false,
            fired: BTreeMap::new(),
            forged: BTreeSet::new(),
            decided: BTreeMap::new(),
            catch_up: shape.catch_up,
            rng,
        }))
    }

    /// How the history names serve `k`: `serve` when it is the only one.
    fn label(&self, k: usize) -> String {
        match self.procs.len() {
            1 => "serve".to_string(),
            _ => format!("serve {k}"),
        }
    }
}

/// The due slots a serve decided, to record.
pub(crate) struct Decided {
    pub(crate) slots: Vec<(Timestamp, Fate)>,
    file: String,
    index: u32,
    /// What the CLI's pauses and resumes left the schedule at when it was decided.
    paused: bool,
    /// When the deciding serve began watching: a slot at or before it was missed.
    awake_since: i64,
}

/// What started a slot's run, for [`a_slot_starts_as_decided`].
#[derive(Clone, Copy)]
pub(crate) enum Origin {
    /// A slot of the cron, decided by a serve awake since `awake_since`, while the
    /// CLI's last pause or resume left the schedule `paused`.
    Cron { paused: bool, awake_since: i64 },
    /// A backfilled slot.
    Backfill,
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
            catch_up: self
                .served
                .as_ref()
                .map_or("none", |s| <&str>::from(s.catch_up.0)),
            overlap: "queue",
        };
        self.ops
            .serve_schedules(&file, &[served], Timestamp(self.now))?;
        if self.config.mix == crate::Mix::Serves
            && let Some(served) = self.served.take()
        {
            let r = self.first_serve_lease(&served);
            self.served = Some(served);
            r?;
        }
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

    /// The serve's look (`--mix schedules`: pauses proved, due slots decided, recorded
    /// and started, then the backfilled slots due), or the serves' ticks (`--mix
    /// serves`).
    fn serve_look(&mut self) -> Result<(), SimError> {
        let Some(mut served) = self.served.take() else {
            return Ok(());
        };
        let r = match self.config.mix {
            crate::Mix::Serves => self.serves_turn(&mut served),
            _ => self.look_whole(&mut served),
        };
        self.served = Some(served);
        r
    }

    fn look_whole(&mut self, served: &mut Served) -> Result<(), SimError> {
        let Some(d) = self.decide_due(served, 0)? else {
            return Ok(());
        };
        let fresh = self.record_decided(served, 0, &d)?;
        self.start_decided(served, 0, &d, &fresh)?;
        self.fire_backfills(served, 0)
    }

    /// Serve `k`'s decision of the schedule's due slots, as the serve decides them
    /// (`session::schedule_facts`) on its proven pauses and its own cursor; `None` when
    /// it decides nothing (its pauses could not be proved, no schedule).
    pub(crate) fn decide_due(
        &mut self,
        served: &mut Served,
        k: usize,
    ) -> Result<Option<Decided>, SimError> {
        let name = |_: &str, i: u32| format!("deploy#{i}");
        let user = self.user.clone();
        let obey_row = self.config.bug == Some(crate::Bug::ObeyPauseRow);
        let p = &mut served.procs[k];
        if !obey_row && !baton_session::prove_pauses(&mut self.ops, &mut p.state, &user, &name) {
            return Ok(None);
        }
        let plan = self.workflows[0].plan.clone();
        let Some(s) = plan.schedules.first() else {
            return Ok(None);
        };
        let file = self.workflows[0].path.to_string_lossy().into_owned();
        let Some(row) = self
            .ops
            .schedules()?
            .into_iter()
            .find(|r| r.file == file && r.index == s.index)
        else {
            return Ok(None);
        };
        let recorded = self.ops.last_slot(&file, s.index)?;
        let own = p.state.cursor(&file, s.index);
        let paused = match obey_row {
            // The bug put back: the row as it reads, whoever wrote it.
            true => row.paused.is_some(),
            false => p.state.paused(&file, s.index),
        };
        let facts = baton_session::schedule_facts(
            s,
            (recorded, own, row.since),
            (p.started, paused),
            Timestamp(self.now),
        );
        Ok(Some(Decided {
            slots: decide(&s.cadence, &facts).slots,
            file,
            index: s.index,
            paused: served.paused,
            // The check's own reading, not the decision's (`facts.awake_since`): this
            // serve has watched since its process started, and the schedule since it
            // was first served.
            awake_since: p.started.0.max(row.since.0),
        }))
    }

    /// The decided slots recorded in one transaction (`Store::record_slots`), serve
    /// `k`'s cursor moved past them: for each, whether it was recorded now.
    pub(crate) fn record_decided(
        &mut self,
        served: &mut Served,
        k: usize,
        d: &Decided,
    ) -> Result<Vec<bool>, SimError> {
        if d.slots.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(&str, u32, Timestamp, &str)> = (d.slots.iter())
            .map(|(slot, fate)| (d.file.as_str(), d.index, *slot, fate.as_str()))
            .collect();
        let fresh = self.ops.record_slots(&rows)?;
        let state = &mut served.procs[k].state;
        for (slot, _) in &d.slots {
            state.advance(&d.file, d.index, *slot);
        }
        state.save()?;
        for ((slot, fate), fresh) in d.slots.iter().zip(&fresh) {
            if *fresh {
                served.decided.entry(slot.0).or_insert(*fate);
            }
        }
        Ok(fresh)
    }

    /// The runs of the slots serve `k` recorded now that start (a slot an earlier or
    /// another serve recorded is left to it).
    pub(crate) fn start_decided(
        &mut self,
        served: &mut Served,
        k: usize,
        d: &Decided,
        fresh: &[bool],
    ) -> Result<(), SimError> {
        let label = served.label(k);
        // The bug put back: every slot decided to start is started, recorded now or not.
        let any = self.config.bug == Some(crate::Bug::StartRecordedSlot);
        for ((slot, fate), fresh) in d.slots.iter().zip(fresh) {
            // With two serves, what a serve left to the other and what it caught up.
            let said = match (served.procs.len() > 1, *fresh) {
                (false, _) => "",
                (true, false) => " (recorded by another serve: left to it)",
                (true, true) if slot.0 <= d.awake_since => " (missed while no serve ran)",
                (true, true) => "",
            };
            self.history.push(format!(
                "  {label}: deploy#1 slot t+{} {}{said}",
                slot.0 - crate::world::T0,
                fate.as_str()
            ));
            if (*fresh || any) && *fate == Fate::Start {
                let origin = Origin::Cron {
                    paused: d.paused,
                    awake_since: d.awake_since,
                };
                self.start_slot(served, k, (&d.file, d.index), *slot, origin)?;
            }
        }
        Ok(())
    }

    /// The backfilled slots due, each proved (`session::backfill_proved`) and started,
    /// or refused on record.
    pub(crate) fn fire_backfills(&mut self, served: &mut Served, k: usize) -> Result<(), SimError> {
        let name = |_: &str, i: u32| format!("deploy#{i}");
        let user = self.user.clone();
        let label = served.label(k);
        for b in self.ops.due_backfills()? {
            let proved =
                baton_session::backfill_proved(&mut self.ops, &b, &name(&b.file, b.index), &user);
            self.history.push(format!(
                "  {label}: deploy#1 backfilled slot t+{} {}",
                b.slot.0 - crate::world::T0,
                if proved { "starts" } else { "refused" }
            ));
            if proved {
                self.start_slot(served, k, (&b.file, b.index), b.slot, Origin::Backfill)?;
            }
        }
        Ok(())
    }

    /// The run of one slot, started as serve `k` starts it (in the deploy's group),
    /// checked first against what the serve must go by: by the serve's own engine
    /// (`--mix serves`), or by an engine the seed draws.
    fn start_slot(
        &mut self,
        served: &mut Served,
        k: usize,
        (file, index): (&str, u32),
        slot: Timestamp,
        origin: Origin,
    ) -> Result<(), SimError> {
        let broke = a_slot_starts_as_decided(served, slot.0, origin);
        let e = match self.config.mix {
            crate::Mix::Serves => crate::world::ENGINES + k,
            _ => self.sched.random_range(0..crate::world::ENGINES),
        };
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

/// concurrency-and-schedules.md and commands.md (`baton schedule`, `baton serve`): "a
/// slot is decided once", a paused schedule's slots are recorded `paused` and start
/// nothing, a slot that ran "is never started again, whoever asks and however often",
/// a slot row written by hand starts nothing, and "after a crash (`kill -9`) and a
/// restart no slot fires twice, and the slots missed meanwhile follow `catch_up`": a
/// slot starts only if it never started; a cron slot only while the last pause or
/// resume the CLI accepted left it running when it was decided (a backfill is a
/// decision of its own and starts while paused too), only if it was first recorded to
/// start, and, missed while no serve ran, only as `catch_up` says (`none`: never;
/// `latest`: the latest missed; `all`: the latest `max_catch_up`); a backfilled slot
/// only if a decision asked for it.
pub(crate) fn a_slot_starts_as_decided(
    served: &Served,
    slot: i64,
    origin: Origin,
) -> Option<String> {
    let at = slot - crate::world::T0;
    if let Some(run) = served.fired.get(&slot) {
        return Some(format!(
            "slot t+{at} of deploy#1 started a second run (its first: {run})"
        ));
    }
    let (paused, awake_since) = match origin {
        Origin::Backfill if served.forged.contains(&slot) => {
            return Some(format!(
                "slot t+{at} of deploy#1 started on a forged backfill row"
            ));
        }
        Origin::Backfill => return None,
        Origin::Cron {
            paused,
            awake_since,
        } => (paused, awake_since),
    };
    if paused {
        return Some(format!(
            "slot t+{at} of deploy#1 started while the schedule is paused"
        ));
    }
    match served.decided.get(&slot) {
        Some(Fate::Start) => {}
        Some(f) => {
            return Some(format!(
                "slot t+{at} of deploy#1 started, first recorded {}",
                f.as_str()
            ));
        }
        None => return Some(format!("slot t+{at} of deploy#1 started, never recorded")),
    }
    if slot > awake_since {
        return None;
    }
    // Missed while no serve ran: how many of the latest missed slots may start.
    let latest = match served.catch_up {
        (CatchUp::None, _) => 0,
        (CatchUp::Latest, _) => 1,
        (CatchUp::All, max) => i64::from(max),
    };
    (slot + latest * PERIOD_MS <= awake_since).then(|| {
        format!(
            "slot t+{at} of deploy#1, missed while no serve ran (a serve watching from t+{}), started against catch_up = \"{}\"",
            awake_since - crate::world::T0,
            <&str>::from(served.catch_up.0)
        )
    })
}
