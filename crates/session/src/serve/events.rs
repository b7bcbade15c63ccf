//! Runs that start from events (`[[trigger]]`, issue 81): another workflow's run
//! ended, a file settled in a directory (a webhook's call comes through `webhook`).
//! Each event is made into its run by [`fire_event`]: its key is recorded in the
//! transaction that makes the run (`Store::fire_trigger`), so however often it is
//! seen (a serve restarted, two serves, a file seen again, a delivery repeated), it
//! makes one run at most, and every recorded event names its run or why it made none.
//! An event that came while no serve ran is found at the next start: a run that ended
//! after the trigger was first served and is no event of it yet, a file in its
//! directory with no row yet.
use super::catalog::Entry;
use super::loader::{self, Settle, Sig};
use crate::SessionError;
use crate::concurrency::{self, Admitted, Group};
use crate::host;
use crate::prepare::{self, NewRunSpec, Ready, Unwritten};
use baton_engine::Opening;
use baton_model::{EventKind, Timestamp};
use baton_store::Store;
use baton_store::trigger_events::{EventRow, Fired, ServedTrigger, TriggerEvent};
use baton_workflow::{EventSource, EventTrigger, MAX_TRIGGER_DEPTH, Pick, event_params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

/// At most this many files of a trigger's directory are looked at in one scan.
const MAX_FILES_PER_SCAN: usize = 10_000;
/// At most this many ended runs are taken per trigger in one look.
const MAX_RUNS_PER_LOOK: usize = 100;

/// What an event holds, for its trigger's `map`.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// The run that ended, and its steps' outputs (`(step, name)`).
    Run {
        id: String,
        state: String,
        workflow: String,
        outputs: BTreeMap<(String, String), String>,
    },
    File {
        path: PathBuf,
    },
    /// A webhook's call: its delivery id and JSON body (made by the serve's listener).
    #[allow(dead_code)]
    Webhook {
        delivery: String,
        body: serde_json::Value,
    },
}

