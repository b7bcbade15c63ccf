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
use baton_model::schedule::{PauseSaid, SeedWhy, pause_on_chain, seed_pause};
use baton_store::schedules::{ChainPauses, DueBackfill, PauseRow, ServeState};
use baton_store::{Store, StoreError};

/// Check every schedule's pause row against what this serve proved last: a new
/// decision proved is taken (and kept where no member writes); any other row is
/// refused on record once, and the schedule goes on as last proved. A schedule with no
/// record is seeded. Then the audit chain's latest decision on each: a pause this serve
/// has not kept holds (`model::schedule::pause_on_chain`, the rule `baton schedules`
/// shows), whether recorded while the serve was down or its row cleared since. `false`:
/// some schedule could not be read, checked or seeded (its slots wait for the next
/// pass, which checks it again).
/// `name`: a schedule's name (`nightly#1`) by its file and index, as the serve loaded
/// it, for the refusals on record.
pub fn pauses(
    store: &mut Store,
    state: &mut ServeState,
    operator: &str,
    name: &dyn Fn(&str, u32) -> String,
) -> bool {
    let rows = match store.pause_rows() {
        Ok(r) => r,
        Err(e) => {
            crate::stdio::errln!("serve: cannot read the schedules' pauses: {e}");
            return false;
        }
    };
    // The chain's pauses, read once per pass and only when needed: a schedule new to
    // this serve, a row that says something else than what it kept, or a pause or
    // resume recorded since it last checked (every schedule once when it starts).
    let mark = match store.chain_pause_mark() {
        Ok(m) => m,
        Err(e) => {
            crate::stdio::errln!("serve: cannot read the audit chain's pauses: {e}");
            return false;
        }
    };
    let needed = !state.chain_checked(mark)
        || rows.iter().any(|r| {
            !state.knows(&r.file, r.index) || !(state.agrees(r) || state.refused_already(r))
        });
    let chain = if needed {
        match store.chain_pauses() {
            Ok(c) => c,
            Err(e) => {
                crate::stdio::errln!("serve: cannot read the audit chain's pauses: {e}");
                return false;
            }
        }
    } else {
        ChainPauses::default()
    };
    let mut changed = false;
    let mut complete = true;
    for row in &rows {
        let latest = chain.get(&(row.file.clone(), row.index)).map(|(l, _)| l);
        let serve = Serve {
            operator,
            name: &name(&row.file, row.index),
        };
        if !state.knows(&row.file, row.index) {
            match seed(store, state, row, latest, &serve) {
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
        if !(state.agrees(row) || state.refused_already(row)) {
            // Marked only once decided: a row the store could not check (busy) is
            // checked again at the next pass.
            match check(store, state, row, &serve) {
                Ok(()) => changed = true,
                Err(e) => {
                    complete = false;
                    crate::stdio::errln!(
                        "serve: cannot check the {} of {}#{}: {e}",
                        row.verb(),
                        row.file,
                        row.index
                    );
                    continue;
                }
            }
        }
        if needed && hold_chain_pause(state, row, latest) {
            changed = true;
        }
    }
    if changed && let Err(e) = state.save() {
        crate::stdio::errln!("serve: cannot keep what it proved: {e}");
    }
    if complete && needed {
        state.checked_chain(mark);
    }
    complete
}

/// Who refuses a row (the serve's account) and the schedule's name as the serve
/// loaded it, which its refusal on record names.
struct Serve<'a> {
    operator: &'a str,
    name: &'a str,
}

/// A known schedule's row that says something else than what this serve kept: proved
/// (the schedule goes by it) or refused on record, once.
fn check(
    store: &mut Store,
    state: &mut ServeState,
    row: &PauseRow,
    serve: &Serve<'_>,
) -> Result<(), StoreError> {
    match store.prove_pause(row)? {
        Ok(()) => {
            state.proved(row);
            crate::stdio::errln!(
                "serve: {}#{} {}d by {}",
                row.file,
                row.index,
                row.verb(),
                row.by
            );
        }
        Err(why) => refuse(store, state, row, serve, &why.to_string()),
    }
    Ok(())
}

/// A row this serve does not go by: refused on record once, and why in the log. Marked
/// refused only once on record: a refusal the store could not take (busy) is recorded
/// at a later pass, not lost.
fn refuse(store: &mut Store, state: &mut ServeState, row: &PauseRow, serve: &Serve<'_>, why: &str) {
    if state.refused_already(row) {
        return;
    }
    match store.refuse_pause(row, serve.name, serve.operator, why) {
        Ok(()) => {
            state.refuse_once(row);
            crate::stdio::errln!(
                "serve: refused the {} of {}#{} asked as {:?}: {why}",
                row.verb(),
                row.file,
                row.index,
                row.by
            );
        }
        Err(e) => crate::stdio::errln!(
            "serve: cannot record the refusal of the {} of {}#{} ({e}); tried again at the next pass",
            row.verb(),
            row.file,
            row.index
        ),
    }
}

/// The audit chain's `latest` decision on a schedule this serve knows, when it is a
/// pause the serve does not go by: held, and said why. Whether it was.
fn hold_chain_pause(state: &mut ServeState, row: &PauseRow, latest: Option<&PauseSaid>) -> bool {
    let Some(kept) = state.goes_by(&row.file, row.index) else {
        return false;
    };
    let Some(pause) = pause_on_chain(&kept, latest) else {
        return false;
    };
    state.keep(&row.file, row.index, pause);
    crate::stdio::errln!(
        "serve: {}#{} stays paused (as decided by {} at {}; {}): the audit chain's latest decision is a pause this serve had not kept (recorded while it was down, or its row cleared or rewritten since); a pause is lifted only by a proved `baton schedule resume`",
        row.file,
        row.index,
        pause.by,
        pause.at.to_rfc3339(),
        SeedWhy::PausedOnChain.as_str()
    );
    true
}

/// The pause state of a schedule this serve has no record of, from its row, the audit
/// chain's `latest` decision on it and the row's proof (checked, and so used, if it
/// names an account), failing safe; said in the log unless never paused. A row whose
/// proof does not hold and whose decision is not the chain's latest is refused on
/// record, once, with why.
fn seed(
    store: &mut Store,
    state: &mut ServeState,
    row: &PauseRow,
    latest: Option<&PauseSaid>,
    serve: &Serve<'_>,
) -> Result<(), StoreError> {
    // A row naming no account uses no proof (`prove_pause` says it holds no decision
    // at once); it is refused here too when it says other than what the serve goes by
    // (a row cleared while the serve was down), not a pass later.
    let verdict = store.prove_pause(row)?;
    let proved = verdict.is_ok();
    let seeded = seed_pause(&row.said(), latest, proved);
    state.keep(&row.file, row.index, &seeded.kept);
    if let Err(why) = verdict
        && seeded.why.row_unrecorded()
    {
        refuse(store, state, row, serve, &why.to_string());
    }
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
/// `name`: the schedule's (`nightly#1`), as the serve loaded it.
pub fn backfill_proved(store: &mut Store, b: &DueBackfill, name: &str, operator: &str) -> bool {
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
            if let Err(e) = store.refuse_backfill(b, name, operator, &why) {
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
    (file, index, name): (&str, u32, &str),
    own: Timestamp,
    operator: &str,
) {
    if state.reported_already(file, index, own) {
        return;
    }
    // Marked reported only once on record, so that a busy store loses no report.
    if let Err(e) = store.report_missing_slots((file, index, name), own, operator) {
        crate::stdio::errln!(
            "serve: cannot record the missing slots of {file}#{index} ({e}); tried again at the next pass"
        );
        return;
    }
    state.report_once(file, index, own);
    crate::stdio::errln!(
        "serve: slot rows of {file}#{index} up to {} are missing from the store; not fired again",
        own.to_rfc3339()
    );
    if let Err(e) = state.save() {
        crate::stdio::errln!("serve: cannot keep what it reported: {e}");
    }
}
