//! Signing a decision on a signed gate before it is sent: the gate as the store records
//! it (its opening, digest, approvers, and the run's allowed signers), the canonical
//! message (`signing::message`, the bytes the engine verifies), and a signature from
//! a signature file, a key file or ssh-agent. The engine checks it whatever this says.
use super::SessionError;
use baton_model::{Command, EventKind};
use baton_signing::{
    self as signing, AllowedSigners, Verdict, sign_with_agent, sign_with_key_file,
};
use baton_store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a decision's signature comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignWith {
    /// The first key of ssh-agent (`$SSH_AUTH_SOCK`) listed under an approver.
    Agent,
    /// A private key file (`--sign-key`).
    KeyFile(PathBuf),
    /// A signature made elsewhere (`--signature`, the output of `ssh-keygen -Y sign`).
    SignatureFile(PathBuf),
}

/// The latest opening of a step's gate, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct RecordedGate {
    pub run_id: String,
    pub step: String,
    /// The seq of its `gate_opened` event.
    pub opening: u64,
    pub digest: String,
    pub signed: bool,
    pub approvers: Vec<String>,
    /// The run's allowed signers (recorded when it started), if any.
    pub signers: Option<AllowedSigners>,
    /// The inputs' defaults and choices as this opening rendered them.
    pub inputs: BTreeMap<String, baton_model::RenderedInput>,
}

impl RecordedGate {
    /// The exact bytes a decision on this opening is signed over, with the approval's
    /// `inputs` (checked, defaults filled in; none for a rejection).
    pub(crate) fn message(
        &self,
        verdict: Verdict,
        reason: &str,
        inputs: &std::collections::BTreeMap<String, String>,
    ) -> String {
        signing::message(
            &self.run_id,
            &self.step,
            self.opening,
            &signing::approval_digest(&self.digest, inputs),
            verdict,
            reason,
            inputs,
        )
    }
}

/// A signature file is a few hundred bytes: anything much larger is not one.
const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

/// The latest opening of `step`'s gate in run `run_id` (a full id); `None` if it never opened.
pub(crate) fn recorded_gate(
    store: &Store,
    run_id: &str,
    step: &str,
) -> Result<Option<RecordedGate>, SessionError> {
    let mut signers = None;
    let mut gate = None;
    for ev in store.events(run_id)? {
        match ev.kind {
            EventKind::RunStarted {
                allowed_signers: Some(text),
                ..
            } => {
                signers = Some(AllowedSigners::parse(&text).map_err(|e| {
                    SessionError::Usage(format!(
                        "run {run_id}: its recorded allowed signers do not parse ({e})"
                    ))
                })?);
            }
            EventKind::GateOpened {
                step: s,
                digest,
                approvers,
                signed,
                inputs,
                ..
            } if s == step => gate = Some((ev.seq, digest, approvers, signed, inputs)),
            _ => {}
        }
    }
    Ok(gate.map(
        |(opening, digest, approvers, signed, inputs)| RecordedGate {
            run_id: run_id.to_string(),
            step: step.to_string(),
            opening,
            digest,
            signed,
            approvers,
            signers,
            inputs,
        },
    ))
}

fn not_opened(run_id: &str, step: &str) -> SessionError {
    SessionError::Usage(format!(
        "step `{step}` of run {run_id} has no gate that has opened: there is nothing to sign yet"
    ))
}

/// The decision a command makes on a gate, its reason and inputs as they are signed
/// (an approval's only: a rejection and a push-back carry none).
fn decision(command: &Command) -> Option<(&str, Verdict, &str, &BTreeMap<String, String>)> {
    static NONE: BTreeMap<String, String> = BTreeMap::new();
    match command {
        Command::Approve {
            step,
            reason,
            inputs,
            ..
        } => Some((
            step,
            Verdict::Approve,
            reason.as_deref().unwrap_or(""),
            inputs,
        )),
        Command::Reject { step, reason, .. } => Some((step, Verdict::Reject, reason, &NONE)),
        Command::PushBack { step, reason, .. } => Some((step, Verdict::PushBack, reason, &NONE)),
        _ => None,
    }
}

/// An approval's inputs as the engine records them, which its signature covers: the
/// given ones with the gate's defaults filled in, from the workflow the run recorded.
/// Whether they fit the gate is the core's to say when the approval arrives: inputs
/// that do not are left as given, and refused there (`input_invalid`).
fn with_defaults(store: &Store, run_id: &str, mut command: Command) -> Command {
    let Command::Approve { step, inputs, .. } = &mut command else {
        return command;
    };
    let Ok(record) = store.run(run_id) else {
        return command;
    };
    let signers = store
        .first_event(run_id)
        .ok()
        .flatten()
        .and_then(|e| match e.kind {
            EventKind::RunStarted {
                allowed_signers, ..
            } => allowed_signers,
            _ => None,
        });
    let from = baton_workflow::SignersFrom::Recorded(signers.as_deref());
    let Ok(plan) = baton_workflow::load_str_with(&record.source_text, &record.source_path, from)
    else {
        return command;
    };
    let Some(gate) = plan
        .steps
        .iter()
        .find(|s| s.id == *step)
        .and_then(|s| s.gate.as_ref())
    else {
        return command;
    };
    let given: Vec<(String, String)> = inputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    // The defaults this opening rendered from the run, as the engine fills them in.
    let rendered = recorded_gate(store, run_id, step)
        .ok()
        .flatten()
        .map(|g| g.inputs)
        .unwrap_or_default();
    let specs = baton_workflow::input_choices::with_rendered(&gate.inputs, &rendered);
    if let Ok(filled) =
        baton_workflow::resolve_values(&specs, &given, baton_workflow::Values::Inputs)
    {
        *inputs = filled;
    }
    command
}

