//! `--mix cli` (issue 61 point 1: "several engines and CLI processes over one store,
//! interleaved at every store call, any of which can die at any point … and their
//! resumes and takeovers"): everything of `--mix interleave`, and the CLI's own
//! processes cut the same way. An operator's `baton <command> RUN` looks at the run
//! (one store call) and hands its command in later (a row for the live engine, or a
//! takeover); a takeover (`baton resume`, or a command on an undriven run) takes the
//! run's lease (marked as a takeover's), rebuilds and settles it at a later call, and
//! commits its events later (a commit that may die
//! inside its transaction or before its witness), then acts on them one store call at
//! a time as a wake-up does; a `baton run` makes its run, then hands in the cancels
//! of the runs it replaced one store call at a time. Between any two of those calls
//! the engines, the serve and the other CLI processes act, and the process may die
//! (a takeover's or a `baton run`'s process is the engine it drives with: its death is
//! that engine's crash). A submitter that lives withdraws its row once its deadline
//! passed (`command::await_taken`); one that died leaves it. What it draws comes from a
//! twelfth stream of the seed, so the other mixes draw what they drew.
use crate::SimError;
use crate::world::World;
use baton_model::{Command, Refusal, Timestamp};
use baton_session::{Ready, SessionError};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;

/// In a hundred, the chance a CLI process dies before its next store call.
const DIES: u32 = 4;
/// In a hundred, the chance a waiting submitter dies in an action.
const SUBMITTER_DIES: u32 = 2;

/// The CLI processes in progress, and the stream they draw from.
pub(crate) struct Clis {
    rng: SmallRng,
    procs: Vec<Cli>,
    /// Each action made whole (the mixes but `cli`, and settling).
    whole: bool,
}

impl Clis {
    pub(crate) fn new(mix: crate::Mix, seed: u64) -> Clis {
        Clis {
            rng: SmallRng::seed_from_u64(seed ^ 0xc11c_a11e_0000_0000),
            procs: Vec::new(),
            whole: mix != crate::Mix::Cli,
        }
    }
}

/// One CLI process between two of its store calls.
struct Cli {
    /// The engine whose process it is (and that engine's incarnation when it began:
    /// a crash of that process ends it), when it drives a run.
    engine: Option<(usize, u32)>,
    next: Next,
}

/// Its next store call.
enum Next {
    /// `baton <command> RUN` looked: the run was driven by a live engine, or not. It
    /// hands the command in next (a row, or a takeover).
    Hand {
        run: String,
        command: Command,
        driven: bool,
    },
    /// A takeover took the run's lease (marked as a takeover's): it rebuilds the run
    /// and settles next (`take_over`'s group held again, its mark cleared).
    Settle {
        run: String,
        command: Option<Command>,
    },
    /// A takeover took the lease and rebuilt the run: its events are committed next.
    Commit(Box<Ready>),
    /// A `baton run` made its run: the cancels of the runs it replaced go next, one
    /// store call each.
    Cancels(VecDeque<(String, Command)>),
}

impl Next {
    fn said(&self) -> String {
        match self {
            Next::Hand { run, driven, .. } => format!(
                "before handing its command on {run} in ({})",
                match driven {
                    true => "a row for its engine",
                    false => "a takeover",
                }
            ),
            Next::Settle { run, .. } => format!("after taking {run}'s lease, before its settle"),
            Next::Commit(ready) => format!("after taking {} over, before its commit", ready.run_id),
            Next::Cancels(c) => format!("before the cancels of {} replaced run(s)", c.len()),
        }
    }
}

impl World {
    /// Whether CLI actions are cut into their store calls now.
    pub(crate) fn cli_cut(&self) -> bool {
        !self.clis.whole
    }

