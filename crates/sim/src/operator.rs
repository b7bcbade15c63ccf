//! Operators: the commands the CLI has, through the functions the CLI's own path calls
//! synchronously. A run a live engine drives gets the command as a row of the
//! `commands` table with its proof, handed in as every delivery hands it in
//! (`session::command::hand_in_live`; the verdict is read later, not waited for); an
//! undriven run is taken over (`session::command::take_over`) and handed to an engine.
//! Some commands are forged: a row written into the `commands` table with SQL, with no
//! proof, naming the run's starter.
use crate::SimError;
use crate::world::World;
use baton_model::{Command, CommandOutcome, StepState, Timestamp};
use baton_session::SessionError;
use rand::Rng;

/// How long a submitter would wait for a live engine's verdict (`command::WAIT`).
pub(crate) const DEADLINE_MS: i64 = 10_000;

impl World {
    /// One operator's command on a run chosen by the seed; some forged.
    pub(crate) fn operate(&mut self) -> Result<(), SimError> {
        if self.runs.is_empty() {
            return Ok(());
        }
        self.steps += 1;
        let (run, w) = self.runs[self.rng.random_range(0..self.runs.len())].clone();
        let plan = self.workflows[w].plan.clone();
        let steps: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
        let gate = plan
            .steps
            .iter()
            .find(|s| s.gate.is_some())
            .map_or("", |s| s.id.as_str())
            .to_string();
        let any = steps[self.rng.random_range(0..steps.len())].to_string();
        let forged = self.rng.random_range(0..100) < 15;
        self.tags += 1;
        let tag = match forged {
            true => format!("forged-{}", self.tags),
            false => format!("op-{}", self.tags),
        };
        // Who makes it (`--mix accounts`: a member or this process's account).
        let who = self.draw_operator();
        let operator = who
            .as_ref()
            .map_or_else(|| self.user.clone(), |a| a.name.clone());
        let gated = gate.clone();
        let command = match self.rng.random_range(0..9) {
            0..=2 => Command::Approve {
                step: gate,
                operator: operator.clone(),
                reason: Some(tag),
                signature: None,
                inputs: Default::default(),
            },
            3 => Command::Reject {
                step: gate,
                operator: operator.clone(),
                reason: tag,
                signature: None,
            },
            4 => Command::Hold {
                steps: vec![any],
                operator: operator.clone(),
                reason: tag,
                until: None,
                freeze: self.rng.random_bool(0.5),
            },
            5 => Command::Release {
                steps: Vec::new(),
                operator: operator.clone(),
                reason: tag,
            },
            6 => Command::Retry {
                step: any,
                operator: operator.clone(),
            },
            7 => Command::Cancel {
                operator: operator.clone(),
                reason: Some(tag),
            },
            _ => Command::Mark {
                step: any,
                state: match self.rng.random_bool(0.5) {
                    true => StepState::Succeeded,
                    false => StepState::Failed,
                },
                operator: operator.clone(),
                reason: tag,
                outputs: Default::default(),
                artifacts: Vec::new(),
            },
        };
        let Some((run, command)) = self.more_command((run, gated), command, &operator)? else {
            return self.fork();
        };
        match forged {
            true => match self.member_forger(&operator) {
                Some(forger) => self.acting(Some(&forger), |w| w.forge_as_member(&run, command)),
                None => self.forge(&run, &command),
            },
            false => {
                self.made_by.insert(tag_of(&command), operator);
                let (run, command) = self.sign(run, command)?;
                self.acting(who.as_ref(), |w| w.submit(&run, command))?;
                self.take_signed()
            }
        }
    }

    /// The commands added since the regression seeds were kept, from a stream of their
    /// own, so that what the main stream drew is drawn all the same: three in ten
    /// drawn commands become a push-back (of a run whose gate waits, when one does),
    /// a `retry --failed`, or a fork (`None`). `drawn`: the run and its gate.
    fn more_command(
        &mut self,
        drawn: (String, String),
        command: Command,
        operator: &str,
    ) -> Result<Option<(String, Command)>, SimError> {
        if self.config.mix == crate::Mix::RunsOnly {
            return Ok(Some((drawn.0, command)));
        }
        let operator = operator.to_string();
        Ok(Some(match self.more.random_range(0..100) {
            0..12 => {
                let (run, step) = self.waiting_gate()?.unwrap_or(drawn);
                let reason = reason_of(&command);
                let push = Command::PushBack {
                    step,
                    operator,
                    reason,
                    signature: None,
                };
                (run, push)
            }
            12..18 => (drawn.0, Command::RetryFailed { operator }),
            18..30 => return Ok(None),
            30..36 => {
                let reason = reason_of(&command);
                let raise = Command::RaiseBudget {
                    operator,
                    reason,
                    cost: None,
                    calls: None,
                    tokens: Some(crate::workflows::TOKEN_CEILING),
                };
                (drawn.0, raise)
            }
            36..38 => {
                let reason = reason_of(&command);
                (drawn.0, Command::RejectBudget { operator, reason })
            }
            _ => (drawn.0, command),
        }))
    }

