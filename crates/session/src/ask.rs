//! `baton ask` (issue 44 point 5): put a question to a person and wait for the answer
//! on the store. Run by a step (`BATON_RUN_ID`, `BATON_STEP_ID` of a run in this
//! store) the ask is that step's; by any other process it is the store's, naming the
//! asking OS account, its pid and its command line. Answers are recorded by
//! `baton approve|reject` and the console through [`answer`], by the rules of gates
//! (`model::ask::decide`), and wake the asker through its socket; polling four times a second
//! is the fallback. No engine takes part.
use super::SessionError;
use baton_model::ask::{self, Answer, Ask, AskState, Asker};
use baton_model::mask::Masker;
use baton_model::{Command, DecisionSignature, InputView, Refusal, Timestamp, same_actor};
use baton_signing::{AllowedSigners, Verdict};
use baton_store::{Store, wake};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How long the asker sleeps between looks at its row when no wake-up comes (another
/// host answering on a shared store, sockets off).
const POLL: Duration = Duration::from_millis(250);
/// Tests set a longer poll (milliseconds) to show that the wake-up alone reaches the
/// asker (across OS accounts on a group store).
pub(crate) const POLL_ENV: &str = "BATON_ASK_POLL_MS";

fn poll_every() -> Duration {
    std::env::var(POLL_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(POLL, Duration::from_millis)
}

/// Environment names whose values are taken for secrets in the asker's command line
/// and prompt (they are masked before anything is stored).
const SECRET_NAMES: [&str; 6] = ["SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "KEY"];

/// What is asked.
#[derive(Debug, Clone)]
pub struct Question {
    pub prompt: String,
    pub inputs: Vec<InputView>,
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub timeout: Option<Duration>,
    /// The asking account may approve (`--allow-self-approval`).
    pub allow_self_approval: bool,
    /// `--signed`: the allowed-signers file's text (checked when the ask opens).
    pub signers: Option<String>,
}

/// The values of this process's environment that look like secrets, to mask.
fn env_secrets() -> Masker {
    Masker::new(std::env::vars().filter_map(|(k, v)| {
        let k = k.to_uppercase();
        (v.len() >= 4 && SECRET_NAMES.iter().any(|s| k.contains(s))).then_some(v)
    }))
}

/// This process as an asker: the OS account, `pid N on HOST`, and its command line
/// (one bounded printable line, secrets masked).
pub(crate) fn this_asker() -> Result<Asker, SessionError> {
    let account = super::identity::os_account()?;
    let masker = env_secrets();
    let args: Vec<String> = std::env::args().collect();
    Ok(Asker {
        account,
        holder: baton_store::lease_holder_name(),
        command: masker.mask(&ask::command_line(&args)).into_owned(),
    })
}

/// The step this process runs for, if its environment names a run of `store`.
fn asking_step(store: &Store) -> Option<(String, String)> {
    let run = std::env::var("BATON_RUN_ID").ok()?;
    let step = std::env::var("BATON_STEP_ID").ok()?;
    (!run.is_empty() && !step.is_empty() && store.resolve_run(&run).is_ok_and(|id| id == run))
        .then_some((run, step))
}

/// The allowed signers of a signed ask: the file given (`--allowed-signers`), else
/// the ones the asking step's run recorded; checked to parse.
pub fn signers_for(store: &Store, file: Option<&Path>) -> Result<String, SessionError> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| SessionError::Usage(format!("--allowed-signers {}: {e}", f.display())))?,
        None => {
            let recorded = asking_step(store).and_then(|(run, _)| {
                match store.first_event(&run).ok().flatten()?.kind {
                    baton_model::EventKind::RunStarted {
                        allowed_signers, ..
                    } => allowed_signers,
                    _ => None,
                }
            });
            recorded.ok_or_else(|| {
                SessionError::Usage(
                    "--signed needs the allowed signers: give --allowed-signers FILE (a step's ask takes its workflow's [approvals] allowed_signers)".into(),
                )
            })?
        }
    };
    AllowedSigners::parse(&text)
        .map_err(|e| SessionError::Usage(format!("the allowed signers do not parse: {e}")))?;
    Ok(text)
}