    /// Every CLI process in progress may make its next store call, or die before it;
    /// the submitters waiting for a verdict withdraw their rows past the deadline, or
    /// die. Nothing with the mixes but `cli`.
    pub(crate) fn cli_turn(&mut self) -> Result<(), SimError> {
        if self.clis.whole {
            return Ok(());
        }
        self.waiting_submitters()?;
        for cli in std::mem::take(&mut self.clis.procs) {
            if !self.alive(&cli) {
                continue;
            }
            match self.clis.rng.random_range(0..100) {
                r if r < DIES => self.cli_dies(cli)?,
                r if r < 55 => self.cli_call(cli)?,
                _ => self.clis.procs.push(cli),
            }
        }
        Ok(())
    }

    /// Every CLI process in progress to its end, none dying (settling).
    pub(crate) fn finish_clis(&mut self) -> Result<(), SimError> {
        self.clis.whole = true;
        while let Some(cli) = self.clis.procs.pop() {
            if self.alive(&cli) {
                self.cli_call(cli)?;
            }
        }
        Ok(())
    }

    /// Whether its engine's process is still the one it began in.
    fn alive(&self, cli: &Cli) -> bool {
        cli.engine
            .is_none_or(|(e, inc)| self.engines[e].incarnation == inc)
    }

    fn cli_dies(&mut self, cli: Cli) -> Result<(), SimError> {
        let when = format!("as a CLI process, {}", cli.next.said());
        match cli.engine {
            Some((e, _)) => {
                // Its lease left marked, under its dead process's name: the checks
                // read the run interrupted, and resumable once the lease lapsed.
                if let Next::Settle { run, .. } = &cli.next {
                    let holder = self.engines[e].holder();
                    self.dead_takers.insert(run.clone(), (holder, self.now));
                }
                self.crash(e, &when)
            }
            None => {
                self.steps += 1;
                self.history.push(format!("  a CLI process died {when}"));
                Ok(())
            }
        }
    }

    /// Its next store call; it goes on, or ends.
    fn cli_call(&mut self, cli: Cli) -> Result<(), SimError> {
        self.steps += 1;
        match cli.next {
            Next::Hand {
                run,
                command,
                driven,
            } => self.hand(&run, command, driven),
            Next::Settle { run, command } => {
                let Some((e, _)) = cli.engine else {
                    return Ok(());
                };
                self.cli_settle(e, &run, command)
            }
            Next::Commit(ready) => {
                let Some((e, _)) = cli.engine else {
                    return Ok(());
                };
                self.commit_takeover(e, *ready)
            }
            Next::Cancels(mut cancels) => {
                if let (Some((e, _)), Some((old, cancel))) = (cli.engine, cancels.pop_front()) {
                    self.hand_in_ask(e, &old, &cancel)?;
                }
                if !cancels.is_empty() {
                    self.clis.procs.push(Cli {
                        engine: cli.engine,
                        next: Next::Cancels(cancels),
                    });
                }
                Ok(())
            }
        }
    }

    /// `baton <command> RUN`, its look made (one store call): it hands the command in
    /// later.
    pub(crate) fn cli_submit(&mut self, run: &str, command: Command) -> Result<(), SimError> {
        self.steps += 1;
        let driven = self.ops.run_liveness(run)?.driven_by.is_some();
        self.clis.procs.push(Cli {
            engine: None,
            next: Next::Hand {
                run: run.to_string(),
                command,
                driven,
            },
        });
        Ok(())
    }

    /// The command handed in as the look found the run: a row for its engine (which
    /// may have died since), or a takeover (which another may have made since).
    fn hand(&mut self, run: &str, command: Command, driven: bool) -> Result<(), SimError> {
        if driven {
            let deadline = Timestamp(self.now + crate::operator::DEADLINE_MS);
            let name = crate::operator::command_name(&command);
            let id = self.ops.submit_command(run, &command, Some(deadline))?;
            self.pending.push((id, format!("{name} on {run}")));
            self.history
                .push(format!("  {name} on {run}: row #{id} for its engine"));
            return Ok(());
        }
        let e = self.rng.random_range(0..crate::world::ENGINES);
        let Some(e) = self.awake(e) else {
            return Ok(());
        };
        self.cli_take(e, run, Some(command))
    }

