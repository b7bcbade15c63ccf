//! The serve acts only on decisions that carry proof (issue 41 point 2): a pause or a
//! resume, and a backfilled slot, count only once the audit chain holds the decision
//! and its account's proof holds (`baton_store::schedules`); any other row is refused on
//! record, once. Slot rows missing from the store under the serve's own cursor are
//! reported on record, once, and never fired again.
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::schedules::{DueBackfill, ServeState};

/// Check every schedule's pause row against what this serve proved last: a new
/// decision proved is taken (and kept where no member writes); any other row is
/// refused on record once, and the schedule goes on as last proved.
pub(super) fn pauses(store: &mut Store, state: &mut ServeState, operator: &str) {
    let rows = match store.pause_rows() {
        Ok(r) => r,
        Err(e) => {
            crate::stdio::errln!("serve: cannot read the schedules' pauses: {e}");
            return;
        }
    };
    let mut changed = false;
    for row in &rows {
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
