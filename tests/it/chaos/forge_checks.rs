//! The promises the forged rows (`forge.rs`) are checked against once the campaign
//! settled, each named after the simulator's invariant for the same sentence of the
//! docs, and the forged audit decision made at the end on a copy of the store.
use super::checks::{RunFacts, Verdict};
use super::world::Campaign;
use crate::helpers::*;
use baton::model::EventKind;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// approvals.md: "baton's engines apply a row only when its proof's owner is the
/// account the row names […]; any other row is refused on record". No event but a
/// refusal carries a forged reason, no forged row reads `accepted`, and each one an
/// engine took is refused in its run's events.
pub(super) fn no_row_obeyed_without_proof(c: &Campaign, runs: &[RunFacts]) -> Verdict {
    let mut v = Verdict::new(
        "no_row_obeyed_without_proof",
        "docs/approvals.md: \"baton's engines apply a row only when its proof's owner is the account the row names […]; any other row is refused on record\"",
    );
    let mut refused_events: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in runs {
        for ev in &r.events {
            let json = serde_json::to_string(&ev.kind).unwrap_or_default();
            if !json.contains("\"forged-") {
                continue;
            }
            if matches!(ev.kind, EventKind::CommandRefused { .. }) {
                refused_events.entry(&r.id).or_default().push(json);
            } else {
                v.broken.push(format!(
                    "run {}: event {} `{}` obeys a forged row: {json}",
                    r.id,
                    ev.seq,
                    ev.kind.name()
                ));
            }
        }
    }
    let Ok(raw) = Connection::open(c.env.db()) else {
        v.broken.push("the store's file does not open".into());
        return v;
    };
    let mut fates: BTreeMap<String, usize> = BTreeMap::new();
    for (id, run, step, reason) in &c.forged.commands {
        let status: Option<String> = raw
            .query_row("SELECT status FROM commands WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .ok()
            .flatten();
        let status = status.unwrap_or_else(|| "gone".into());
        *fates.entry(status.clone()).or_default() += 1;
        let on_record = refused_events
            .get(run.as_str())
            .is_some_and(|evs| evs.iter().any(|j| j.contains(&format!("\"{reason}\""))));
        match status.as_str() {
            "accepted" => v.broken.push(format!(
                "the forged approve #{id} of run {run} step {step} ({reason}) reads accepted"
            )),
            "refused" if !on_record => v.broken.push(format!(
                "the forged approve #{id} of run {run} step {step} ({reason}) reads refused, but no `command_refused` of it is in the run's events"
            )),
            _ => {}
        }
    }
    // approvals.md: "`baton audit` names the decision refused and its subject
    // (`command_refused approve (unproven)` of a run's step)".
    let mut audited = 0;
    let mut by_run: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, run, _, _) in &c.forged.commands {
        let refused = raw
            .query_row("SELECT status FROM commands WHERE id = ?1", [id], |r| {
                r.get::<_, String>(0)
            })
            .is_ok_and(|s| s == "refused");
        if refused {
            *by_run.entry(run).or_default() += 1;
        }
    }
    for (run, n) in by_run {
        let rows = c.rows(&["audit", run, "--json"]);
        let named = rows
            .iter()
            .filter(|r| {
                r["action"] == "command_refused"
                    && r["refused"]["decision"] == "approve"
                    && r["refused"]["code"] == "unproven"
            })
            .count();
        audited += named.min(n);
        if named < n {
            v.broken.push(format!(
                "run {run}: {n} forged approve rows refused, {named} `command_refused approve (unproven)` rows in `baton audit {run} --json`"
            ));
        }
    }
    v.checked = format!(
        "{} forged approve rows ({fates:?}), {} refusals of them in the events, {audited} in `baton audit`",
        c.forged.commands.len(),
        refused_events.values().map(Vec::len).sum::<usize>()
    );
    v
}

