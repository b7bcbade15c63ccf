//! `baton note` and the console's `n`: an operator's note on a run or one of its steps,
//! on record under the OS account (`identity::os_account`, never a typed name), checked
//! as a decision's reason is (`note::text_problem`), and written by this process to the
//! audit chain (`Store::add_note`), whoever drives the run.
use super::SessionError;
use baton_model::RunView;
use baton_store::Store;

/// Write the OS account's note `text` on the run `view` shows (on its step `step`, if
/// given: one of the run's steps or instances); the account it was written as.
pub fn add(
    store: &mut Store,
    view: &RunView,
    step: Option<&str>,
    text: &str,
) -> Result<String, SessionError> {
    if let Some(why) = baton_model::note::text_problem("the note", text) {
        return Err(SessionError::Usage(why));
    }
    if let Some(s) = step
        && !view.steps.iter().any(|v| v.id == s)
    {
        return Err(SessionError::Usage(format!(
            "run {} has no step `{s}`: name one of its steps (`baton show {}` lists them), or leave the step out to note the run",
            view.run_id, view.run_id
        )));
    }
    let by = super::identity::os_account()?;
    store.add_note(&view.run_id, step, &by, text)?;
    Ok(by)
}

/// [`add`] on the store at `db`, on a connection of its own: the console's `n` (its
/// service runs it off its thread), the same checks and record as `baton note`.
pub(crate) fn add_to(
    db: &std::path::Path,
    run_id: &str,
    step: Option<&str>,
    text: &str,
) -> Result<String, SessionError> {
    let mut store = Store::open(db)?;
    let view = super::inspect(&store, run_id, baton_model::Timestamp::now())?;
    add(&mut store, &view, step, text)
}