impl Values {
    /// What `pick` finds in the event (`None`: nothing, or not a plain value).
    pub(crate) fn pick(&self, pick: &Pick) -> Option<String> {
        match (self, pick) {
            (Values::Run { id, .. }, Pick::RunId) => Some(id.clone()),
            (Values::Run { state, .. }, Pick::RunState) => Some(state.clone()),
            (Values::Run { workflow, .. }, Pick::RunWorkflow) => Some(workflow.clone()),
            (Values::Run { outputs, .. }, Pick::StepOutput { step, name }) => {
                outputs.get(&(step.clone(), name.clone())).cloned()
            }
            (Values::File { path }, Pick::FilePath) => Some(path.to_string_lossy().into_owned()),
            (Values::File { path }, Pick::FileName) => {
                path.file_name().map(|n| n.to_string_lossy().into_owned())
            }
            (Values::Webhook { delivery, .. }, Pick::Delivery) => Some(delivery.clone()),
            (Values::Webhook { body, .. }, Pick::Body(path)) => {
                let mut v = body;
                for p in path {
                    v = v.get(p)?;
                }
                match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// One event a trigger saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// Its key (`run:ID`, `file:PATH:DEV:INO:LEN:MTIME`, `delivery:ID`).
    pub key: String,
    /// What `show` and `baton triggers` say of it.
    pub detail: String,
    pub source_run: Option<String>,
    pub depth: u32,
    pub values: Values,
}

/// What [`fire_event`] did with an event.
// One per event, moved at once into its driver: boxing the run would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fire {
    /// Its run is made (with the event's row): drive it, then make its group's
    /// follow-ups (`concurrency::follow_up`).
    Made {
        ready: Ready,
        fate: &'static str,
        group: Option<(Group, Admitted)>,
    },
    /// Decided before: nothing made now.
    Already(EventRow),
    /// Recorded as making no run, and why (paused, too deep, params that do not
    /// check).
    Refused { why: String },
}

/// Where an event's run comes from: the served file, its entry and the trigger.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub file: &'a str,
    pub entry: &'a Entry,
    pub trigger: &'a EventTrigger,
}

/// Make the run of event `seen` of trigger `at`, as `operator`, unless the event was
/// decided before; or record why it makes none. The event's row and its run are one
/// transaction: a crash at any point leaves both or neither.
pub(crate) fn fire_event(
    store: &mut Store,
    at: At<'_>,
    seen: &Seen,
    operator: &str,
) -> Result<Fire, SessionError> {
    let t = at.trigger;
    let ev = TriggerEvent {
        file: at.file,
        index: t.index,
        key: &seen.key,
        kind: t.source.kind(),
        detail: &seen.detail,
        source_run: seen.source_run.as_deref(),
        depth: seen.depth,
    };
    let unwritten = match refusal(store, at, seen, operator)? {
        Err(NoRun(why)) => {
            let before = store.decide_trigger_event(&ev, "refused", Some(&why))?;
            return Ok(match before {
                Some(row) => Fire::Already(row),
                None => Fire::Refused { why },
            });
        }
        Ok(u) => u,
    };
    let (u, group) = unwritten;
    let Unwritten {
        new_run,
        mut core,
        workflow,
    } = u;
    let joining = group.as_ref().map(concurrency::joining);
    let mut initial = Vec::new();
    crash_point("before");
    let fired = store.fire_trigger(
        &ev,
        &new_run,
        &host::lease_holder(),
        joining.as_ref(),
        |verdict| {
            let opening = group
                .as_ref()
                .map_or(Opening::Run, |g| concurrency::opening(g, verdict));
            let (committed, rest) =
                prepare::split_persisted(core.start_as(opening, Timestamp::now()));
            initial = rest;
            crash_point("in_transaction");
            (committed, core.state_summary())
        },
    )?;
    let (decision, committed) = match fired {
        Fired::Already(row) => return Ok(Fire::Already(row)),
        Fired::Made { decision, events } => (decision, events),
    };
    crash_point("after_commit");
    let admitted = group.map(|g| {
        let a = concurrency::admitted_of(decision, &g);
        (g, a)
    });
    let fate = admitted
        .as_ref()
        .map_or("started", |(_, a)| a.admission.word());
    let ready = Ready {
        run_id: new_run.id.clone(),
        workflow,
        core,
        initial,
        committed,
        stale: false,
    };
    Ok(Fire::Made {
        ready,
        fate,
        group: admitted,
    })
}

/// Record event `seen` of trigger `at` as making no run, and why; or what it was
/// decided before.
pub(crate) fn refuse_event(
    store: &mut Store,
    at: At<'_>,
    seen: &Seen,
    why: &str,
) -> Result<Fire, SessionError> {
    let ev = TriggerEvent {
        file: at.file,
        index: at.trigger.index,
        key: &seen.key,
        kind: at.trigger.source.kind(),
        detail: &seen.detail,
        source_run: seen.source_run.as_deref(),
        depth: seen.depth,
    };
    Ok(
        match store.decide_trigger_event(&ev, "refused", Some(why))? {
            Some(row) => Fire::Already(row),
            None => Fire::Refused {
                why: why.to_string(),
            },
        },
    )
}

/// `BATON_TRIGGER_CRASH=POINT`: the serve kills itself (SIGKILL) at that point of
/// making an event's run, for the tests that show an event makes one run whatever the
/// point: `before` (nothing written), `in_transaction` (the run written, the event's
/// row and the commit not), `after_commit` (both on record, the run not driven).
fn crash_point(point: &str) {
    if std::env::var("BATON_TRIGGER_CRASH").is_ok_and(|p| p == point) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// A triggered run, not yet written, and its group.
pub(crate) type Prepared = (Unwritten, Option<Group>);

/// Why an event (or a burst of them) makes no run, as its row records it (and a
/// webhook's sender hears).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NoRun(pub(crate) String);

/// The event's run, not yet written, and its group; or why it makes none (`Err`
/// inside): its trigger is paused, its chain is too deep, its params do not check.
fn refusal(
    store: &mut Store,
    at: At<'_>,
    seen: &Seen,
    operator: &str,
) -> Result<Result<Prepared, NoRun>, SessionError> {
    let t = at.trigger;
    if store.trigger_paused(at.file, t.index)? {
        return Ok(Err(NoRun("the trigger is paused".into())));
    }
    if seen.depth > MAX_TRIGGER_DEPTH {
        return Ok(Err(NoRun(format!(
            "{} triggers in a row led here, more than {MAX_TRIGGER_DEPTH}: a cycle of triggers is stopped there",
            seen.depth
        ))));
    }
    let params = match event_params(t, |p| seen.values.pick(p)) {
        Ok(p) => p,
        Err(e) => return Ok(Err(NoRun(e.to_string()))),
    };
    unwritten(store, at, params, operator)
}

/// The run of `at`'s trigger with `params`, checked as any run and not yet written, and
/// its group; a check's refusal is why it makes none (`Err` inside).
pub(crate) fn unwritten(
    store: &Store,
    at: At<'_>,
    params: Vec<(String, String)>,
    operator: &str,
) -> Result<Result<Prepared, NoRun>, SessionError> {
    let spec = NewRunSpec {
        workflow: PathBuf::from(at.file),
        params,
        operator: operator.to_string(),
        labels: at.trigger.labels.clone(),
        ..NewRunSpec::default()
    };
    let checked = crate::one_name::check(store, &at.entry.plan.name, &spec.workflow)
        .and_then(|()| prepare::load_plan(spec, at.entry.plan.clone(), at.entry.text.clone()))
        .and_then(|loaded| {
            let group = concurrency::group_of(&loaded.plan, &loaded.params)?;
            Ok((prepare::unwritten(loaded, store.path()), group))
        });
    match checked {
        Ok(p) => Ok(Ok(p)),
        Err(SessionError::Usage(why)) => Ok(Err(NoRun(why))),
        Err(e) => Err(e),
    }
}

/// The outputs each step of a run recorded last (its `steps.ID.outputs.NAME`), from
/// its events.
fn outputs_of(events: &[baton_model::Event]) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for ev in events {
        let (step, outputs) = match &ev.kind {
            EventKind::StepFinished { step, outputs, .. }
            | EventKind::StepReused { step, outputs, .. }
            | EventKind::StepOutputsKept { step, outputs, .. }
            | EventKind::StepMarked { step, outputs, .. } => (step, outputs),
            _ => continue,
        };
        for (k, v) in outputs {
            out.insert((step.clone(), k.clone()), v.clone());
        }
    }
    out
}

/// A `run_ended` event, and why its run is no source of a run (`Some`: its event is
/// recorded refused, never fired).
pub(crate) struct Ended {
    pub seen: Seen,
    pub unproven: Option<String>,
}

/// Why ended run `id` (its row says `state`) may not start a run as `operator`
/// (`None`: it may). In a group store any member writes `runs` and `events` rows, and
/// may run a file of their own named like the source: only a run this account started
/// counts, its record and events what this account's engines sealed (`check_sealed`,
/// the check a child run passes), its last `run_finished` the state its row says.
fn source_unproven(
    store: &Store,
    id: &str,
    state: &str,
    operator: &str,
    events: &[baton_model::Event],
) -> Result<Option<String>, SessionError> {
    let record = store.run(id)?;
    if record.operator != operator {
        return Ok(Some(format!(
            "run {id} was started by {}, not by {operator} (the serve's account): only the serve's account's own runs start its triggers' runs",
            baton_model::sanitize::for_terminal(&baton_model::sanitize::one_line(&record.operator))
        )));
    }
    match store.check_sealed(&record) {
        Ok(()) => {}
        Err(baton_store::StoreError::Unproven { what, .. }) => {
            return Ok(Some(format!(
                "run {id} is not proven the serve's account's own: {what}"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let ended = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::RunFinished { state, .. } => Some(state.as_str()),
        _ => None,
    });
    Ok(match ended {
        Some(s) if s != state => Some(format!(
            "run {id}'s row says {state} but its events say it ended {s}"
        )),
        _ => None,
    })
}

/// The `run_ended` events of trigger `at` not decided yet: runs of its workflow that
/// ended in its states since it was first served; each one not proven the serve's
/// account's own (`source_unproven`) with why, and no values of it read.
pub(crate) fn ended_runs(
    store: &Store,
    at: At<'_>,
    since: Timestamp,
    operator: &str,
) -> Result<Vec<Ended>, SessionError> {
    let EventSource::RunEnded { workflow, states } = &at.trigger.source else {
        return Ok(Vec::new());
    };
    let rows = store.runs_ended_unseen(
        (at.file, at.trigger.index),
        workflow,
        states,
        since,
        MAX_RUNS_PER_LOOK,
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, state) in rows {
        let events = store.events(&id)?;
        let unproven = source_unproven(store, &id, &state, operator, &events)?;
        let outputs = if unproven.is_none() {
            outputs_of(&events)
        } else {
            BTreeMap::new()
        };
        let seen = Seen {
            key: format!("run:{id}"),
            detail: format!("run {id} of {workflow} {state}"),
            source_run: Some(id.clone()),
            depth: store.chain_depth(&id)? + 1,
            values: Values::Run {
                id,
                state,
                workflow: workflow.clone(),
                outputs,
            },
        };
        out.push(Ended { seen, unproven });
    }
    Ok(out)
}

/// A file's event key: its path and identity, so that the same file seen again is the
/// same event and a new version of it (a new inode, length or time) a new one.
fn file_key(path: &Path, sig: &Sig) -> String {
    let mtime = sig
        .mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "file:{}:{}:{}:{}:{mtime}",
        path.display(),
        sig.dev,
        sig.ino,
        sig.len
    )
}

/// The files of file triggers: which were decided, and which settle.
#[derive(Default)]
pub(crate) struct Files {
    /// Event keys known decided (in the store), by trigger.
    decided: HashSet<(String, u32, String)>,
    /// A file's version and when a scan first saw it, by trigger and path.
    settling: HashMap<(String, u32, PathBuf), (Sig, Instant)>,
}

impl Files {
    /// The files of trigger `at`'s directory that are whole (the serve's rule for a
    /// workflow file: unchanged for `loader::QUIET`) and not decided yet.
    pub(crate) fn settled(&mut self, store: &Store, at: At<'_>) -> Vec<Seen> {
        let EventSource::File { dir, .. } = &at.trigger.source else {
            return Vec::new();
        };
        let Ok(read) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut out = Vec::new();
        let mut present = HashSet::new();
        for e in read.filter_map(Result::ok).take(MAX_FILES_PER_SCAN) {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !at.trigger.source.matches_name(name) {
                continue;
            }
            let path = dir.join(name);
            let Some(sig) = loader::own_sig_of(&path) else {
                continue;
            };
            let key = file_key(&path, &sig);
            let id = (at.file.to_string(), at.trigger.index, key.clone());
            if self.decided.contains(&id) {
                continue;
            }
            if matches!(
                store.trigger_event(at.file, at.trigger.index, &key),
                Ok(Some(_))
            ) {
                self.decided.insert(id);
                continue;
            }
            let slot = (at.file.to_string(), at.trigger.index, path.clone());
            present.insert(slot.clone());
            let seen = self.settling.get(&slot).copied();
            match loader::settle(None, seen, sig, false, now, wall) {
                Settle::Load => {
                    self.settling.remove(&slot);
                    out.push(Seen {
                        key,
                        detail: format!("file {}", path.display()),
                        source_run: None,
                        depth: 1,
                        values: Values::File { path },
                    });
                }
                _ => {
                    if seen.is_none_or(|(s, _)| s != sig) {
                        self.settling.insert(slot, (sig, now));
                    }
                }
            }
        }
        self.settling
            .retain(|k, _| k.0 != at.file || k.1 != at.trigger.index || present.contains(k));
        out
    }
}

/// Trigger `t` of `file` is served for the first time: the files already in its directory are
/// recorded `present` (no run): only what lands from now on is an event.
fn baseline(store: &mut Store, file: &str, t: &EventTrigger) {
    let EventSource::File { dir, .. } = &t.source else {
        return;
    };
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for e in read.filter_map(Result::ok).take(MAX_FILES_PER_SCAN) {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !t.source.matches_name(name) {
            continue;
        }
        let path = dir.join(name);
        let Some(sig) = loader::own_sig_of(&path) else {
            continue;
        };
        let key = file_key(&path, &sig);
        let detail = format!("file {}", path.display());
        let ev = TriggerEvent {
            file,
            index: t.index,
            key: &key,
            kind: "file",
            detail: &detail,
            source_run: None,
            depth: 1,
        };
        if let Err(e) = store.decide_trigger_event(&ev, "present", None) {
            crate::stdio::errln!("serve: cannot record {detail} as already there: {e}");
        }
    }
}

/// A cycle of `run_ended` triggers among the served workflows with `plan` served as
/// `file` (`A → B → A`), if one can be seen: the names around it.
pub(crate) fn cycle<'a>(
    entries: impl Iterator<Item = (&'a str, &'a baton_workflow::Plan)>,
    file: &str,
    plan: &baton_workflow::Plan,
) -> Option<Vec<String>> {
    // Who starts whom: workflow W's end starts each workflow with a trigger on W.
    let mut starts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |p: &baton_workflow::Plan| {
        for t in &p.triggers {
            if let EventSource::RunEnded { workflow, .. } = &t.source {
                starts
                    .entry(workflow.clone())
                    .or_default()
                    .push(p.name.clone());
            }
        }
    };
    for (f, p) in entries {
        if f != file {
            add(p);
        }
    }
    add(plan);
    // From `plan`, along "starts", back to `plan`.
    let mut path = vec![plan.name.clone()];
    let mut seen = HashSet::new();
    walk(&starts, &plan.name, &plan.name, &mut path, &mut seen).then_some(path)
}

fn walk(
    starts: &BTreeMap<String, Vec<String>>,
    from: &str,
    goal: &str,
    path: &mut Vec<String>,
    seen: &mut HashSet<String>,
) -> bool {
    for next in starts.get(from).into_iter().flatten() {
        path.push(next.clone());
        if next == goal {
            return true;
        }
        if seen.insert(next.clone()) && walk(starts, next, goal, path, seen) {
            return true;
        }
        path.pop();
    }
    false
}

/// Record the triggers of `plan`, served as `file` (a new one from `now`; the files
/// already in a new file trigger's directory recorded `present`).
pub(crate) fn serve(store: &mut Store, file: &str, plan: &baton_workflow::Plan, now: Timestamp) {
    let whats: Vec<String> = plan.triggers.iter().map(describe).collect();
    let served: Vec<ServedTrigger<'_>> = plan
        .triggers
        .iter()
        .zip(&whats)
        .map(|(t, what)| ServedTrigger {
            file,
            index: t.index,
            workflow: &plan.name,
            name: t.name.as_deref(),
            kind: t.source.kind(),
            what,
        })
        .collect();
    let new = match store.serve_triggers(file, &served, now) {
        Ok(n) => n,
        Err(e) => {
            crate::stdio::errln!("warning: cannot record the triggers of {file}: {e}");
            return;
        }
    };
    for t in plan.triggers.iter().filter(|t| new.contains(&t.index)) {
        baseline(store, file, t);
    }
}

/// What a trigger watches, as `baton triggers` shows it.
fn describe(t: &EventTrigger) -> String {
    match &t.source {
        EventSource::RunEnded { workflow, states } => {
            format!("a run of {workflow} ends {}", states.join("|"))
        }
        EventSource::File { dir, glob } => format!("a file {glob} settles in {}", dir.display()),
        EventSource::Webhook { secret } => format!("a webhook call signed with secret {secret}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workflow `name`, started when a run of each of `on` ends.
    fn plan(name: &str, on: &[&str]) -> baton_workflow::Plan {
        let mut text = format!("name = \"{name}\"\n[[step]]\nid = \"s\"\nrun = \"true\"\n");
        for w in on {
            text.push_str(&format!(
                "[[trigger]]\non = \"run_ended\"\nworkflow = \"{w}\"\n"
            ));
        }
        baton_workflow::load_str(&text, Path::new("/w/x.toml")).unwrap()
    }

    #[test]
    fn a_cycle_through_the_served_workflows_is_seen_and_a_chain_is_not() {
        let (a, b) = (plan("a", &["c"]), plan("b", &["a"]));
        let served = || [("/w/a.toml", &a), ("/w/b.toml", &b)].into_iter();
        // c's end starts a, a's b; c started by b closes the loop.
        let c = plan("c", &["b"]);
        assert_eq!(
            cycle(served(), "/w/c.toml", &c),
            Some(vec!["c".into(), "a".into(), "b".into(), "c".into()])
        );
        // Started by nothing served: a chain, no cycle.
        assert_eq!(cycle(served(), "/w/c.toml", &plan("c", &["x"])), None);
        // A file loaded again replaces its old self: b no longer on a, no cycle.
        let b2 = plan("b", &["x"]);
        assert_eq!(cycle(served(), "/w/b.toml", &b2), None);
    }
}
