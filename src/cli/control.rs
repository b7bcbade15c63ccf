//! `baton approve|reject|push-back|retry|cancel|mark`: operator commands on any run, through the
//! session layer: a live engine gets them through the store; a run no engine drives is
//! taken over by this process (or a background engine with `--detach`).
use super::drive::{self, Display};
use super::exit;
use super::run::{operator_name, parse_kv};
use super::verdict::Verdict;
use crate::model::{Command, CommandOutcome, StepState};
use crate::session::command::{self, Applied, Delivery};
use crate::session::{self, SignWith};
use crate::store::Store;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct Target {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// The database (default: $BATON_DB, else `db` in config.toml, else $XDG_STATE_HOME/baton/baton.db).
    #[arg(long, env = "BATON_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// A `[[store]]` of config.toml by its name, instead of --db; a store on another host runs the command there, over ssh
    #[arg(long, value_name = "NAME")]
    pub store: Option<String>,
    /// Refused: who decides is the operating-system account running baton.
    #[arg(long, hide = true)]
    pub operator: Option<String>,
    /// When no engine drives the run: drive it in the background (its output goes to
    /// a file beside the run's logs) instead of in this terminal.
    #[arg(long, conflicts_with = "no_drive")]
    pub detach: bool,
    /// When no engine drives the run: only record the command; the next engine to
    /// drive the run (`baton resume`) applies it.
    #[arg(long)]
    pub no_drive: bool,
    /// A run parameter for driving the run (secret params are never stored).
    #[arg(long = "param", value_name = "K=V", value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// How long to wait for a live engine to take the command; after that it is
    /// withdrawn and never applies (e.g. `500ms`, `30s`).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_wait)]
    pub wait: std::time::Duration,
    /// Print the verdict as one JSON object: `{"run_id", "accepted": {"message"}}`,
    /// `{"run_id", "run_state", "refused": {"code", "message"}}` (the codes:
    /// docs/architecture.md, "Refusals") or `{"run_id", "recorded": {"command", "for"}}`. A run this command
    /// takes over is then driven as usual, its lines after the object.
    #[arg(long)]
    pub json: bool,
}

fn parse_wait(s: &str) -> Result<std::time::Duration, crate::workflow::DurationError> {
    crate::workflow::parse_duration(s).and_then(|d| {
        if d.is_zero() {
            Err(crate::workflow::DurationError::Zero("wait"))
        } else {
            Ok(d)
        }
    })
}

/// How a decision on a signed gate (`signed = true`) is signed. With none of these,
/// baton signs through ssh-agent when the gate is signed.
#[derive(Debug, Args)]
pub struct SignOpts {
    /// Print the exact bytes a signature must cover (for `ssh-keygen -Y sign -n baton`)
    /// and exit without deciding.
    #[arg(long, conflicts_with_all = ["signature", "sign_key"])]
    pub print_message: bool,
    /// A signature made elsewhere over the printed message (the `.sig` file of
    /// `ssh-keygen -Y sign -n baton -f KEY msg`).
    #[arg(long, value_name = "FILE", conflicts_with = "sign_key")]
    pub signature: Option<PathBuf>,
    /// Sign with this private key file (OpenSSH format, no passphrase; a key with one
    /// signs through ssh-agent).
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
}

impl SignOpts {
    fn with(&self) -> Option<SignWith> {
        match (&self.signature, &self.sign_key) {
            (Some(f), _) => Some(SignWith::SignatureFile(f.clone())),
            (None, Some(k)) => Some(SignWith::KeyFile(k.clone())),
            (None, None) => None,
        }
    }