/// Record `q` (or, for a step asking again what it asked before its engine died, take
/// over the same open ask) and return it.
pub fn open(store: &mut Store, q: &Question) -> Result<Ask, SessionError> {
    for i in &q.inputs {
        baton_workflow::spec_of_input(i).map_err(|e| SessionError::Usage(e.to_string()))?;
    }
    if let Some(e) = baton_model::bounds::text_too_long("the prompt", &q.prompt) {
        return Err(SessionError::Usage(e));
    }
    let asker = this_asker()?;
    let prompt = env_secrets().mask(&q.prompt).into_owned();
    let step = asking_step(store);
    let attempt: Option<u32> = std::env::var("BATON_ATTEMPT")
        .ok()
        .and_then(|a| a.parse().ok());
    if let (Some((run, s)), Some(n)) = (&step, attempt)
        && let Some(a) = store.ask_of_earlier_attempt(run, s, &prompt, n)?
    {
        if a.state == AskState::Open {
            store.adopt_ask(&a.id, &asker)?;
        }
        return Ok(store.ask(&a.id)?.unwrap_or(a));
    }
    let now = Timestamp::now();
    // A simulated world draws the id's random part, so its replays are byte for byte.
    let id = match baton_model::faults::id_bits() {
        Some(bits) => ulid::Ulid::from_parts(u64::try_from(now.0).unwrap_or(0), bits),
        None => ulid::Ulid::new(),
    };
    let a = Ask {
        id: format!("{}{}", ask::ID_PREFIX, id.to_string().to_lowercase()),
        run_id: step.as_ref().map(|(r, _)| r.clone()),
        step_id: step.map(|(_, s)| s),
        workflow: None,
        prompt,
        inputs: q.inputs.clone(),
        approvers: q.approvers.clone(),
        quorum: q.quorum.max(1),
        allow_self_approval: q.allow_self_approval,
        signers: q.signers.clone(),
        asker,
        opened_at: now,
        deadline: q.timeout.map(|t| now.add(t)),
        state: AskState::Open,
        votes: Vec::new(),
        values: None,
        decided_by: None,
        decided_at: None,
        reason: None,
    };
    store.insert_ask(&a, step_attempt(&a, attempt))?;
    Ok(store.ask(&a.id)?.unwrap_or(a))
}

/// A step's ask keeps the attempt that made it; the store's has none.
fn step_attempt(a: &Ask, attempt: Option<u32>) -> Option<u32> {
    a.run_id.as_ref().and(attempt)
}

/// Wait on the ask `opened` until it is decided or its deadline passes (then recorded
/// `expired`, unless an answer came first); the ask as it ends. Decided only by votes
/// whose audit rows and proofs verify, under the question as this asker opened it
/// (`Store::settle_ask`): a row another member rewrote is put back and refused on
/// record, and the wait goes on.
pub fn wait(store: &mut Store, db: &Path, opened: &Ask) -> Result<Ask, SessionError> {
    let id = opened.id.as_str();
    let me = super::identity::os_account()?;
    let listener = wake::BlockingListener::bind(db, id);
    let poll = poll_every();
    loop {
        let a = store
            .settle_ask(id, opened, &me)?
            .ok_or_else(|| SessionError::System(format!("the ask {id} is gone from the store")))?;
        if a.state != AskState::Open {
            return Ok(a);
        }
        let now = Timestamp::now();
        let left = match a.deadline {
            Some(d) if now >= d => {
                store.expire_ask(id, now)?;
                continue;
            }
            Some(d) => d.since(now).min(poll),
            None => poll,
        };
        match &listener {
            Some(l) => {
                l.wait(left);
            }
            None => std::thread::sleep(left.min(Duration::from_millis(50))),
        }
    }
}

/// Answer ask `id` with `command` (`Approve` or `Reject`, as `baton approve|reject`
/// and the console's dialog make it): the inputs checked against the ask's as a
/// gate's are, a signed ask's signature checked (`check_signed`), then decided and
/// recorded by the store. The message to show.
pub fn answer(store: &mut Store, id: &str, command: &Command) -> Result<String, Refusal> {
    answer_for(store, id, command, None)
}