    /// A run waiting on its gate, and that gate, from the fourth stream.
    fn waiting_gate(&mut self) -> Result<Option<(String, String)>, SimError> {
        let mut waiting = Vec::new();
        for (run, w) in &self.runs {
            if self.ops.run_liveness(run)?.state == baton_model::RunState::Waiting {
                let gate = self.workflows[*w]
                    .plan
                    .steps
                    .iter()
                    .find(|s| s.gate.is_some());
                if let Some(g) = gate {
                    waiting.push((run.clone(), g.id.clone()));
                }
            }
        }
        Ok(match waiting.is_empty() {
            true => None,
            false => Some(waiting.swap_remove(self.more.random_range(0..waiting.len()))),
        })
    }

    /// A command row written with SQL, as anyone who can write the database could:
    /// no proof. The engine must refuse it on record.
    fn forge(&mut self, run: &str, command: &Command) -> Result<(), SimError> {
        let json = serde_json::to_string(command)?;
        self.raw.execute(
            "INSERT INTO commands (run_id, json, submitted_at, deadline) VALUES (?1, ?2, ?3, NULL)",
            rusqlite::params![run, json, self.now],
        )?;
        let id = self.raw.last_insert_rowid();
        self.history.push(format!(
            "  forged row #{id} on {run}: {}",
            command_name(command)
        ));
        Ok(())
    }

    /// A member's row in another member's name (`--mix accounts`), made as
    /// `baton` makes one, with a proof of its own: the engine must refuse it, the
    /// proof's owner not being the account the row names.
    fn forge_as_member(&mut self, run: &str, command: Command) -> Result<(), SimError> {
        let deadline = Timestamp(self.now + DEADLINE_MS);
        let id = self.ops.submit_command(run, &command, Some(deadline))?;
        self.pending
            .push((id, format!("{} on {run}", command_name(&command))));
        self.history.push(format!(
            "  member's forged row #{id} on {run}: {}",
            command_name(&command)
        ));
        Ok(())
    }

    /// `baton <command> RUN …` by the operator: to the live engine through the store, or
    /// by taking the run over.
    pub(crate) fn submit(&mut self, run: &str, command: Command) -> Result<(), SimError> {
        if self.cli_cut() {
            return self.cli_submit(run, command);
        }
        let name = command_name(&command);
        // A live engine's row, as every delivery hands it in (`command::hand_in_live`);
        // its verdict is read later, not waited for.
        let wait = std::time::Duration::from_millis(DEADLINE_MS.unsigned_abs());
        use baton_session::command::{HandedIn, hand_in_live};
        match hand_in_live(&mut self.ops, run, &command, wait, None)? {
            Some(HandedIn::ForEngine { id, .. }) => {
                self.pending.push((id, format!("{name} on {run}")));
                self.history
                    .push(format!("  {name} on {run}: row #{id} for its engine"));
                return Ok(());
            }
            Some(handed) => {
                self.history.push(format!("  {name} on {run}: {handed:?}"));
                return Ok(());
            }
            None => {}
        }
        // In a group store only the run's starter drives it: another account's command
        // is recorded for the starter's engine (`command::apply`, `RecordedForStarter`).
        let starter = self.ops.run(run)?.operator;
        if !baton_model::same_actor(command.operator(), &starter) {
            let id = self.ops.submit_command(run, &command, None)?;
            self.pending.push((id, format!("{name} on {run}")));
            self.history.push(format!(
                "  {name} on {run}: row #{id} recorded for {starter}'s engine"
            ));
            return Ok(());
        }
        // `--mix accounts`: the command's account's process, which holds its secret.
        let own = self.engine_as(command.operator());
        // A stopped process takes nothing over: the row waits for that account's engine.
        if own.is_some_and(|e| self.engines[e].stalled(self.now)) {
            let id = self.ops.submit_command(run, &command, None)?;
            self.pending.push((id, format!("{name} on {run}")));
            self.history.push(format!(
                "  {name} on {run}: row #{id} recorded, its account's engine is stopped"
            ));
            return Ok(());
        }
        // The command's own process, which takes the run over: the first engine that
        // is not stopped, from one the seed draws once the takeover went ahead (a
        // refused one draws nothing).
        let e = self.rng.clone().random_range(0..crate::world::ENGINES);
        let by = own.unwrap_or(self.awake(e).unwrap_or(e));
        match self.take_over((own, by), run, Some(command)) {
            Ok((ready, _)) => {
                self.history.push(format!("  {name} on {run}: taken over"));
                self.rng.random_range(0..crate::world::ENGINES);
                self.adopt(by, ready)
            }
            Err(err) => {
                self.history
                    .push(format!("  {name} on {run}: {}", session_refusal(&err)));
                match err {
                    SessionError::Refused { .. }
                    | SessionError::Driven { .. }
                    | SessionError::Unanswered { .. } => Ok(()),
                    // A rewritten record (`--mix rewrites`, `accounts`): refused, not obeyed.
                    e if self.refused_as_rewritten(run, &e) => Ok(()),
                    other => Err(other.into()),
                }
            }
        }
    }