/// commands.md (schedules): "A member who writes a trigger row in another's name with
/// plain SQL gets nothing run": no forged trigger slot records a run.
pub(super) fn no_forged_trigger_obeyed(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "no_forged_trigger_obeyed",
        "docs/commands.md: \"A member who writes a trigger row in another's name with plain SQL gets nothing run\"",
    );
    let Ok(raw) = Connection::open(c.env.db()) else {
        v.broken.push("the store's file does not open".into());
        return v;
    };
    let mut fates: BTreeMap<String, usize> = BTreeMap::new();
    for at in &c.forged.triggers {
        let row: Option<(String, Option<String>)> = raw
            .query_row(
                "SELECT s.fate, s.run_id FROM schedule_slots s JOIN schedules d
                   ON d.file = s.file AND d.workflow = 'nightly'
                 WHERE s.idx = 0 AND s.slot_at = ?1",
                params![at],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ok()
            .flatten();
        let (fate, run) = row.unwrap_or_else(|| ("gone".into(), None));
        *fates.entry(fate.clone()).or_default() += 1;
        if let Some(run) = run {
            v.broken.push(format!(
                "run {run} was started for the trigger row forged at {at} (fate {fate})"
            ));
        }
    }
    // approvals.md: a trigger "without its account's proof is refused on record":
    // `command_refused trigger (unproven)` of workflow `nightly` in `baton audit`.
    let refused = fates.get("refused").copied().unwrap_or(0);
    let named = c
        .rows(&["audit", "--json"])
        .iter()
        .filter(|r| {
            r["action"] == "command_refused"
                && r["refused"]["decision"] == "trigger"
                && r["refused"]["code"] == "unproven"
                && r["refused"]["subject"] == "nightly"
        })
        .count();
    if named < refused {
        v.broken.push(format!(
            "{refused} forged trigger rows refused, {named} `command_refused trigger (unproven)` rows of nightly in `baton audit --json`"
        ));
    }
    v.checked = format!(
        "{} forged trigger rows ({fates:?}), {named} refusals in `baton audit`",
        c.forged.triggers.len()
    );
    v
}

/// One answer a step's `baton ask` printed (`answers/RUN.STEP.ATTEMPT.PID`).
struct Taken {
    run: String,
    step: String,
    file: String,
    state: String,
    reason: String,
}

fn taken(dir: &std::path::Path) -> Vec<Taken> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let parts: Vec<&str> = file.split('.').collect();
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        // Killed before it answered: nothing taken.
        let Ok(json) = serde_json::from_str::<serde_json::Value>(text.trim()) else {
            continue;
        };
        let (Some(run), Some(step)) = (parts.first(), parts.get(1)) else {
            continue;
        };
        out.push(Taken {
            run: run.to_string(),
            step: step.to_string(),
            file,
            state: json["state"].as_str().unwrap_or_default().into(),
            reason: json["reason"].as_str().unwrap_or_default().into(),
        });
    }
    out
}

/// approvals.md: "A decision or vote written into `asks`/`ask_votes` […] is put back
/// and refused on record; the asker keeps waiting"; and issue 61: every ask answered
/// once is taken once. Every answer a step's ask took is one answer given through the
/// CLI (its reason `chaos-N`, the same decision), never a forged one, and every
/// attempt of a step that took an answer took the same.
pub(super) fn no_forged_answer_obeyed(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "no_forged_answer_obeyed",
        "docs/approvals.md: \"A decision or vote written into `asks`/`ask_votes` […] is put back and refused on record; the asker keeps waiting\"; an ask answered once is taken once, as answered",
    );
    let all = taken(&c.answers);
    let mut by_step: BTreeMap<(&str, &str), &Taken> = BTreeMap::new();
    for t in &all {
        let given = c
            .decisions
            .iter()
            .find(|d| d.accepted() && d.run == t.run && d.step == t.step && d.reason == t.reason);
        let as_given = given.is_some_and(|d| (t.state == "approved") == d.approve);
        if !as_given {
            v.broken.push(format!(
                "the ask of run {} step {} took {} ({:?}), no answer given through the CLI ({})",
                t.run, t.step, t.state, t.reason, t.file
            ));
        }
        match by_step.get(&(t.run.as_str(), t.step.as_str())) {
            Some(first) if (&first.state, &first.reason) != (&t.state, &t.reason) => {
                v.broken.push(format!(
                    "run {} step {}: {} took {} ({}), {} took {} ({})",
                    t.run, t.step, first.file, first.state, first.reason, t.file, t.state, t.reason
                ));
            }
            Some(_) => {}
            None => {
                by_step.insert((&t.run, &t.step), t);
            }
        }
    }
    // The forged answers put back: no ask whose step took an answer reads decided with
    // a forged reason (one whose asker never looked again, its run cancelled, keeps
    // what was forged: nobody obeys it).
    if let Ok(raw) = Connection::open(c.env.db()) {
        for (id, run, step, reason) in &c.forged.answers {
            if !all.iter().any(|t| t.run == *run && t.step == *step) {
                continue;
            }
            let kept: Option<(String, Option<String>)> = raw
                .query_row("SELECT state, reason FROM asks WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .ok()
                .flatten();
            if let Some((state, Some(r))) = kept
                && r == *reason
            {
                v.broken.push(format!(
                    "ask {id} of run {run} step {step} still reads {state} with the forged reason {reason}"
                ));
            }
        }
    }
    v.checked = format!(
        "{} answers taken by {} asking steps, {} answers forged",
        all.len(),
        by_step.len(),
        c.forged.answers.len()
    );
    v
}