/// [`answer`] of a console's answer sent over `baton link` with its `request` id: the
/// id and what became of the answer are kept in the transaction that decides it
/// (`store::coord::link_requests`); a request the console's check settled first is
/// refused, nothing recorded.
pub(crate) fn answer_for(
    store: &mut Store,
    id: &str,
    command: &Command,
    request: Option<&str>,
) -> Result<String, Refusal> {
    let fail = |e: baton_store::StoreError| Refusal::CannotApply { why: e.to_string() };
    let a = store.ask(id).map_err(fail)?.ok_or_else(|| Refusal::NoAsk {
        ask: id.to_string(),
    })?;
    let (me, answer, signature) = decided(&a, command)?;
    let sig = match (&a.signers, signature) {
        (None, Some(_)) => return Err(Refusal::NotSigned { step: id.into() }),
        (None, None) => None,
        (Some(text), pem) => Some(check_signed(&a, text, &answer, pem, me)?),
    };
    if let Some(s) = &sig {
        // A passkey's counter rises, however the answer came (page, CLI, link).
        super::signing::passkey_counter_rises(store, &s.signature).map_err(|e| match e {
            super::signing::CounterError::Store(e) => fail(e),
            super::signing::CounterError::NotAbove(e) => {
                Refusal::BadSignature { why: e.to_string() }
            }
        })?;
    }
    let actor = sig.as_ref().map_or(me.as_str(), |s| s.principal.as_str());
    let what = super::link_decide::what(command);
    let request = request.map(|r| (r, what.as_str()));
    let done = store
        .answer_ask(id, actor, &answer, sig.as_ref(), request)
        .map_err(fail)??;
    Ok(done.outcome.said(id))
}

/// What `command` answers: who (the OS account), the answer with its inputs checked
/// against the ask's, and the signature handed in, if any.
fn decided<'c>(
    a: &Ask,
    command: &'c Command,
) -> Result<(&'c String, Answer, Option<&'c str>), Refusal> {
    match command {
        Command::Approve {
            operator,
            reason,
            signature,
            inputs,
            ..
        } => {
            let given: Vec<(String, String)> =
                inputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let values = resolved(a, &given)?;
            let answer = Answer::Approve {
                inputs: values,
                reason: reason.clone(),
            };
            Ok((operator, answer, signature.as_deref()))
        }
        Command::Reject {
            operator,
            reason,
            signature,
            ..
        } => {
            let answer = Answer::Reject {
                reason: reason.clone(),
            };
            Ok((operator, answer, signature.as_deref()))
        }
        _ => Err(Refusal::CannotApply {
            why: format!("an ask ({}) is approved or rejected, nothing else", a.id),
        }),
    }
}

/// `given` checked against the ask's inputs, as a gate's are.
fn resolved(a: &Ask, given: &[(String, String)]) -> Result<BTreeMap<String, String>, Refusal> {
    let specs = a
        .inputs
        .iter()
        .map(baton_workflow::spec_of_input)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|p| Refusal::InputInvalid {
            problems: vec![p.to_string()],
        })?;
    baton_workflow::resolve_values(&specs, given, baton_workflow::Values::Inputs).map_err(
        |problems| Refusal::InputInvalid {
            problems: problems.sentences(),
        },
    )
}

/// The exact bytes an answer to the signed ask `a` is signed over.
pub(crate) fn message(a: &Ask, answer: &Answer) -> String {
    let none = BTreeMap::new();
    let (verdict, reason, inputs) = match answer {
        Answer::Approve { inputs, reason } => {
            (Verdict::Approve, reason.as_deref().unwrap_or(""), inputs)
        }
        Answer::Reject { reason } => (Verdict::Reject, reason.as_str(), &none),
    };
    baton_signing::ask_message(&a.id, &a.prompt, verdict, reason, inputs)
}

/// A signed ask's answer made ready to send, or the bytes to sign (`--print-message`).
pub enum Signed {
    Command(Command),
    Message(String),
}