/// The message `command` (an approval, rejection or push-back) is signed over.
pub fn message_for(store: &Store, run_id: &str, command: &Command) -> Result<String, SessionError> {
    let command = &with_defaults(store, run_id, command.clone());
    let Some((step, verdict, reason, inputs)) = decision(command) else {
        return Err(SessionError::Usage(
            "only approvals, rejections and push-backs of a gate are signed".into(),
        ));
    };
    let gate = recorded_gate(store, run_id, step)?.ok_or_else(|| not_opened(run_id, step))?;
    Ok(gate.message(verdict, reason, inputs))
}

/// Attach a signature to an approval, rejection or push-back whose gate is signed. `with: None`
/// signs through ssh-agent when the gate is signed and leaves an unsigned gate's
/// decision as it is; an explicit key or signature on an unsigned gate is refused.
pub fn sign_command(
    store: &Store,
    run_id: &str,
    command: Command,
    with: Option<SignWith>,
) -> Result<Command, SessionError> {
    let Some((step, ..)) = decision(&command) else {
        return Ok(command);
    };
    // A gate that never opened: the engine says why the decision cannot apply.
    let gate = match (recorded_gate(store, run_id, step)?, &with) {
        (Some(g), _) => g,
        (None, None) => return Ok(command),
        (None, Some(_)) => return Err(not_opened(run_id, step)),
    };
    if !gate.signed {
        return match with {
            None => Ok(command),
            Some(_) => Err(SessionError::Usage(format!(
                "the gate of `{step}` is not signed (no `signed = true`): decide it without --signature or --sign-key"
            ))),
        };
    }
    let mut command = with_defaults(store, run_id, command);
    let Some((_, verdict, reason, inputs)) = decision(&command) else {
        return Ok(command);
    };
    let message = gate.message(verdict, reason, inputs);
    let pem = match with.unwrap_or(SignWith::Agent) {
        SignWith::SignatureFile(path) => {
            let pem = read_signature(&path)?;
            rising(store, run_id, &pem)?;
            pem
        }
        SignWith::KeyFile(path) => {
            sign_with_key_file(&path, &message).map_err(|e| SessionError::Usage(e.to_string()))?
        }
        SignWith::Agent => {
            let signers = gate.signers.as_ref().ok_or_else(|| {
                SessionError::Usage(format!(
                    "run {run_id} recorded no allowed signers, so its signed gate cannot be signed"
                ))
            })?;
            sign_with_agent(signers, &gate.approvers, &message)
                .map_err(|e| SessionError::Usage(e.to_string()))?
                .0
        }
    };
    if let Command::Approve { signature, .. }
    | Command::Reject { signature, .. }
    | Command::PushBack { signature, .. } = &mut command
    {
        *signature = Some(pem);
    }
    Ok(command)
}

/// `pem`'s passkey counter rises (`passkey_counter_rises`), or the decision is
/// refused as the engine refuses a bad signature, before anything is sent.
fn rising(store: &Store, run_id: &str, pem: &str) -> Result<(), SessionError> {
    match passkey_counter_rises(store, pem) {
        Ok(()) => Ok(()),
        Err(CounterError::Store(e)) => Err(e.into()),
        Err(CounterError::NotAbove(e)) => Err(SessionError::Refused {
            run_id: run_id.to_string(),
            state: store.run(run_id)?.state,
            refusal: Box::new(baton_model::Refusal::BadSignature { why: e.to_string() }),
        }),
    }
}

pub(crate) fn read_signature(path: &std::path::Path) -> Result<String, SessionError> {
    let shown = path.display();
    let bad =
        |why: String| SessionError::Usage(format!("cannot read the signature {shown}: {why}"));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_SIGNATURE_BYTES {
        return Err(bad(
            "not a signature file (expected the `.sig` that `ssh-keygen -Y sign` writes)".into(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| bad("not text".into()))
}

/// Why a passkey's signature counter was not checked, or does not rise.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] baton_store::StoreError),
    /// The counter is not above the last one recorded for its key.
    #[error(transparent)]
    NotAbove(#[from] signing::SignatureError),
}

/// A passkey's signature (`pem`) against the last counter the audit chain recorded for
/// its key (`Store::last_passkey_counter`, one lookup): one not above it is a
/// replayed assertion or a cloned authenticator (`signing::check_counter`). Any other
/// signature passes here. The one check of every way a decision comes in: the
/// approval page's, `baton approve|reject|push-back --signature` and an ask's answer.
pub fn passkey_counter_rises(store: &Store, pem: &str) -> Result<(), CounterError> {
    let Some((key, counter)) = signing::passkey_counter(pem) else {
        return Ok(());
    };
    let last = store.last_passkey_counter(&key)?;
    Ok(signing::check_counter(&key, counter, last)?)
}