    /// Engine `e` resumes a run chosen by the seed among those interrupted
    /// (`baton resume`: `take_over` with no command).
    pub(crate) fn resume(&mut self, e: usize) -> Result<(), SimError> {
        // `baton resume` is a new process: never a stopped one.
        let Some(e) = self.awake(e) else {
            return Ok(());
        };
        let interrupted = self.resumable(e)?;
        if interrupted.is_empty() {
            return Ok(());
        }
        let run = interrupted[self.rng.random_range(0..interrupted.len())].clone();
        self.resume_run(e, &run)
    }

    /// The interrupted runs engine `e`'s account may resume (`--mix accounts`: an
    /// account resumes the runs it started).
    pub(crate) fn resumable(&self, e: usize) -> Result<Vec<String>, SimError> {
        let mut interrupted = Vec::new();
        for (run, _) in &self.runs {
            if self.ops.run_liveness(run)?.state == baton_model::RunState::Interrupted
                && self.takes_over(e, run)?
            {
                interrupted.push(run.clone());
            }
        }
        Ok(interrupted)
    }

    /// `baton resume RUN` by engine `e`'s account: its engine drives the run, or the
    /// refusal is recorded.
    pub(crate) fn resume_run(&mut self, e: usize, run: &str) -> Result<(), SimError> {
        self.steps += 1;
        if self.cli_cut() {
            return self.cli_take(e, run, None);
        }
        let taken = self.take_over((Some(e), e), run, None);
        match taken {
            Ok((ready, _)) => {
                self.history.push(format!("  engine {e} resumes {run}"));
                self.adopt(e, ready)
            }
            Err(err) => {
                self.history.push(format!(
                    "  engine {e} resume {run}: {}",
                    session_refusal(&err)
                ));
                match err {
                    SessionError::Refused { .. }
                    | SessionError::Driven { .. }
                    | SessionError::Unanswered { .. } => Ok(()),
                    // A rewritten record: refused, not obeyed.
                    e if self.refused_as_rewritten(run, &e) => Ok(()),
                    other => Err(other.into()),
                }
            }
        }
    }

    /// The verdicts engines gave on the rows operators handed them.
    pub(crate) fn collect_verdicts(&mut self) -> Result<(), SimError> {
        let mut still = Vec::new();
        for (id, what) in std::mem::take(&mut self.pending) {
            match self.ops.command_outcome(id)? {
                Some(o) => self
                    .history
                    .push(format!("  #{id} {what}: {}", outcome(&o))),
                None => still.push((id, what)),
            }
        }
        self.pending = still;
        Ok(())
    }
}

/// The reason drawn (its `forged-N` or `op-N` tag), for the command that replaces it.
fn reason_of(c: &Command) -> String {
    match c {
        Command::Approve { reason, .. } | Command::Cancel { reason, .. } => {
            reason.clone().unwrap_or_default()
        }
        Command::Reject { reason, .. }
        | Command::Hold { reason, .. }
        | Command::Release { reason, .. }
        | Command::Mark { reason, .. } => reason.clone(),
        _ => String::new(),
    }
}

pub(crate) fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Approve { .. } => "approve",
        Command::Reject { .. } => "reject",
        Command::Retry { .. } => "retry",
        Command::RetryFailed { .. } => "retry-failed",
        Command::PushBack { .. } => "push-back",
        Command::Cancel { .. } => "cancel",
        Command::Mark { .. } => "mark",
        Command::Hold { .. } => "hold",
        Command::Release { .. } => "release",
        Command::RaiseBudget { .. } => "raise-budget",
        Command::RejectBudget { .. } => "reject-budget",
        Command::Label { .. } => "label",
    }
}

fn outcome(o: &CommandOutcome) -> String {
    match o {
        CommandOutcome::Accepted { .. } => "accepted".into(),
        CommandOutcome::Refused(r) => format!("refused ({})", r.code()),
    }
}

/// What a refused takeover says, without anything that differs between two runs of
/// one seed.
pub(crate) fn session_refusal(e: &SessionError) -> String {
    match e {
        SessionError::Refused { refusal, .. } => format!("refused ({})", refusal.code()),
        SessionError::Driven { .. } => "driven by another engine".into(),
        e if crate::rewrites::tampered(e) => {
            "refused (its history is not what was committed)".into()
        }
        other => format!("failed: {other}"),
    }
}

/// The tag a command carries as its reason (`op-N`, `forged-N`; empty for those that
/// take no reason: `retry`).
fn tag_of(c: &Command) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.get("reason")?.as_str().map(str::to_string))
        .unwrap_or_default()
}
