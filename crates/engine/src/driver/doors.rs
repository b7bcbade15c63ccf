//! The driver's doors of the one wake-up (`crate::wake`): the wall clock, its commit
//! (with the logs and the facts that waited for it), a kill -9 where the fault door
//! (`baton_model::faults`: `BATON_FAILPOINT`) says, and the real executors.
use super::*;
use crate::wake::{self, Moment};

impl wake::Engine for Driver {
    type Error = DriverError;

    fn run(&mut self) -> Result<wake::Run<'_>, DriverError> {
        Ok(wake::Run {
            store: &mut self.store,
            run_id: &self.run_id,
            core: &mut self.core,
        })
    }

    fn now(&mut self) -> Timestamp {
        Timestamp::now()
    }

    fn verdict(&mut self, id: i64, outcome: CommandOutcome) {
        self.verdicts.push((id, outcome));
    }

    fn has_verdicts(&self) -> bool {
        !self.verdicts.is_empty()
    }

    fn commit(&mut self, events: &mut Vec<Event>) -> Result<(), DriverError> {
        Driver::commit(self, events)
    }

    /// At most `COMMIT_WAIT` later, and only the way of idempotent plain steps to
    /// success (`deferred::Durable::may_wait`), in a batch of bounded size.
    fn defer(&mut self, events: &mut Vec<Event>) -> bool {
        if self.unsaved.len() + events.len() >= wake::COMMIT_MAX_EVENTS
            || !self.durable.may_wait(self.core.plan(), events)
        {
            return false;
        }
        if !events.is_empty() && self.unsaved_since.is_none() {
            self.unsaved_since = Some(Instant::now());
        }
        self.unsaved.append(events);
        true
    }

    /// The crash tests' kill -9 (`BATON_FAILPOINT`), nothing cleaned up.
    fn die(&mut self, _moment: Moment<'_>) -> DriverError {
        exec::failpoint::kill_self()
    }

    fn kill_stale(&mut self, pgids: &[i32]) {
        kill_stale(&self.run_id, pgids);
    }

    fn act(&mut self, action: Effect) -> Result<(), DriverError> {
        Driver::act(self, action)
    }
}

/// The driver's gathering: the store looked at on its poll (`looking`), what its inbox,
/// timers and console handed in since (`brought`).
impl wake::Gather for Driver {
    fn looks(&self) -> bool {
        self.looking
    }

    fn claim(&mut self) -> Result<Vec<Input>, DriverError> {
        let mut inputs = Vec::new();
        self.poll_commands(&mut inputs)?;
        Ok(inputs)
    }

    fn waiting_slots(&mut self) -> Option<&mut Vec<baton_core::SlotRequest>> {
        Some(&mut self.slot_asks)
    }

    fn brought(&mut self) -> Vec<Input> {
        std::mem::take(&mut self.brought)
    }
}

/// The driver's hands: the plan's real executors, its live attempts, its store.
impl wake::Hands for Driver {
    type Error = DriverError;

    fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    fn since_fenced(&mut self) -> u64 {
        u64::try_from(self.fenced_at.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn check_fence(&mut self) -> Result<(), DriverError> {
        self.store.check_fence(&self.run_id)?;
        self.fenced();
        Ok(())
    }

    fn spawn(&mut self, spec: SpawnSpec, compensation: bool) -> Result<(), DriverError> {
        if !compensation && spec.cache.is_some() {
            self.consult_cache(spec);
        } else {
            Driver::spawn(self, spec, compensation, None);
        }
        Ok(())
    }

    fn reattach(&mut self, spec: SpawnSpec, job: wake::Reattach) -> Result<(), DriverError> {
        Driver::spawn(self, spec, false, Some(job));
        Ok(())
    }

    fn kill(&mut self, step: usize, attempt: u32) -> Result<(), DriverError> {
        self.kill_live(step, attempt);
        Ok(())
    }

    fn cancel_job(&mut self, executor: String, job_id: String) {
        Driver::cancel_job(self, &executor, &job_id);
    }

    fn hold(&mut self, step: usize, attempt: u32, frozen: bool) {
        self.hold_live((step, attempt), frozen);
    }

    fn probe(&mut self, req: baton_core::ProbeRequest) {
        Driver::probe(self, req);
    }

    fn collect(&mut self, req: baton_core::CollectRequest) {
        Driver::collect(self, req);
    }

    fn slot_asks(&mut self) -> Option<&mut Vec<baton_core::SlotRequest>> {
        Some(&mut self.slot_asks)
    }

    fn reply(&mut self, id: i64, outcome: CommandOutcome) {
        if let Some(reply) = self.console_replies.remove(&id) {
            let _ = reply.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::RunConfig;

    /// The driver's wake-ups are the one wake-up's (`wake::execute`), as the
    /// simulator's are (`crates/sim/tests/seams.rs`): neither has a copy of its own.
    #[test]
    fn the_driver_wakes_up_through_the_one_wake_up() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "name = \"t\"\n[[step]]\nid = \"a\"\nuses = \"builtin.noop\"\n\
                    [[step]]\nid = \"b\"\nrun = \"true\"\nneeds = [\"a\"]\n";
        // An engine drives a run it holds the lease of (its writes are fenced).
        let (store, plan) = crate::held_run::held_run(dir.path(), toml);
        let cfg = RunConfig {
            run_id: "r1".into(),
            operator: "tester".into(),
            store: Some(store.path().to_path_buf()),
            ..RunConfig::default()
        };
        let mut core = Core::new(plan, cfg);
        let initial = core.start(Timestamp::now());
        let driver = Driver::new(core, store, "r1".into(), "tester".into(), Sinks::default());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let before = wake::wake_ups_here();
        let whole = wake::woken_up_here();
        wake::path::trace(true);
        let out = rt
            .block_on(driver.run(initial, std::future::pending()))
            .unwrap();
        // Its path through the wake-up's pieces is the one order the simulator's
        // engines are held to (`crates/sim/tests/seams.rs`), from its start on.
        let path = wake::path::trace(false);
        assert_eq!(wake::path::check(&path), Ok(()), "{path:?}");
        assert_eq!(path.first(), Some(&wake::path::Piece::Start), "{path:?}");
        assert_eq!(out.state, RunState::Succeeded);
        assert!(
            wake::wake_ups_here() > before,
            "the driver woke up elsewhere"
        );
        // Its loop's wake-ups (b's process started and ended) gather, decide and
        // commit through `wake::wake_up`.
        assert!(
            wake::woken_up_here() > whole,
            "the driver gathered elsewhere"
        );
    }
}