    /// A takeover by engine `e`'s process (`baton resume`, or a command on an
    /// undriven run), its first write made now: the run's lease, marked as a
    /// takeover's (the session's `take_lease`, its `take_over`'s first write), under
    /// the process's name; the run is rebuilt and settled at a later call
    /// ([`World::cli_settle`]). Made whole (settling, the other mixes), all at once.
    pub(crate) fn cli_take(
        &mut self,
        e: usize,
        run: &str,
        command: Option<Command>,
    ) -> Result<(), SimError> {
        if self.clis.whole {
            return self.take_and_rebuild(e, run, command);
        }
        let what = command
            .as_ref()
            .map_or("resume", crate::operator::command_name);
        // One takeover of a run at a time in an engine's process: its lease is its own.
        let busy = |c: &Cli| match &c.next {
            Next::Settle { run: r, .. } => r == run,
            Next::Commit(ready) => ready.run_id == run,
            _ => false,
        };
        if self.clis.procs.iter().any(busy) || self.engines[e].runs.contains_key(run) {
            return Ok(());
        }
        let engine = &mut self.engines[e];
        let holder = engine.holder();
        let taken = match self.config.bug {
            // The bug put back: the lease taken as an engine's, not marked.
            Some(crate::Bug::UnmarkedTakeover) => {
                let now = Timestamp(self.now);
                match (engine.store).acquire_lease(run, &holder, now, baton_model::LEASE_STALE)? {
                    baton_store::LeaseOutcome::HeldBy { holder, .. } => Err(holder),
                    baton_store::LeaseOutcome::Acquired => Ok(()),
                }
            }
            // The session's own (`take_lease`), on the simulated clock.
            _ => match baton_session::take_lease(&mut engine.store, run, &holder) {
                Ok(()) => Ok(()),
                Err(SessionError::Driven { holder, .. }) => Err(holder),
                Err(err) => return Err(err.into()),
            },
        };
        if let Err(holder) = taken {
            self.history
                .push(format!("  engine {e} {what} {run}: driven by {holder}"));
            return Ok(());
        }
        self.history.push(format!(
            "  engine {e} takes {run}'s lease ({what}), its settle to come"
        ));
        let incarnation = self.engines[e].incarnation;
        self.clis.procs.push(Cli {
            engine: Some((e, incarnation)),
            next: Next::Settle {
                run: run.to_string(),
                command,
            },
        });
        Ok(())
    }

    /// The takeover's next calls: the run rebuilt, its group held again and its
    /// lease's mark cleared (the session's `take_over`, under the engine's holder as
    /// it took the lease), then its events committed at a later call. A lease that
    /// lapsed meanwhile and went to another ends it.
    fn cli_settle(
        &mut self,
        e: usize,
        run: &str,
        command: Option<Command>,
    ) -> Result<(), SimError> {
        let engine = &self.engines[e];
        let holder = engine.holder();
        if engine.store.lease(run)?.is_none_or(|l| l.holder != holder) {
            self.history
                .push(format!("  engine {e} lost {run}'s lease before its settle"));
            return Ok(());
        }
        // The lease is this takeover's already: the rest of the session's `take_over`.
        self.leased = true;
        self.take_and_rebuild(e, run, command)
    }