    fn any(&self) -> bool {
        self.print_message || self.signature.is_some() || self.sign_key.is_some()
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton approve 01jd4 deploy --reason \"canary is green\"\n  baton approve 01jd4 --raise cost=10 --reason \"one more batch\"   # the budget gate\n\nA signed gate (signed = true) takes only SSH-signed decisions: baton signs through\nssh-agent, or with --sign-key FILE; or sign elsewhere:\n  baton approve 01jd4 deploy --reason ok --print-message > msg\n  ssh-keygen -Y sign -n baton -f ~/.ssh/id_ed25519 msg\n  baton approve 01jd4 deploy --reason ok --signature msg.sig"
)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub sign: SignOpts,
    /// The gated step (none with --raise, or when the run is an ask's id, `ask-…`).
    pub step: Option<String>,
    /// Why (recorded with the decision; required with --raise).
    #[arg(long)]
    pub reason: Option<String>,
    /// Approve the run's exhausted budget by raising its ceilings by the amounts given:
    /// `cost=10` adds 10 to the cost ceiling; also `calls=50`, `tokens=1000`
    /// (repeatable; no STEP).
    #[arg(long, value_name = "DIM=N", conflicts_with = "step")]
    pub raise: Vec<String>,
    /// A value the gate asks for (its `inputs`): `--input model=pro` (repeatable).
    /// A wrong, missing or unknown input is refused before anything is recorded.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_kv, conflicts_with = "raise")]
    pub inputs: Vec<(String, String)>,
    /// An input's value read from a file, whole (a SQL script, a patch, a prompt):
    /// `--input-file sql=fix.sql` (repeatable; at most 1 MiB, what an output holds).
    #[arg(long = "input-file", value_name = "NAME=PATH", value_parser = parse_kv, conflicts_with = "raise")]
    pub input_files: Vec<(String, String)>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton reject 01jd4 deploy --reason \"error rate is up in eu-west-1\"\n  baton reject 01jd4 --budget --reason \"not worth more\"   # the budget gate: the run fails"
)]
pub struct RejectArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub sign: SignOpts,
    /// The gated step to reject (none with --budget, or when the run is an ask's id, `ask-…`).
    pub step: Option<String>,
    /// Reject the run's budget gate (no STEP): the steps its ceiling froze are killed,
    /// nothing else starts, and the run fails.
    #[arg(long, conflicts_with = "step")]
    pub budget: bool,
    /// Why (required: it goes on the record).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton push-back 01jd4 publish --reason \"too long: one paragraph\"\n\nThe gate's `revise` steps (and the steps between them and the gate) run again with\nthe reason as $BATON_FEEDBACK and the round as $BATON_ROUND; the gate then opens\nagain, round N of its `rounds`. In the last round it is only approved or rejected.\nOn a signed gate the push-back is signed as an approval is (ssh-agent, --sign-key,\nor --print-message and --signature)."
)]
pub struct PushBackArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub sign: SignOpts,
    /// The gated step to push back.
    pub step: String,
    /// What to change (required: the revised steps read it as $BATON_FEEDBACK, and it
    /// goes on the record).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton retry 01jd4 test   # re-arms `test` and the steps skipped because of it\n  baton retry 01jd4 --failed   # every failed, timed-out and fail-fast-cancelled step and instance"
)]
pub struct RetryArgs {
    #[command(flatten)]
    pub target: Target,
    /// The failed, rejected, cancelled or interrupted step to run again (the steps
    /// skipped or cancelled because of it are re-armed).
    #[arg(required_unless_present = "failed")]
    pub step: Option<String>,
    /// Every failed, timed-out and fail-fast-cancelled step and instance, in one
    /// decision on record. Interrupted steps (their attempt may have done its work)
    /// are listed, left to `baton retry RUN STEP` or `baton mark` one by one.
    #[arg(long, conflicts_with = "step")]
    pub failed: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  baton cancel 01jd4 --reason \"wrong version\"")]
pub struct CancelArgs {
    #[command(flatten)]
    pub target: Target,
    /// Why (recorded in the audit trail).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MarkState {
    Succeeded,
    Failed,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton mark 01jd4 migrate --state succeeded --reason \"ran it by hand, see ticket OPS-12\"\n  baton mark 01jd4 deploy --state succeeded --output url=https://app.example --reason \"it deployed before the crash\""
)]
pub struct MarkArgs {
    #[command(flatten)]
    pub target: Target,
    /// The step whose outcome to set.
    pub step: String,
    /// The outcome to record: `succeeded` runs its dependants, `failed` skips them.
    #[arg(long, value_enum)]
    pub state: MarkState,
    /// Why (required: an override is audited).
    #[arg(long)]
    pub reason: String,
    /// An output of the step its dependants read, over those it recorded before it
    /// was interrupted: `--output url=https://…` (repeatable; with `succeeded`). A step
    /// marked succeeded is marked again with the outputs it lacks.
    #[arg(long = "output", value_name = "NAME=VALUE", value_parser = parse_kv)]
    pub outputs: Vec<(String, String)>,
    /// An output's value read from a file, whole: `--output-file notes=notes.md`
    /// (repeatable; at most 1 MiB).
    #[arg(long = "output-file", value_name = "NAME=PATH", value_parser = parse_kv)]
    pub output_files: Vec<(String, String)>,
    /// An artifact the step declares, from a file: `--artifact report=out/report.txt`
    /// (repeatable; with `succeeded`). It is kept in the store now, by its SHA-256, over
    /// what the step's attempt left; a step marked succeeded is marked again with those
    /// it lacks.
    #[arg(long = "artifact", value_name = "NAME=PATH", value_parser = parse_kv)]
    pub artifacts: Vec<(String, String)>,
}

