//! The promises of the newest hands on a run (`--mix hands`), checked after every
//! action. Each quotes the sentence of the docs it checks.
use super::Hands;
use crate::{SimError, Violation};

/// Every check, in order; the first broken.
pub(crate) fn check(h: &Hands, action: usize) -> Result<Option<Violation>, SimError> {
    let broken = a_child_step_takes_only_its_own_child(h)
        .map(|d| ("a_child_step_takes_only_its_own_child", d))
        .or_else(|| {
            a_reader_reads_what_was_checked(h).map(|d| ("a_reader_reads_what_was_checked", d))
        })
        .or_else(|| {
            a_mark_keeps_the_artifacts_left(h).map(|d| ("a_mark_keeps_the_artifacts_left", d))
        })
        .or_else(|| a_carried_value_stays_data(h).map(|d| ("a_carried_value_stays_data", d)))
        .or_else(|| {
            no_step_of_a_killed_pair_runs_twice(h)
                .map(|d| ("no_step_of_a_killed_pair_runs_twice", d))
        })
        .or_else(|| {
            a_parent_s_cancel_cancels_its_child(h)
                .map(|d| ("a_parent_s_cancel_cancels_its_child", d))
        })
        .or_else(|| {
            a_parent_cancelled_after_its_engine_died_leaves_its_child_cancelled(h).map(|d| {
                (
                    "a_parent_cancelled_after_its_engine_died_leaves_its_child_cancelled",
                    d,
                )
            })
        })
        .or_else(|| {
            a_parent_cancelling_its_children_keeps_its_lease(h)
                .map(|d| ("a_parent_cancelling_its_children_keeps_its_lease", d))
        })
        .or_else(|| {
            a_child_held_past_the_cancel_s_wait_is_left_to_its_engine(h).map(|d| {
                (
                    "a_child_held_past_the_cancel_s_wait_is_left_to_its_engine",
                    d,
                )
            })
        })
        .or_else(|| {
            a_parent_holds_its_group_until_its_child_s_steps_end(h)
                .map(|d| ("a_parent_holds_its_group_until_its_child_s_steps_end", d))
        })
        .or_else(|| passkeys_broken(h))
        .or_else(|| links_broken(h));
    let broken = match broken {
        Some(b) => Some(b),
        None => no_secret_leaves_its_steps(h, action)?.map(|d| ("no_secret_leaves_its_steps", d)),
    };
    let broken = match broken {
        Some(b) => Some(b),
        None => {
            each_event_makes_at_most_one_run_and_every_recorded_event_names_its_run(h)?.map(|d| {
                (
                    "each_event_makes_at_most_one_run_and_every_recorded_event_names_its_run",
                    d,
                )
            })
        }
    };
    let broken = match broken {
        Some(b) => Some(b),
        None => each_pending_event_fires_at_most_once_and_a_burst_names_its_one_run(h)?.map(|d| {
            (
                "each_pending_event_fires_at_most_once_and_a_burst_names_its_one_run",
                d,
            )
        }),
    };
    let broken = match broken {
        Some(b) => Some(b),
        None => super::child_outputs::a_child_s_outputs_reach_its_parent_as_its_steps_gave_them(h)?
            .map(|d| {
                (
                    "a_child_s_outputs_reach_its_parent_as_its_steps_gave_them",
                    d,
                )
            }),
    };
    let broken = match broken {
        Some(b) => Some(b),
        None => super::retries::a_step_retries_only_as_its_rule_says(h)?
            .map(|d| ("a_step_retries_only_as_its_rule_says", d)),
    };
    let broken = match broken {
        Some(b) => Some(b),
        None => super::pair_retry::broken(h, action)?,
    };
    Ok(broken.map(|(invariant, detail)| Violation {
        invariant,
        action,
        detail,
    }))
}

