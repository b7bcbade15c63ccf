//! The serve acts only on decisions that carry proof (issue 41 point 2): a pause or a
//! resume, and a backfilled slot, count only once the audit chain holds the decision
//! and its account's proof holds (`baton_store::schedules`); any other row is refused on
//! record, once. Slot rows missing from the store under the serve's own cursor are
//! reported on record, once, and never fired again.
//!
//! A schedule this serve has no pause record of (a new state file) is seeded first,
//! failing safe (`model::schedule::seed_pause`): a pause an earlier serve proved (its
//! proof used up) stays paused until a resume this serve proves, and the serve says why.
use baton_model::Timestamp;
use baton_model::schedule::{SeedWhy, seed_pause};
use baton_store::schedules::{DueBackfill, PauseRow, ServeState};
use baton_store::{Store, StoreError};

/// Check every schedule's pause row against what this serve proved last: a new
/// decision proved is taken (and kept where no member writes); any other row is
/// refused on record once, and the schedule goes on as last proved. A schedule with no
/// record is seeded. `false`: some schedule could not be read or seeded (its slots wait
/// for the next pass).
pub(super) fn pauses(store: &mut Store, state: &mut ServeState, operator: &str) -> bool {
    let rows = match store.pause_rows() {
        Ok(r) => r,
        Err(e) => {
            crate::stdio::errln!("serve: cannot read the schedules' pauses: {e}");
            return false;
        }
    };
    let mut changed = false;
    let mut complete = true;
    for row in &rows {
        if !state.knows(&row.file, row.index) {
            match seed(store, state, row) {
                Ok(()) => changed = true,
                Err(e) => {
                    complete = false;
                    crate::stdio::errln!(
                        "serve: cannot tell whether {}#{} is paused ({e}); its slots wait",
                        row.file,
                        row.index
                    );
                }
            }
            continue;
        }
        if state.agrees(row) || state.refused_already(row) {
            continue;
        }
        // Marked only once decided: a row the store could not check (busy) is checked
        // again at the next scan.
        match store.prove_pause(row) {
            Ok(Ok(())) => {
                changed = true;
                state.proved(row);
                crate::stdio::errln!(
                    "serve: {}#{} {}d by {}",
                    row.file,
                    row.index,
                    row.verb(),
                    row.by
                );
            }
            Ok(Err(why)) => {
                changed = true;
                state.refuse_once(row);
                let why = why.to_string();
                crate::stdio::errln!(
                    "serve: refused the {} of {}#{} asked as {:?}: {why}",
                    row.verb(),
                    row.file,
                    row.index,
                    row.by
                );
                if let Err(e) = store.refuse_pause(row, operator, &why) {
                    crate::stdio::errln!("serve: cannot record the refusal: {e}");
                }
            }
            Err(e) => crate::stdio::errln!(
                "serve: cannot check the {} of {}#{}: {e}",
                row.verb(),
                row.file,
                row.index
            ),
        }
    }
    if changed && let Err(e) = state.save() {
        crate::stdio::errln!("serve: cannot keep what it proved: {e}");
    }
    complete
}

/// The pause state of a schedule this serve has no record of, from its row, the audit
/// chain's latest decision on it and the row's proof (checked, and so used, if it
/// names an account), failing safe; said in the log unless never paused.
fn seed(store: &Store, state: &mut ServeState, row: &PauseRow) -> Result<(), StoreError> {
    let latest = store.latest_pause_decision(&row.file, row.index)?;
    let proved = !row.by.is_empty() && store.prove_pause(row)?.is_ok();
    let seeded = seed_pause(&row.said(), latest.as_ref(), proved);
    state.keep(&row.file, row.index, &seeded.kept);
    let name = format!("{}#{}", row.file, row.index);
    match seeded.why.explain() {
        None if seeded.why == SeedWhy::Proved => {
            crate::stdio::errln!("serve: {name} {}d by {}", row.verb(), row.by)
        }
        None => {}
        Some(why) => crate::stdio::errln!(
            "serve: {name} {} (as decided by {} at {}; {}): {why}",
            if seeded.kept.paused {
                "stays paused"
            } else {
                "is not paused"
            },
            if seeded.kept.by.is_empty() {
                "no account"
            } else {
                seeded.kept.by.as_str()
            },
            seeded.kept.at.to_rfc3339(),
            seeded.why.as_str()
        ),
    }
    Ok(())
}

/// Whether a backfilled slot is proved; one that is not is refused on record.
pub(super) fn backfill_proved(store: &mut Store, b: &DueBackfill, operator: &str) -> bool {
    match store.prove_backfill(b) {
        Ok(Ok(())) => true,
        Ok(Err(why)) => {
            let why = why.to_string();
            crate::stdio::errln!(
                "serve: refused the backfill of {}#{} slot {} asked as {}: {why}",
                b.file,
                b.index,
                b.slot.to_rfc3339(),
                b.by
            );
            if let Err(e) = store.refuse_backfill(b, operator, &why) {
                crate::stdio::errln!("serve: cannot record the refusal: {e}");
            }
            false
        }
        Err(e) => {
            crate::stdio::errln!("serve: cannot check a backfilled slot of {}: {e}", b.file);
            false
        }
    }
}

/// Slot rows of a schedule up to `own` (the serve's cursor) are gone from the store:
/// on record once; the serve's cursor keeps them from firing again.
pub(super) fn report_missing(
    store: &mut Store,
    state: &mut ServeState,
    (file, index): (&str, u32),
    own: Timestamp,
    operator: &str,
) {
    if !state.report_once(file, index, own) {
        return;
    }
    crate::stdio::errln!(
        "serve: slot rows of {file}#{index} up to {} are missing from the store; not fired again",
        own.to_rfc3339()
    );
    if let Err(e) = store.report_missing_slots(file, index, own, operator) {
        crate::stdio::errln!("serve: cannot record the missing slots: {e}");
    }
    if let Err(e) = state.save() {
        crate::stdio::errln!("serve: cannot keep what it reported: {e}");
    }
}
