//! `baton label` on a run no engine drives (ended, or interrupted): a label change is
//! a record, not driving. The run's lease is taken for the moment of one commit (so no
//! engine starts on it meanwhile), its record replayed from the text it recorded (no
//! file, no secret given again), the `run_labelled` event committed alone, and the
//! lease given back: the run stays as it was, undriven. A run an engine drives gets the
//! command as every other (`command::apply`).
use super::SessionError;
use super::prepare::{PlanSource, rebuild, take_lease};
use baton_model::{Command, CommandOutcome, Timestamp};
use baton_store::Store;

/// Records `command` (a [`Command::Label`]) on run `run_id` if no engine drives it:
/// its verdict, or `None` when an engine holds the run (the command goes to it).
pub(crate) fn record_undriven(
    store: &mut Store,
    run_id: &str,
    command: &Command,
) -> Result<Option<CommandOutcome>, SessionError> {
    let holder = super::host::lease_holder();
    match take_lease(store, run_id, &holder) {
        Ok(()) => {}
        Err(SessionError::Driven { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    let outcome = record(store, run_id, command);
    let released = store.release_lease(run_id, &holder);
    let outcome = outcome?;
    released?;
    Ok(Some(outcome))
}

/// The change decided on the replayed record and committed; a refusal commits nothing.
fn record(
    store: &mut Store,
    run_id: &str,
    command: &Command,
) -> Result<CommandOutcome, SessionError> {
    // A group store's record must be what its engines committed, and this account's
    // key able to record the next event, as for any writer of the run's events.
    let run = store.run(run_id)?;
    store.check_sealed(&run)?;
    store.check_keys(run_id)?;
    let mut core = rebuild(store, run_id, PlanSource::Recorded, &[], false)?;
    match core.label_undriven(command, Timestamp::now()) {
        Ok((events, message)) => {
            store.commit_with_logs(run_id, &events, &[], &core.state_summary())?;
            Ok(CommandOutcome::Accepted { message })
        }
        Err(refusal) => Ok(CommandOutcome::Refused(refusal)),
    }
}