/// docs/workflow/child-workflows.md: "A step takes only a child its own engine made
/// for that attempt […] any other `run_parents` row is ignored": every child a
/// parent's step took is one a `baton run --parent` of that parent's step made (the
/// simulator's ground truth), never a run a member's row names.
pub(crate) fn a_child_step_takes_only_its_own_child(h: &Hands) -> Option<String> {
    let pairs = &h.children.pairs;
    h.children.taken.iter().find_map(|(parent, child)| {
        let own = pairs
            .iter()
            .any(|p| p.parent == *parent && p.child == *child);
        (!own).then(|| {
            format!(
                "{parent}/{} took run {child} as its child, which no attempt of it made",
                super::children::STEP
            )
        })
    })
}

/// docs/workflow/artifacts.md: "the reader's copy cannot change after its check": what
/// each reader opened at the path it was handed has the digest baton checked and
/// recorded, whatever a member of the group did in the store's directory.
pub(crate) fn a_reader_reads_what_was_checked(h: &Hands) -> Option<String> {
    h.artifacts.reads.iter().find_map(|(run, handed, read)| {
        (handed != read).then(|| {
            format!("{run}/evaluate was handed sha256 {handed} and read {read} at its path")
        })
    })
}

/// docs/commands.md (`baton mark`): "`mark --state succeeded` collects the artifacts
/// the interrupted attempt left": a step lost after it made its file, then marked
/// succeeded, has its file on record, and its reader is handed it (never held for it,
/// never failed).
pub(crate) fn a_mark_keeps_the_artifacts_left(h: &Hands) -> Option<String> {
    let a = &h.artifacts;
    a.marked.iter().find_map(|run| {
        let read = a.reads.iter().any(|(r, _, _)| r == run);
        (!read).then(|| {
            format!("{run}/train was marked succeeded with its file left, and {run}/evaluate was never handed it")
        })
    })
}

/// docs/import-github.md: "`$GITHUB_ENV`, `$GITHUB_OUTPUT` and `$GITHUB_PATH` are read
/// by GitHub's rules, by fixed shell functions that never evaluate a value": every
/// value an imported step carried (`$(…)`, backticks, `;`, quotes, lines that read as
/// entries, delimiters or workflow commands) reaches the next step, and the next job
/// through a job output, byte for byte; nothing ran (no `PWNED*` file); no other
/// variable changed; a name that changes how a shell or a loader runs, or baton's
/// own, is refused.
pub(crate) fn a_carried_value_stays_data(h: &Hands) -> Option<String> {
    (h.imports.broken.first()).map(|(run, why)| format!("imported run {run}: {why}"))
}

/// docs/workflow/child-workflows.md: "When a child-run step's process ends, [its
/// child's] process groups are stopped […] before the step's end is recorded. Until
/// then the parent keeps its group, its pool slots and its lease": when the executor
/// gives the end of a step whose child engine was killed (the moment its core decides
/// it, and its run lets go of what it holds), none of the child's steps runs.
pub(crate) fn a_parent_holds_its_group_until_its_child_s_steps_end(h: &Hands) -> Option<String> {
    let ends = &h.orphans.ends;
    ends.iter().find(|(_, _, running)| !running.is_empty()).map(|(parent, kid, running)| {
        format!(
            "{parent}/deploy's end was given to its core (its group, pool slots and lease let go) while {} step process group(s) of its child {kid} still ran",
            running.len()
        )
    })
}

/// docs/workflow/child-workflows.md: a parent's engine and its child's killed
/// together, "the parent's resume stops [what the child left] first": after the
/// parent's takeover and its step's takeover of the child, no step of the pair is
/// started while a process of its dead engine's attempt runs, and none that
/// succeeded is started again.
pub(crate) fn no_step_of_a_killed_pair_runs_twice(h: &Hands) -> Option<String> {
    h.pairs.broken.first().cloned()
}

/// docs/workflow/child-workflows.md: "Cancelling the parent […] stops the step […];
/// the child's engine, seeing its parent's cancel on record, **cancels** the child":
/// the child ends cancelled, and no step of the pair starts after the parent's cancel.
pub(crate) fn a_parent_s_cancel_cancels_its_child(h: &Hands) -> Option<String> {
    h.pair_cancels.broken.first().cloned()
}