pub fn approve(a: ApproveArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let command = if !a.raise.is_empty() {
        if a.sign.any() {
            crate::stdio::errln!(
                "error: the budget gate is not signed: --raise takes no --print-message, --signature or --sign-key"
            );
            return exit::USAGE;
        }
        // Whether a reason is given is the core's to say (`reason_required`).
        let reason = a.reason.clone().unwrap_or_default();
        // Read as the console reads its budget dialog; whether the amounts raise
        // anything is the core's to say (`bad_raise`, `nothing_to_raise`).
        let mut raise = crate::model::raise::Raise::default();
        for r in &a.raise {
            if let Err(e) = raise.set_pair(r) {
                crate::stdio::errln!("error: --raise {e}");
                return exit::USAGE;
            }
        }
        Command::RaiseBudget {
            operator,
            reason,
            cost: raise.cost,
            calls: raise.calls,
            tokens: raise.tokens,
        }
    } else {
        let Some(step) = a.step.or_else(|| ask_named(&a.target)) else {
            crate::stdio::errln!(
                "error: approve needs a STEP (or --raise DIM=N for the budget gate, or an ask's id `ask-…` in place of the run)"
            );
            return exit::USAGE;
        };
        let inputs = match super::input_file::merged("--input", &a.inputs, &a.input_files) {
            Ok(i) => i,
            Err(e) => {
                crate::stdio::errln!("error: {e}");
                return exit::USAGE;
            }
        };
        // Whether the inputs fit the gate is the core's to say (`input_invalid`, exit
        // 2, before anything is recorded).
        Command::Approve {
            step,
            operator,
            reason: a.reason.filter(|r| !r.trim().is_empty()),
            signature: None,
            inputs: inputs.into_iter().collect(),
        }
    };
    decide(&a.target, &a.sign, command)
}

/// A text over the bound (`model::bounds`) is refused here, exit 2, in the words the
/// engine would refuse it in (`too_long`, with `--json` as every refusal is printed),
/// before anything is sent or recorded.
fn within_bounds(target: &Target, command: &Command) -> Result<(), i32> {
    match command.too_long() {
        Some(why) => {
            let refusal = crate::model::Refusal::TooLong { why };
            if target.json {
                Verdict { json: true }.refused(&target.run, None, &refusal);
            } else {
                crate::stdio::errln!("error: {refusal}");
            }
            Err(exit::USAGE)
        }
        None => Ok(()),
    }
}

pub fn reject(a: RejectArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    if a.budget {
        if a.sign.any() {
            crate::stdio::errln!(
                "error: the budget gate is not signed: --budget takes no --print-message, --signature or --sign-key"
            );
            return exit::USAGE;
        }
        // Whether the gate is open, and the reason given, is the core's to say.
        let command = Command::RejectBudget {
            operator,
            reason: a.reason,
        };
        return decide(&a.target, &a.sign, command);
    }
    let Some(step) = a.step.or_else(|| ask_named(&a.target)) else {
        crate::stdio::errln!(
            "error: reject needs a STEP (or --budget for the budget gate, or an ask's id `ask-…` in place of the run)"
        );
        return exit::USAGE;
    };
    decide(
        &a.target,
        &a.sign,
        Command::Reject {
            step,
            operator,
            reason: a.reason,
            signature: None,
        },
    )
}

