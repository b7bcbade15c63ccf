//! Hold and release (issue 43): an operator pauses steps without failing or cancelling
//! anything. A step that has not started goes `held` (it takes no slot of
//! `max_parallel`, a pool or a group and does not start); a running one stays
//! `running`, frozen: the driver stops its process group (`Effect::Freeze`) and its
//! timeout's clock stops with it (`HoldRt::timeout_left`), until it is released.
use super::*;
use baton_model::{ReasonFor, Refusal};

/// A step's hold, folded from `StepHeld` (its view is `model::view::HoldView`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HoldRt {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
    pub frozen: bool,
    pub exhausted: bool,
    /// Frozen by the engine at a budget's ceiling (`decide/usage.rs`).
    pub budget: bool,
    /// A frozen step's timeout: what was left of it when it froze (its timer is off).
    pub timeout_left: Option<Duration>,
}

/// One hold as `hold_one` records it: who holds, why, until when, and for whom.
pub(crate) struct Hold<'a> {
    pub(crate) actor: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) until: Option<Timestamp>,
    pub(crate) what: HoldFor,
}

/// Who a hold is for: an operator's, retries that ran out (released, it fails), or
/// the budget's ceiling (a raise releases it: `decide/usage.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldFor {
    Operator,
    Exhausted,
    Budget,
}

/// What a hold asks of the steps it names.
pub(super) struct HoldAsk<'a> {
    pub steps: &'a [String],
    pub operator: &'a str,
    pub reason: &'a str,
    pub until: Option<Timestamp>,
    pub freeze: bool,
}

impl Core {
    /// Whether step `i` may be held now: `Ok(true)` it would be frozen (it runs).
    pub(super) fn can_hold(&self, i: usize) -> Result<bool, Refusal> {
        let s = &self.steps[i];
        if s.more.hold.is_some() {
            return Err(Refusal::AlreadyHeld { step: self.id(i) });
        }
        if s.state.is_unstarted() {
            return Ok(false);
        }
        if s.state != StepState::Running {
            return Err(Refusal::NotHoldable {
                step: self.id(i),
                state: s.state,
            });
        }
        self.can_freeze(i).map(|()| true)
    }

    /// A running step can be frozen when baton owns something it can stop: a local
    /// process group, a Slurm job or a process group on an SSH host (`kill -STOP` over
    /// ssh); never a built-in (it runs inside the engine), a service (the steps that
    /// need it would hang on it, and its probes would fail it) or a job of another
    /// batch system (its scheduler's suspend is not one baton knows).
    pub(super) fn can_freeze(&self, i: usize) -> Result<(), Refusal> {
        let step = &self.plan.steps[i];
        let why = if matches!(step.action, Action::Builtin(_)) {
            Some("a built-in runs inside the engine, not in a process of its own")
        } else if step.service.is_some() {
            Some("a service keeps running for the steps that need it")
        } else if self.steps[i].kill_sent {
            Some("it is being stopped")
        } else if self.executor_of(i).is_some_and(|e| {
            matches!(
                self.plan.executors.get(e).map(|x| &x.kind),
                Some(baton_workflow::ExecutorKind::Batch(_))
            )
        }) {
            Some("a job of a generic batch system cannot be suspended by baton")
        } else {
            None
        };
        match why {
            Some(why) => Err(Refusal::CannotFreeze {
                step: self.id(i),
                why: why.into(),
            }),
            None => Ok(()),
        }
    }