/// docs/workflow/child-workflows.md: "Cancelling the parent […] the child's engine
/// […] **cancels** the child […]. A parent whose engine died is cancelled by a
/// takeover […], which then cancels each child […] before it records the parent's
/// step's end": a child whose engine the takeover stopped ends cancelled.
pub(crate) fn a_parent_cancelled_after_its_engine_died_leaves_its_child_cancelled(
    h: &Hands,
) -> Option<String> {
    h.pair_ends.broken.first().cloned()
}

/// docs/workflow/child-workflows.md: "while another engine holds a child, the
/// takeover looks again for up to 30 s, renewing the parent's lease as an engine that
/// drives it does: no other takeover takes the parent mid-cancel": at every look of a
/// parent's cancel at its child, the parent's lease is the cancelling takeover's and
/// live, however long another engine holds the child.
pub(crate) fn a_parent_cancelling_its_children_keeps_its_lease(h: &Hands) -> Option<String> {
    h.pair_ends.lapsed.first().cloned()
}

/// docs/workflow/child-workflows.md: "A child the takeover cannot take over ([…] held
/// by another engine for longer than 30 s) is named on standard error and left as it
/// is; the parent's cancel goes on": a child another live engine holds past the wait
/// is named as the CLI names it (`cancel::left_line`, in the history), the parent's
/// cancel ends (`cancelled` on record), the child's lease is still that engine's
/// (nothing takes a child from a live holder: none is taken while its hold lasts), and
/// no step of the child starts after the cancel began, nor twice.
pub(crate) fn a_child_held_past_the_cancel_s_wait_is_left_to_its_engine(
    h: &Hands,
) -> Option<String> {
    h.pair_ends.left_broken.first().cloned()
}

/// docs/workflow/triggers.md: "a `kill -9` at any point leaves either the event with
/// its run, or neither […] every recorded event names its run, or why it made none": no
/// two rows of `trigger_events` name one run; every row `started`, `queued`,
/// `skipped` or `superseding` names a run on record; of the run ids the serves tried
/// for one event (the ground truth) one at most is on record, and the event's row
/// names it; every event a serve answered has its row.
pub(crate) fn each_event_makes_at_most_one_run_and_every_recorded_event_names_its_run(
    h: &Hands,
) -> Result<Option<String>, SimError> {
    h.triggers.broken(&h.db)
}

/// docs/workflow/triggers.md: "A pending row becomes its run's in the transaction
/// that makes the run […] a burst's events all name its one run": of the firings the
/// serves tried (the ground truth), one at most that is on record took each pending
/// event; the rows naming a run on record are exactly the events its firing took;
/// every row names a run on record, or is pending, or refused; every event a serve
/// answered has its row. Serves die between pending and fired, and stop between
/// their read and their firing while another fires.
pub(crate) fn each_pending_event_fires_at_most_once_and_a_burst_names_its_one_run(
    h: &Hands,
) -> Result<Option<String>, SimError> {
    h.triggers.bursts.broken(&h.db)
}

/// The first promise of the approval page's decisions that broke.
fn passkeys_broken(h: &Hands) -> Option<(&'static str, String)> {
    only_a_good_passkey_decision_counts(h)
        .map(|d| ("only_a_good_passkey_decision_counts", d))
        .or_else(|| {
            a_refused_page_decision_changes_nothing_and_is_on_record(h).map(|d| {
                (
                    "a_refused_page_decision_changes_nothing_and_is_on_record",
                    d,
                )
            })
        })
        .or_else(|| {
            a_passkey_counter_never_goes_backwards(h)
                .map(|d| ("a_passkey_counter_never_goes_backwards", d))
        })
}