/// An approval, rejection or push-back: its message printed (`--print-message`), or
/// the decision signed when its gate is signed, then sent.
fn decide(target: &Target, opts: &SignOpts, command: Command) -> i32 {
    if let Err(code) = within_bounds(target, &command) {
        return code;
    }
    if !matches!(
        command,
        Command::Approve { .. } | Command::Reject { .. } | Command::PushBack { .. }
    ) {
        return send(target, command);
    }
    let db = drive::db_path(target.db.as_deref());
    if let Some(code) = answer_ask(target, opts, &db, &command) {
        return code;
    }
    let signed = Store::open_existing(&db)
        .map_err(session::SessionError::from)
        .and_then(|store| {
            let run_id = store.resolve_run(&target.run)?;
            if opts.print_message {
                return session::message_for(&store, &run_id, &command).map(Err);
            }
            session::sign_command(&store, &run_id, command, opts.with()).map(Ok)
        });
    match signed {
        Ok(Ok(command)) => send(target, command),
        Ok(Err(message)) => {
            // Exactly the bytes to sign: no newline added (the message ends in one).
            crate::stdio::out!("{message}");
            exit::OK
        }
        Err(e) => Verdict { json: target.json }.error(&e),
    }
}

/// The ask's id when the run given is one (`baton approve ask-…`): it stands for the step.
fn ask_named(target: &Target) -> Option<String> {
    crate::model::ask::is_ask_id(&target.run).then(|| target.run.clone())
}

/// An approval or rejection of an ask (`baton ask`): the run given is the ask's id, or
/// RUN STEP names a step whose ask is open. `None`: no ask; the command goes to the run.
fn answer_ask(
    target: &Target,
    opts: &SignOpts,
    db: &std::path::Path,
    command: &Command,
) -> Option<i32> {
    let (Command::Approve { step, .. } | Command::Reject { step, .. }) = command else {
        return None;
    };
    let by_id = crate::model::ask::is_ask_id(&target.run);
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) if by_id => return Some(super::db::fail(&e)),
        Err(_) => return None,
    };
    let id = if by_id {
        // A unique prefix, as `baton inbox` prints it, names the ask as a run's does;
        // one that names none is refused as no such ask (`no_ask`).
        match store.resolve_ask(&target.run) {
            Ok(id) => id,
            Err(crate::store::StoreError::NotFound(_)) => target.run.clone(),
            Err(e) => return Some(super::db::fail(&e)),
        }
    } else {
        let run = store.resolve_run(&target.run).ok()?;
        session::ask::of_step(&store, &run, step)?
    };
    let verdict = Verdict { json: target.json };
    let signed = match store.ask(&id) {
        Ok(Some(a)) if a.signers.is_some() => Some(a),
        _ => None,
    };
    let command = match signed {
        None if opts.any() => {
            let refusal = crate::model::Refusal::NotSigned { step: id.clone() };
            return Some(verdict.refused(&id, None, &refusal));
        }
        None => command.clone(),
        Some(a) => match session::ask::sign(&a, command.clone(), opts.print_message, opts.with()) {
            Ok(session::ask::Signed::Command(c)) => c,
            Ok(session::ask::Signed::Message(m)) => {
                // Exactly the bytes to sign: no newline added (the message ends in one).
                crate::stdio::out!("{m}");
                return Some(exit::OK);
            }
            Err(refusal) => return Some(verdict.refused(&id, None, &refusal)),
        },
    };
    Some(match session::ask::answer(&mut store, &id, &command) {
        Ok(message) => {
            verdict.accepted(&id, &message, &message);
            exit::OK
        }
        Err(refusal) => verdict.refused(&id, None, &refusal),
    })
}

pub fn push_back(a: PushBackArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let command = Command::PushBack {
        step: a.step,
        operator,
        reason: a.reason,
        signature: None,
    };
    decide(&a.target, &a.sign, command)
}

pub fn retry(a: RetryArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let command = match a.step {
        Some(step) => Command::Retry { step, operator },
        None => Command::RetryFailed { operator },
    };
    send(&a.target, command)
}

pub fn cancel(a: CancelArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    send(
        &a.target,
        Command::Cancel {
            operator,
            reason: a.reason,
        },
    )
}