    /// The session's `take_over` by engine `e`'s process, under its holder; its
    /// events committed later.
    fn take_and_rebuild(
        &mut self,
        e: usize,
        run: &str,
        command: Option<Command>,
    ) -> Result<(), SimError> {
        let what = command
            .as_ref()
            .map_or("resume", crate::operator::command_name);
        let ready = match self.take_over((Some(e), e), run, command) {
            Ok((ready, _)) => ready,
            Err(err) => {
                self.history.push(format!(
                    "  engine {e} {what} {run}: {}",
                    crate::operator::session_refusal(&err)
                ));
                return match err {
                    SessionError::Refused { .. }
                    | SessionError::Driven { .. }
                    | SessionError::Unanswered { .. } => Ok(()),
                    e if crate::rewrites::tampered(&e) => Ok(()),
                    other => Err(other.into()),
                };
            }
        };
        self.executors.clear_leftovers(&ready);
        let engine = &mut self.engines[e];
        engine.drives(run, ready.core.plan(), self.config.bug);
        // Queued again by the resume from the lease on (the documented exception).
        if ready.core.waits_for_group() {
            self.requeued.insert(run.to_string());
        }
        self.history.push(format!(
            "  engine {e} takes {run} over ({what}), its commit to come"
        ));
        let incarnation = engine.incarnation;
        self.clis.procs.push(Cli {
            engine: Some((e, incarnation)),
            next: Next::Commit(Box::new(ready)),
        });
        Ok(())
    }

    /// A takeover's start (`wake::start`, the driver's: its events committed, where
    /// it may die inside the commit, then acted on and the commands waiting claimed).
    fn commit_takeover(&mut self, e: usize, mut ready: Ready) -> Result<(), SimError> {
        let run = ready.run_id.clone();
        let initial = std::mem::take(&mut ready.initial);
        let driven = crate::world::processes::Driven::new(ready.core, self.now);
        self.engines[e].runs.insert(run.clone(), driven);
        let cut = match self.clis.whole {
            true => None,
            false => match self.clis.rng.random_range(0..100) {
                0..3 => Some(baton_store::CommitCut::InTransaction),
                3..5 => Some(baton_store::CommitCut::BeforeWitness),
                _ => None,
            },
        };
        let said = format!("takeover's commit of {run}");
        if self.start_driving(e, &run, initial, (cut, &said))? {
            self.history.push(format!("  {run}: driven by engine {e}"));
        }
        Ok(())
    }

    /// A `baton run` by engine `e` made a run whose admission replaced `cancels`' runs:
    /// their cancels are handed in one store call each.
    pub(crate) fn cli_cancels(&mut self, e: usize, cancels: Vec<(String, Command)>) {
        if !cancels.is_empty() {
            let incarnation = self.engines[e].incarnation;
            self.clis.procs.push(Cli {
                engine: Some((e, incarnation)),
                next: Next::Cancels(cancels.into()),
            });
        }
    }

    /// The submitters waiting for their verdicts (`command::await_taken`): one past its
    /// deadline withdraws its row (refused, not taken) unless an engine claimed it;
    /// one may die, leaving its row as it is.
    fn waiting_submitters(&mut self) -> Result<(), SimError> {
        let mut still = Vec::new();
        for (id, what) in std::mem::take(&mut self.pending) {
            if self.clis.rng.random_range(0..100) < SUBMITTER_DIES {
                self.history
                    .push(format!("  the submitter of #{id} ({what}) died waiting"));
                continue;
            }
            let deadline: Option<i64> =
                self.raw
                    .query_row("SELECT deadline FROM commands WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })?;
            if deadline.is_none_or(|d| d > self.now) {
                still.push((id, what));
                continue;
            }
            let holder =
                (self.ops.run_liveness(&run_of(&what))?.driven_by).unwrap_or_else(|| "none".into());
            let refusal = Refusal::NotTaken {
                holder,
                wait: "10s".into(),
            };
            if self.ops.withdraw_command(id, &refusal)? {
                self.history
                    .push(format!("  #{id} {what}: withdrawn, not taken in time"));
            } else {
                // Claimed: its verdict comes (collected), or the submitter gives up.
                still.push((id, what));
            }
        }
        self.pending = still;
        Ok(())
    }
}

/// The run a pending row's description names (`"{command} on {run}"`).
fn run_of(what: &str) -> String {
    what.rsplit(' ').next().unwrap_or_default().to_string()
}