/// approvals.md: "Only a valid signature by a key that file lists under one of the
/// gate's approvers counts, whoever wrote the database", a passkey's from the page
/// among them (user verified, the page's origin, its counter above the last): every
/// decision a run recorded holds by `signed::a_signed_decision_counts_only_when_valid`,
/// every good assertion decided (an approval, a rejection, a push-back, an ask's
/// answer) and none counted whose assertion was bad.
pub(crate) fn only_a_good_passkey_decision_counts(h: &Hands) -> Option<String> {
    let p = &h.passkeys;
    p.broken.first().cloned().or_else(|| {
        (p.handed.iter())
            .find(|d| d.counted != d.good)
            .map(|d| match d.counted {
                true => format!(
                    "{} counted a decision from the page made with {}",
                    d.what, d.made
                ),
                false => format!(
                    "{} refused a decision from the page made with a good assertion",
                    d.what
                ),
            })
    })
}

/// approval-page.md: "each is refused and changes nothing, on record once per run,
/// step and refusal code": a request the page refused left the run's events (an
/// ask's votes) as they were, and a gate's refusal is on the run's audit chain.
pub(crate) fn a_refused_page_decision_changes_nothing_and_is_on_record(
    h: &Hands,
) -> Option<String> {
    (h.passkeys.handed.iter())
        .filter(|d| !d.counted)
        .find(|d| d.changed || !d.on_record)
        .map(|d| match d.changed {
            true => format!("{}: a refused decision ({}) changed it", d.what, d.made),
            false => format!(
                "{}: the page refused a decision ({}) and nothing is on record",
                d.what, d.made
            ),
        })
}

/// approval-page.md: a passkey's "counter is spent once it is recorded": the last
/// counter `passkey_counters` keeps for the key never goes backwards, and is the
/// highest of the decisions that counted.
pub(crate) fn a_passkey_counter_never_goes_backwards(h: &Hands) -> Option<String> {
    h.passkeys.backwards.first().cloned()
}

/// The first promise of a link request that broke (`links.rs` quotes each).
fn links_broken(h: &Hands) -> Option<(&'static str, String)> {
    use super::links::*;
    a_link_decision_is_the_link_s_account_and_recorded_once(h)
        .map(|d| ("a_link_decision_is_the_link_s_account_and_recorded_once", d))
        .or_else(|| {
            a_dropped_link_leaves_no_half_request(h)
                .map(|d| ("a_dropped_link_leaves_no_half_request", d))
        })
        .or_else(|| {
            a_hostile_frame_changes_nothing(h).map(|d| ("a_hostile_frame_changes_nothing", d))
        })
}

/// How often the store is read whole for secrets.
const SCAN_EVERY: usize = 10;

/// docs/threat-model.md: "A secret stays a secret in the child": no secret value (a
/// secret param, or a value made from one: each holds it) is in any row of the store
/// (every table, every column: runs, params, events, audit, run_parents…) or in a log
/// the drivers wrote, in the parent or the child. The logs after every action; the
/// store, which reads every row, every [`SCAN_EVERY`] actions and after the last (a
/// leak stays in its row: it is found, a few actions late at most).
pub(crate) fn no_secret_leaves_its_steps(
    h: &Hands,
    action: usize,
) -> Result<Option<String>, SimError> {
    if h.secrets.is_empty() {
        return Ok(None);
    }
    if let Some(line) = h
        .logs
        .iter()
        .find(|l| h.secrets.iter().any(|s| l.contains(s)))
    {
        return Ok(Some(format!("a step's log says a secret in clear: {line}")));
    }
    if !action.is_multiple_of(SCAN_EVERY) && action != h.config.actions {
        return Ok(None);
    }
    let conn = rusqlite::Connection::open(&h.db)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\""))?;
        let cols = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for c in 0..cols {
                let text = match row.get_ref(c)? {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                    _ => continue,
                };
                if let Some(s) = h.secrets.iter().find(|s| text.contains(s.as_str())) {
                    let at = text.find(s.as_str()).unwrap_or(0);
                    let from = text[..at]
                        .char_indices()
                        .rev()
                        .nth(60)
                        .map_or(0, |(i, _)| i);
                    return Ok(Some(format!(
                        "table {t} holds secret {s} in clear: …{}…",
                        &text[from..(at + s.len()).min(text.len())]
                    )));
                }
            }
        }
    }
    Ok(None)
}
