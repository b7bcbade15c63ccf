//! The serve's look at its `[[trigger]]`s' events, twice a second: each served
//! `run_ended` trigger's runs ended since it was first served and not yet decided, each
//! `file` trigger's settled files; each made into its run by `events::fire_event`, or
//! held pending for its burst (`bursts`) when its trigger coalesces or debounces.
pub(super) mod bursts;

use super::catalog::Catalog;
use super::events::{self, At, Files, Fire, Seen};
use super::shown;
use super::{ServeOptions, Starting, firing};
use crate::concurrency::{Admission, Admitted, Group};
use baton_model::Timestamp;
use baton_store::Store;
use baton_workflow::EventSource;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often the events are looked for.
const LOOK: Duration = Duration::from_millis(500);

#[derive(Default)]
pub(super) struct Watch {
    files: Files,
    last: Option<Instant>,
}

type FollowUps = Vec<(Group, Admitted, String)>;

impl Watch {
    /// Fire every event due (at most once per [`LOOK`]).
    pub(super) async fn tick(
        &mut self,
        store: &mut Store,
        catalog: &Catalog,
        opts: &ServeOptions,
        starting: &mut Starting<'_>,
    ) {
        if self.last.is_some_and(|l| l.elapsed() < LOOK) {
            return;
        }
        self.last = Some(Instant::now());
        if !catalog
            .entries
            .values()
            .any(|e| !e.plan.triggers.is_empty())
        {
            return;
        }
        let since: HashMap<(String, u32), Timestamp> = match store.triggers(0) {
            Ok(rows) => rows
                .into_iter()
                .map(|r| ((r.file, r.index), r.since))
                .collect(),
            Err(e) => {
                crate::stdio::errln!("serve: cannot read the triggers: {e}");
                return;
            }
        };
        let mut follow = Vec::new();
        for (file, entry) in &catalog.entries {
            for t in &entry.plan.triggers {
                let Some(since) = since.get(&(file.clone(), t.index)) else {
                    continue;
                };
                let at = At {
                    file,
                    entry,
                    trigger: t,
                };
                let seen: Vec<(Seen, Option<String>)> = match &t.source {
                    EventSource::RunEnded { .. } => {
                        events::ended_runs(store, at, *since, &opts.operator)
                            .unwrap_or_else(|e| {
                                crate::stdio::errln!("serve: trigger {}: {e}", name(at));
                                Vec::new()
                            })
                            .into_iter()
                            .map(|e| (e.seen, e.unproven))
                            .collect()
                    }
                    EventSource::File { .. } => self
                        .files
                        .settled(store, at)
                        .into_iter()
                        .map(|s| (s, None))
                        .collect(),
                    EventSource::Webhook { .. } => Vec::new(),
                };
                for (s, unproven) in &seen {
                    let fired = match unproven {
                        Some(why) => events::refuse_event(store, at, s, why),
                        None if t.burst.holds() => {
                            held(bursts::hold(store, at, s, None), at, s);
                            continue;
                        }
                        None => events::fire_event(store, at, s, &opts.operator),
                    };
                    fire_one(fired, at, &s.detail, (opts, &mut *starting), &mut follow);
                }
                if t.burst.holds() {
                    match bursts::due(store, at, &opts.operator, Timestamp::now()) {
                        Ok(fired) => {
                            for (f, said) in fired {
                                fire_one(Ok(f), at, &said, (opts, &mut *starting), &mut follow);
                            }
                        }
                        Err(e) => crate::stdio::errln!(
                            "serve: trigger {}: its pending events: {e} (tried again)",
                            name(at)
                        ),
                    }
                }
            }
        }
        if !follow.is_empty() {
            // Not awaited, as a slot's: a cancel they send may wait for an engine.
            tokio::spawn(firing::follow_ups(
                opts.db.clone(),
                opts.operator.clone(),
                follow,
            ));
        }
    }
}

/// `WORKFLOW#N`, or the trigger's name.
fn name(at: At<'_>) -> String {
    match &at.trigger.name {
        Some(n) => format!("{}#{n}", at.entry.plan.name),
        None => format!("{}#{}", at.entry.plan.name, at.trigger.index),
    }
}

/// An event held for its trigger's burst (`held`), said on stderr.
fn held(held: Result<bursts::Held, crate::SessionError>, at: At<'_>, s: &Seen) {
    let detail = shown(&s.detail);
    match held {
        Ok(bursts::Held::Pending) => {
            crate::stdio::errln!("serve: trigger {}: {detail} is pending", name(at))
        }
        Ok(bursts::Held::Already(row)) => crate::stdio::errln!(
            "serve: trigger {}: {detail} was decided already ({})",
            name(at),
            row.fate
        ),
        Ok(bursts::Held::Refused(why) | bursts::Held::Full(why)) => crate::stdio::errln!(
            "serve: trigger {}: {detail} made no run: {}",
            name(at),
            shown(&why)
        ),
        Err(e) => crate::stdio::errln!("serve: trigger {}: {detail}: {e} (tried again)", name(at)),
    }
}

/// One event (or a burst: `detail` names its events) made into its run (`fired`),
/// driven here; what it became said on stderr.
fn fire_one(
    fired: Result<Fire, crate::SessionError>,
    at: At<'_>,
    detail: &str,
    (opts, starting): (&ServeOptions, &mut Starting<'_>),
    follow: &mut FollowUps,
) {
    let detail = shown(detail);
    match fired {
        Ok(Fire::Made { ready, fate, group }) => {
            let run_id = ready.run_id.clone();
            crate::stdio::errln!(
                "serve: trigger {}: {} {fate} run {run_id}",
                name(at),
                detail
            );
            // The run is recorded with its lease: undriven here, the next serve
            // takes it over.
            match Store::open(&opts.db) {
                Ok(own) => starting.host(own, ready),
                Err(e) => crate::stdio::errln!("serve: cannot drive run {run_id}: {e}"),
            }
            if let Some((g, a)) = group
                && (!a.replaced.is_empty() || matches!(a.admission, Admission::Superseding { .. }))
            {
                follow.push((g, a, run_id));
            }
        }
        Ok(Fire::Already(row)) => crate::stdio::errln!(
            "serve: trigger {}: {} was decided already ({}{})",
            name(at),
            detail,
            row.fate,
            row.run_id.map(|r| format!(" run {r}")).unwrap_or_default()
        ),
        Ok(Fire::Refused { why, .. }) => {
            crate::stdio::errln!(
                "serve: trigger {}: {} made no run: {}",
                name(at),
                detail,
                shown(&why)
            );
        }
        Err(e) => {
            crate::stdio::errln!("serve: trigger {}: {}: {e} (tried again)", name(at), detail)
        }
    }
}