/// docs/approvals.md: "Every decision is a row of one hash chain (`audit`)", which
/// `baton audit verify` checks: a decision forged into the audit table of a copy of
/// the settled store (its hash not the chain's) is reported broken there, exit 1,
/// while the copy verified before it.
pub(super) fn a_forged_audit_row_is_reported(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "a_forged_audit_row_is_reported",
        "docs/approvals.md: \"Every decision is a row of one hash chain (`audit`)\": `baton audit verify` reports a decision forged into it",
    );
    match forge_audit_copy(c) {
        Ok(said) => v.checked = said,
        Err(e) => v.broken.push(e),
    }
    v
}

/// The copy made, verified, forged and verified again: what the second verify said.
fn forge_audit_copy(c: &Campaign) -> Result<String, String> {
    let copy = c.env.path().join("forged-audit.db");
    let raw = Connection::open(c.env.db()).map_err(|e| e.to_string())?;
    raw.execute("VACUUM INTO ?1", [copy.to_string_lossy()])
        .map_err(|e| format!("copy the store: {e}"))?;
    let proofs = |db: &std::path::Path| {
        let mut p = db.as_os_str().to_owned();
        p.push(".proofs");
        std::path::PathBuf::from(p)
    };
    if proofs(&c.env.db()).is_dir() {
        let cp = std::process::Command::new("cp")
            .arg("-a")
            .arg(proofs(&c.env.db()))
            .arg(proofs(&copy))
            .status()
            .map_err(|e| format!("cp the proofs: {e}"))?;
        if !cp.success() {
            return Err("cp the proofs failed".into());
        }
    }
    let verify = || {
        c.baton()
            .args(["audit", "verify"])
            .env("BATON_DB", &copy)
            .output()
            .map_err(|e| format!("baton audit verify: {e}"))
    };
    let before = verify()?;
    if !before.status.success() {
        return Err(format!(
            "the copy does not verify before the forgery: {}{}",
            text(&before.stdout),
            text(&before.stderr)
        ));
    }
    let c2 = Connection::open(&copy).map_err(|e| e.to_string())?;
    let (run, prev): (String, String) = c2
        .query_row(
            "SELECT run_id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| format!("the copy's last audit row: {e}"))?;
    c2.execute(
        "INSERT INTO audit (run_id, seq, at, actor, action, step, reason, details, key_id, prev_hash, hash)
         VALUES (?1, NULL, ?2, 'mallory', 'approved', 'ship', 'forged-audit', '{}', NULL, ?3, ?4)",
        params![run, baton::model::Timestamp::now().0, prev, "f".repeat(64)],
    )
    .map_err(|e| format!("forge the audit row: {e}"))?;
    let id = c2.last_insert_rowid();
    let after = verify()?;
    let said = format!("{}{}", text(&after.stdout), text(&after.stderr));
    if after.status.code() != Some(1) || !said.contains("BROKEN") {
        return Err(format!(
            "baton audit verify of the copy with a decision forged at row {id} exits {:?}: {said}",
            after.status.code()
        ));
    }
    let _ = std::fs::remove_file(&copy);
    Ok(format!(
        "a copy of the store verified, then with a decision forged at row {id}: {}",
        said.lines().next().unwrap_or_default().trim()
    ))
}