/// Sign `command`, an answer to the signed ask `a`: with a signature file, a key file,
/// or through ssh-agent (`with: None`); or only say what to sign (`print`).
pub fn sign(
    a: &Ask,
    mut command: Command,
    print: bool,
    with: Option<super::signing::SignWith>,
) -> Result<Signed, Refusal> {
    use super::signing::SignWith;
    let (_, answer, _) = decided(a, &command)?;
    let message = message(a, &answer);
    if print {
        return Ok(Signed::Message(message));
    }
    let failed = |why: String| Refusal::SigningFailed { why };
    let pem = match with.unwrap_or(SignWith::Agent) {
        SignWith::SignatureFile(path) => {
            super::signing::read_signature(&path).map_err(|e| failed(e.to_string()))?
        }
        SignWith::KeyFile(path) => {
            baton_signing::sign_with_key_file(&path, &message).map_err(|e| failed(e.to_string()))?
        }
        SignWith::Agent => {
            let text = a.signers.as_deref().unwrap_or_default();
            let signers = AllowedSigners::parse(text).map_err(|e| failed(e.to_string()))?;
            baton_signing::sign_with_agent(&signers, &a.approvers, &message)
                .map_err(|e| failed(e.to_string()))?
                .0
        }
    };
    if let Command::Approve { signature, .. } | Command::Reject { signature, .. } = &mut command {
        *signature = Some(pem);
    }
    Ok(Signed::Command(command))
}

/// Check a signed ask's answer, handed in by OS account `account`, as a signed gate's
/// decision is checked: an SSHSIG over [`message`] by a key the ask's allowed signers
/// (`signers`) list under one of its approvers, never under the asking account. The
/// signature to record; the vote's actor is its principal.
pub(crate) fn check_signed(
    a: &Ask,
    signers: &str,
    answer: &Answer,
    pem: Option<&str>,
    account: &str,
) -> Result<DecisionSignature, Refusal> {
    let verb = match answer {
        Answer::Approve { .. } => "approve",
        Answer::Reject { .. } => "reject",
    };
    let Some(pem) = pem.filter(|p| !p.trim().is_empty()) else {
        return Err(Refusal::BadSignature {
            why: format!(
                "ask {id} takes only signed answers (baton ask --signed): {verb} it with your SSH key through ssh-agent, with --sign-key FILE, or sign the bytes `baton {verb} {id} … --print-message` prints (`ssh-keygen -Y sign -n baton`) and give --signature FILE",
                id = a.id
            ),
        });
    };
    let signers = AllowedSigners::parse(signers).map_err(|e| Refusal::BadSignature {
        why: format!("the ask's allowed signers do not parse: {e}"),
    })?;
    let message = message(a, answer);
    let checked = baton_signing::check(&signers, &message, pem)
        .map_err(|e| Refusal::BadSignature { why: e.to_string() })?;
    if let Some(p) = checked
        .principals
        .iter()
        .find(|p| same_actor(baton_signing::principal_account(p), &a.asker.account))
        && matches!(answer, Answer::Approve { .. })
    {
        return Err(Refusal::SelfApprovalByKey {
            key: checked.key,
            principal: p.clone(),
            account: a.asker.account.clone(),
            asked: true,
        });
    }
    let Some(principal) = checked
        .principals
        .iter()
        .find(|p| a.approvers.iter().any(|ap| same_actor(ap, p)))
    else {
        return Err(Refusal::KeyNotAnApprover {
            key: checked.key,
            principals: checked.principals,
            step: a.id.clone(),
            approvers: a.approvers.clone(),
        });
    };
    Ok(DecisionSignature {
        principal: principal.clone(),
        key: checked.key.clone(),
        message,
        signature: format!("{}\n", pem.trim()),
        account: account.to_string(),
    })
}

/// The open ask of step `step` in run `run`, if one waits (`baton approve RUN STEP`
/// answers it).
pub fn of_step(store: &Store, run: &str, step: &str) -> Option<String> {
    store
        .open_ask_of_step(run, step, None)
        .ok()
        .flatten()
        .map(|a| a.id)
}

/// The decision as `baton ask --json` prints it. `approvers` are who may decide (as
/// `--approvers` gave them, and as `baton inbox --json` names them), whatever became
/// of the ask; `votes` who voted to approve.
pub fn json(a: &Ask, state: AskState) -> serde_json::Value {
    let values: BTreeMap<String, String> = match state {
        AskState::Approved => a.values.clone().unwrap_or_default(),
        _ => BTreeMap::new(),
    };
    serde_json::json!({
        "ask": a.id,
        "state": state,
        "decided_by": a.decided_by,
        "approvers": a.approvers,
        "votes": a.votes.iter().map(|(v, _)| v).collect::<Vec<_>>(),
        "reason": a.reason,
        "inputs": values,
        "run_id": a.run_id,
        "step": a.step_id,
    })
}
