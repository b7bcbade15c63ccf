//! A step's transition and all the counters, queues and timers that follow from it.
use super::*;

impl Core {
    /// Step `i` moves from its state to `new` (attempt `attempt`, at `at`).
    pub(super) fn set_state(&mut self, i: usize, new: StepState, attempt: u32, at: Timestamp) {
        let old = self.steps[i].state;
        self.fan_moved(i, old, new);
        self.counts[si(old)] -= 1;
        self.counts[si(new)] += 1;
        self.steps[i].state = new;
        if self.keep_history {
            let t = baton_model::timeline::Transition {
                state: new,
                attempt,
                at,
            };
            self.steps[i].history.push(t);
        }
        self.leave(i, old, new, at);
        self.enter(i, new, attempt, at);
        if let Some(failed) = baton_model::signals::attempt_end(old, new) {
            self.attempts_finished += 1;
            self.attempts_failed += u64::from(failed);
        }
        if new.is_final() {
            self.steps[i].finished_at = Some(at);
        }
        self.watch_step(i, new, at);
        // A reused step's work was its old run's: a fork does not undo it.
        if new == StepState::Succeeded
            && old != StepState::Succeeded
            && self.steps[i].more.reused.is_none()
        {
            self.completion.push(i);
        }
        self.count_settled(i, old, new);
    }

    /// What step `i`'s old state held (a lane's slot, timers, a slot asked for, a
    /// hold) it gives up on moving to `new`.
    fn leave(&mut self, i: usize, old: StepState, new: StepState, at: Timestamp) {
        let lane = self.lane_of(i);
        match old {
            StepState::Running => {
                self.lanes[lane].running -= 1;
                if let Some(t) = self.steps[i].timeout_at.take() {
                    self.timers.remove(&(t, Timer::StepTimeout(i)));
                }
                self.steps[i].kill_sent = false;
            }
            StepState::RetryWait => {
                if let Some(t) = self.steps[i].retry_at.take() {
                    self.timers.remove(&(t, Timer::Retry(i)));
                }
            }
            StepState::WaitingApproval => self.remove_gate_timers(i),
            StepState::Ready => self.steps[i].kill_sent = false,
            // A slot is for the attempt it was asked for.
            StepState::Queued => {
                self.steps[i].slot = SlotRt::Idle;
                if let Some(m) = self.steps[i].more.written() {
                    m.slot_wait = None;
                }
            }
            StepState::Pending
            | StepState::Succeeded
            | StepState::Failed
            | StepState::Skipped
            | StepState::UpstreamFailed
            | StepState::Rejected
            | StepState::Cancelled
            | StepState::Interrupted
            | StepState::Compensating
            | StepState::Compensated
            | StepState::CompensationFailed
            | StepState::Held => {}
        }
        // What a hold was on is over: a frozen attempt ended, a held step moved on
        // (released, retried, marked, cancelled).
        let frozen = self.steps[i].more.hold.as_ref().is_some_and(|h| h.frozen);
        if (old == StepState::Running && frozen) || old == StepState::Held {
            self.fold_released(i, at);
        }
        if old.has_process() && !new.has_process() {
            self.probe_timer(i, None);
        }
        if old.has_process() && new != StepState::Running {
            self.ready_deadline(i, None);
        }
    }

    /// What step `i` takes on entering `new`: a queue ticket, a lane's slot and a
    /// fresh attempt, another look at its rule.
    fn enter(&mut self, i: usize, new: StepState, attempt: u32, at: Timestamp) {
        match new {
            StepState::Queued => {
                let lane = self.lane_of(i);
                self.next_ticket += 1;
                let t = self.next_ticket;
                self.steps[i].queue_ticket = t;
                self.steps[i].queued_at = Some(at);
                self.lanes[lane].queue.push_back((t, i));
            }
            StepState::Running => self.start_attempt(i, attempt, at),
            StepState::Pending => {
                self.steps[i].finished_at = None;
                if self.steps[i].unsettled_needs == 0 {
                    self.to_eval.push_back(i);
                }
            }
            StepState::WaitingApproval
            | StepState::Ready
            | StepState::RetryWait
            | StepState::Succeeded
            | StepState::Failed
            | StepState::Skipped
            | StepState::UpstreamFailed
            | StepState::Rejected
            | StepState::Cancelled
            | StepState::Interrupted
            | StepState::Compensating
            | StepState::Compensated
            | StepState::CompensationFailed
            | StepState::Held => {}
        }
    }

    /// Step `i` starts attempt `attempt`: the lane's slot and rate, the call and cost
    /// counted, what the last attempt left cleared, its timeout and readiness clocks.
    fn start_attempt(&mut self, i: usize, attempt: u32, at: Timestamp) {
        let lane = self.lane_of(i);
        self.lanes[lane].running += 1;
        if let Some(b) = self.lanes[lane].bucket.as_mut() {
            b.take(at);
        }
        let step = &self.plan.steps[i];
        self.used_calls += 1;
        self.used_cost += step.cost;
        let s = &mut self.steps[i];
        s.attempts = attempt;
        s.started_at = Some(at);
        s.finished_at = None;
        s.exit_code = None;
        s.signal = None;
        s.timed_out = false;
        s.duration_ms = None;
        s.kill_sent = false;
        s.reattached = false;
        s.timeout_kill = false;
        s.pgid = None;
        if let Some(m) = s.more.written() {
            m.job = None;
            m.cached_from = None;
            m.reused = None;
            m.usage = None;
        }
        if let Some(t) = step.alternative(s.alternative).timeout {
            let d = at.add(t);
            s.timeout_at = Some(d);
            self.timers.insert((d, Timer::StepTimeout(i)));
        }
        let service = step
            .service
            .as_ref()
            .map(|sv| sv.ready.as_ref().map(|r| at.add(r.timeout)));
        if let Some(deadline) = service {
            self.steps[i].service = Sparse::default();
            self.ready_deadline(i, deadline);
        }
    }

    /// The run's count of unsettled steps, and the dependants' counts of unsettled
    /// needs, after step `i` moved from `old` to `new`.
    fn count_settled(&mut self, i: usize, old: StepState, new: StepState) {
        let (was, is) = (settled(old), settled(new));
        if was != is {
            if is {
                self.unsettled -= 1;
            } else {
                self.unsettled += 1;
            }
        }
        // A ready service lets its dependants start while it still runs.
        let (was, is) = (available(old), available(new));
        if was == is {
            return;
        }
        for k in 0..self.dependants[i].len() {
            let d = self.dependants[i][k];
            if !is {
                self.steps[d].unsettled_needs += 1;
                continue;
            }
            self.steps[d].unsettled_needs -= 1;
            // A rule that one need can decide looks at once (`one_failed`
            // fires on the first failure); others when every need settled.
            let look = self.steps[d].unsettled_needs == 0
                || self.plan.steps[d].when.decides_early(new.satisfies_needs());
            if look && self.steps[d].state == StepState::Pending {
                self.to_eval.push_back(d);
            }
        }
    }
}