    /// `baton hold`: each named step, or (none named) every step that has not started
    /// and, with `freeze`, every running one that can be frozen.
    pub(super) fn on_hold(
        &mut self,
        ask: HoldAsk<'_>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        if ask.reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::Hold,
            });
        }
        if let Some(u) = ask.until
            && u <= now
        {
            return Err(Refusal::UntilPassed {
                until: u.to_rfc3339(),
            });
        }
        self.can_cancel().map_err(|_| Refusal::NotScheduling {
            state: self.run_state,
        })?;
        let targets: Vec<usize> = if ask.steps.is_empty() {
            (0..self.steps.len())
                .filter(|&i| match self.can_hold(i) {
                    Ok(frozen) => !frozen || ask.freeze,
                    Err(_) => false,
                })
                .collect()
        } else {
            let mut v = Vec::new();
            for s in ask.steps {
                let i = self.lookup(s)?;
                self.can_hold(i)?;
                if !v.contains(&i) {
                    v.push(i);
                }
            }
            v
        };
        if targets.is_empty() {
            return Err(Refusal::NothingToHold {
                what: "held".into(),
            });
        }
        let reason = self.mask(ask.reason);
        let (mut held, mut frozen) = (0, 0);
        for i in targets {
            let hold = Hold {
                actor: ask.operator,
                reason: &reason,
                until: ask.until,
                what: HoldFor::Operator,
            };
            if self.hold_one(i, hold, now, fx) {
                frozen += 1;
            } else {
                held += 1;
            }
        }
        Ok(format!(
            "held {held} step(s), froze {frozen} running step(s)"
        ))
    }

    /// Hold step `i` (checked by `can_hold`, or its retries ran out): whether it was
    /// frozen (it runs).
    pub(super) fn hold_one(
        &mut self,
        i: usize,
        hold: Hold<'_>,
        now: Timestamp,
        fx: &mut Fx,
    ) -> bool {
        let Hold {
            actor,
            reason,
            until,
            what,
        } = hold;
        let exhausted = what == HoldFor::Exhausted;
        // An attempt whose retries ran out has ended: it is held, not frozen.
        let frozen = !exhausted && self.steps[i].state == StepState::Running;
        let kind = EventKind::StepHeld {
            step: self.id(i),
            actor: actor.to_string(),
            reason: reason.to_string(),
            until,
            frozen,
            exhausted,
            budget: what == HoldFor::Budget,
        };
        self.emit(kind, now, fx);
        if frozen {
            fx.push(Effect::Freeze {
                step: i,
                attempt: self.steps[i].attempts,
            });
        } else {
            self.set(
                i,
                StepState::Held,
                Some(format!("held by {actor}: {reason}")),
                now,
                fx,
            );
        }
        frozen
    }

    /// `baton release`: each named step, or (none named) every held step.
    pub(super) fn on_release(
        &mut self,
        steps: &[String],
        operator: &str,
        reason: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        if reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired {
                to: ReasonFor::Release,
            });
        }
        let targets: Vec<usize> = if steps.is_empty() {
            (0..self.steps.len())
                .filter(|&i| self.steps[i].more.hold.is_some())
                .collect()
        } else {
            let mut v = Vec::new();
            for s in steps {
                let i = self.lookup(s)?;
                if self.steps[i].more.hold.is_none() {
                    return Err(Refusal::NotHeld { step: self.id(i) });
                }
                if !v.contains(&i) {
                    v.push(i);
                }
            }
            v
        };
        if targets.is_empty() {
            return Err(Refusal::NothingToHold {
                what: "released".into(),
            });
        }
        // An adopted frozen attempt whose exit could not be seen stays frozen: let run
        // untraced, it would run with nobody following it and end on record as failed.
        // Named, the release is refused; in a release of the whole run the others are
        // released and the answer says which stay frozen.
        let (kept, targets): (Vec<usize>, Vec<usize>) = targets
            .into_iter()
            .partition(|&i| self.untraced_why(i).is_some());
        let refuse = |i: usize| Refusal::TraceRefused {
            run: self.cfg.run_id.clone(),
            step: self.id(i),
            why: self.untraced_why(i).unwrap_or_default().to_string(),
        };
        if let Some(&i) = kept.first()
            && (!steps.is_empty() || targets.is_empty())
        {
            return Err(refuse(i));
        }
        let reason = self.mask(reason);
        let n = targets.len();
        for i in targets {
            self.release_one(i, operator, &reason, now, fx);
        }
        let mut answer = format!("released {n} step(s)");
        for i in kept {
            let why = self.untraced_why(i).unwrap_or_default();
            answer.push_str(&format!(
                "; `{}` stays frozen: tracing its process was refused ({why}), `baton cancel` stops it",
                self.id(i)
            ));
        }
        Ok(answer)
    }

    /// Why adopted step `i`'s current attempt could not be traced ahead of a release
    /// (`trace_refused`), while that attempt still runs frozen; none once it ended
    /// (killed, failed, a later attempt) or was let run.
    fn untraced_why(&self, i: usize) -> Option<&str> {
        let s = &self.steps[i];
        let frozen = s.more.hold.as_ref().is_some_and(|h| h.frozen);
        if s.state != StepState::Running || !frozen {
            return None;
        }
        self.untraced
            .iter()
            .find(|(step, attempt, _)| *step == i && *attempt == s.attempts)
            .map(|(_, _, why)| why.as_str())
    }

    /// The adopted frozen attempts (`adopt_frozen`) that `command` would let run: a
    /// `release` naming them, or one of the whole run. The driver has each traced
    /// before the core decides (`exec::adopt`: its exit is seen only so) and tells the
    /// core which could not be ([`Core::trace_refused`]).
    pub fn adopted_to_release(&self, command: &Command) -> Vec<(usize, u32)> {
        let Command::Release { steps, .. } = command else {
            return Vec::new();
        };
        let named = |i: usize| steps.is_empty() || steps.iter().any(|s| *s == self.id(i));
        self.adopted
            .iter()
            .copied()
            .filter(|&i| {
                let s = &self.steps[i];
                let frozen = s.more.hold.as_ref().is_some_and(|h| h.frozen);
                frozen && s.state == StepState::Running && named(i)
            })
            .map(|i| (i, self.steps[i].attempts))
            .collect()
    }

    /// What the driver found when it tried to trace adopted step `i`'s `attempt`
    /// ahead of a release: `why` the system refused, or none (it is traced). While
    /// that attempt runs frozen, a release naming it is refused (`trace_refused`) and
    /// one of the whole run leaves it frozen; a later attempt is not concerned.
    pub fn trace_refused(&mut self, i: usize, attempt: u32, why: Option<String>) {
        let steps = &self.steps;
        self.untraced
            .retain(|(s, a, _)| *s != i && steps[*s].attempts == *a);
        if let Some(why) = why {
            self.untraced.push((i, attempt, why));
        }
    }

    /// The driver could not carry out the thaw of adopted step `i`'s `attempt` (a
    /// release the core decided without the driver tracing it first: `--until`, a
    /// budget raised, a release taking the run over): tracing it was refused, nothing
    /// was sent to it, it is still frozen. It is held again on record, by the engine
    /// saying why, and a release of it is refused while it cannot be traced.
    pub(super) fn thaw_refused(
        &mut self,
        i: usize,
        attempt: u32,
        why: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let s = &self.steps[i];
        if s.state != StepState::Running || s.attempts != attempt || s.more.hold.is_some() {
            return;
        }
        self.trace_refused(i, attempt, Some(why.to_string()));
        let reason = format!(
            "its release was not carried out, it stays frozen: tracing its process was refused ({why})"
        );
        let hold = Hold {
            actor: baton_model::history::ENGINE,
            reason: &reason,
            until: None,
            what: HoldFor::Operator,
        };
        self.hold_one(i, hold, now, fx);
    }

    /// End step `i`'s hold: a frozen step runs on, a held one is evaluated again (its
    /// gate, if it was open, is asked again), and one held because its retries ran out
    /// fails as it would have.
    pub(super) fn release_one(
        &mut self,
        i: usize,
        actor: &str,
        reason: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let Some(hold) = self.steps[i].more.hold.clone() else {
            return;
        };
        let kind = EventKind::StepReleased {
            step: self.id(i),
            actor: actor.to_string(),
            reason: reason.to_string(),
        };
        self.emit(kind, now, fx);
        if hold.frozen {
            fx.push(Effect::Thaw {
                step: i,
                attempt: self.steps[i].attempts,
            });
            return;
        }
        if self.steps[i].state != StepState::Held {
            return;
        }
        if hold.exhausted {
            let why = format!(
                "released by {actor}: its retries had run out ({})",
                hold.reason
            );
            self.set(i, StepState::Failed, Some(why), now, fx);
        } else {
            let why = format!("released by {actor}: {reason}");
            self.set(i, StepState::Pending, Some(why), now, fx);
        }
    }

    /// `--until` passed: the engine releases the step (on record, as `engine`).
    pub(super) fn hold_expired(&mut self, i: usize, t: Timestamp, now: Timestamp, fx: &mut Fx) {
        if self.steps[i].more.hold.as_ref().and_then(|h| h.until) == Some(t) {
            let why = format!("the hold's time passed (until {})", t.to_rfc3339());
            self.release_one(i, baton_model::history::ENGINE, &why, now, fx);
        }
    }

    /// Fold `StepHeld`: the hold on record, a frozen step's timeout clock stopped.
    pub(crate) fn fold_held(&mut self, ev: &Event) {
        let EventKind::StepHeld {
            step,
            actor,
            reason,
            until,
            frozen,
            exhausted,
            budget,
        } = &ev.kind
        else {
            return;
        };
        let Some(i) = self.step_index(step) else {
            return;
        };
        let mut hold = HoldRt {
            by: actor.clone(),
            reason: reason.clone(),
            at: ev.at,
            until: *until,
            frozen: *frozen,
            exhausted: *exhausted,
            budget: *budget,
            timeout_left: None,
        };
        if hold.frozen {
            self.frozen += 1;
            let freeze = baton_model::timeline::Freeze {
                attempt: self.steps[i].attempts,
                from: ev.at,
                to: None,
            };
            self.steps[i].more.freezes.push(freeze);
            if let Some(t) = self.steps[i].timeout_at.take() {
                self.timers.remove(&(t, Timer::StepTimeout(i)));
                hold.timeout_left = Some(t.since(hold.at));
            }
        }
        if let Some(u) = hold.until {
            self.timers.insert((u, Timer::HoldUntil(i)));
        }
        self.steps[i].more.hold = Some(Box::new(hold));
    }

    /// Fold `StepReleased`.
    pub(crate) fn fold_step_released(&mut self, step: &str, at: Timestamp) {
        if let Some(i) = self.step_index(step) {
            self.fold_released(i, at);
        }
    }

    /// Step `i`'s hold is over (released, or what it was on ended): a frozen step's
    /// timeout runs again with what was left of it.
    pub(crate) fn fold_released(&mut self, i: usize, at: Timestamp) {
        let Some(hold) = self.steps[i].more.written().and_then(|m| m.hold.take()) else {
            return;
        };
        if let Some(u) = hold.until {
            self.timers.remove(&(u, Timer::HoldUntil(i)));
        }
        if hold.frozen {
            self.frozen -= 1;
            if let Some(f) = (self.steps[i].more.written()).and_then(|m| m.freezes.last_mut()) {
                f.to.get_or_insert(at);
            }
            if let Some(left) = hold.timeout_left
                && self.steps[i].state == StepState::Running
            {
                let due = at.add(left);
                self.steps[i].timeout_at = Some(due);
                self.timers.insert((due, Timer::StepTimeout(i)));
            }
        }
    }

    /// The hold as readers see it.
    pub(crate) fn hold_view(&self, i: usize) -> Option<Box<baton_model::view::HoldView>> {
        self.steps[i].more.hold.as_ref().map(|h| {
            Box::new(baton_model::view::HoldView {
                by: h.by.clone(),
                reason: h.reason.clone(),
                at: h.at,
                until: h.until,
                frozen: h.frozen,
                exhausted: h.exhausted,
                budget: h.budget,
            })
        })
    }
}