pub fn mark(a: MarkArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let state = match a.state {
        MarkState::Succeeded => StepState::Succeeded,
        MarkState::Failed => StepState::Failed,
    };
    let outputs = match super::input_file::merged("--output", &a.outputs, &a.output_files) {
        Ok(o) => o,
        Err(e) => {
            crate::stdio::errln!("error: {e}");
            return exit::USAGE;
        }
    };
    let db = drive::db_path(a.target.db.as_deref());
    let mut artifacts = Vec::with_capacity(a.artifacts.len());
    for (name, path) in &a.artifacts {
        let file = std::path::Path::new(path);
        match crate::engine::keep_artifact_file(&db, &a.step, (name, file)) {
            Ok(r) => artifacts.push(r),
            Err(e) => {
                crate::stdio::errln!("error: --artifact {name}={path}: {e}");
                return exit::USAGE;
            }
        }
    }
    send(
        &a.target,
        Command::Mark {
            step: a.step,
            state,
            operator,
            reason: a.reason,
            outputs: outputs.into_iter().collect(),
            artifacts,
        },
    )
}

/// Apply the command through the session and print what became of it.
pub(super) fn send(target: &Target, command: Command) -> i32 {
    if let Err(code) = within_bounds(target, &command) {
        return code;
    }
    let out = Verdict { json: target.json };
    let db = drive::db_path(target.db.as_deref());
    let mut store = match Store::open_existing(&db) {
        Ok(s) => s,
        Err(e) => return session::report(&e.into()),
    };
    let delivery = if target.detach {
        Delivery::Detach
    } else if target.no_drive {
        Delivery::NoDrive
    } else {
        Delivery::Foreground
    };
    let operator = match operator_name(target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    match command::apply(
        &mut store,
        &target.run,
        command,
        &delivery,
        &target.params,
        target.wait,
    ) {
        Ok(Applied::ByEngine { outcome, .. }) => {
            let run_id = store.resolve_run(&target.run).unwrap_or_default();
            report(out, &run_id, outcome)
        }
        Ok(Applied::TakenOver { ready, message }) => {
            // A command that leaves a finished run as it ended (a step whose
            // compensation failed, marked failed once undone by hand) has nothing to
            // drive: once recorded, its exit code is the command's.
            let stays = (!ready.stale && ready.core.is_finished()).then(|| ready.core.run_state());
            let line = match stays {
                Some(state) => format!("accepted: {message} (run {} stays {state})", ready.run_id),
                None => format!(
                    "accepted: {message} (run {}); no engine was driving it: continuing it here (`--detach` drives it in the background)",
                    ready.run_id
                ),
            };
            out.accepted(&ready.run_id, &message, &line);
            let code = drive::drive(store, *ready, Display::headless(operator, db));
            match stays {
                Some(_) if code != exit::STORAGE => exit::OK,
                _ => code,
            }
        }
        Ok(Applied::Detached { pid, log, outcome }) => {
            let run_id = store.resolve_run(&target.run).unwrap_or_default();
            let code = report(out, &run_id, outcome);
            if code == exit::OK && !out.json {
                crate::stdio::outln!(
                    "driven in the background by pid {pid}; its output: {}",
                    log.display()
                );
            }
            code
        }
        Ok(Applied::Recorded { id }) => {
            let run_id = store.resolve_run(&target.run).unwrap_or_default();
            let line = format!(
                "recorded: command {id} waits for the next engine to drive run {run_id} (`baton resume {run_id}`)"
            );
            out.recorded(&run_id, id, None, &line);
            exit::OK
        }
        Ok(Applied::RecordedForStarter { id, starter }) => {
            let run_id = store.resolve_run(&target.run).unwrap_or_default();
            let line = format!(
                "recorded: command {id} waits for `{starter}`'s engine: no engine drives run {run_id}, and {}",
                session::command::starter_only(&run_id, &starter)
            );
            out.recorded(&run_id, id, Some(&starter), &line);
            exit::OK
        }
        Err(e) => out.error(&e),
    }
}

fn report(out: Verdict, run_id: &str, outcome: CommandOutcome) -> i32 {
    match outcome {
        CommandOutcome::Accepted { message } => {
            out.accepted(
                run_id,
                &message,
                &format!("accepted: {message} (run {run_id})"),
            );
            exit::OK
        }
        CommandOutcome::Refused(refusal) => out.refused(run_id, None, &refusal),
    }
}
