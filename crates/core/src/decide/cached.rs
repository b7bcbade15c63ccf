//! Cached steps: which attempts ask the cache first, and what a hit decides. The key and
//! the hit/miss decision itself are `engine::cache`'s; the driver does the file work.
use super::*;

impl Core {
    /// The cache request of an attempt about to start, if the step is cached; under
    /// `--no-cache` the cache is not consulted. A gate has already been passed: it asks
    /// on every run, before the cache.
    pub(super) fn cache_request(&self, i: usize, action: String) -> Option<CacheRequest> {
        let spec = self.plan.steps[i].cache.as_ref()?;
        Some(CacheRequest {
            workflow: self.plan.name.clone(),
            action,
            spec: baton_workflow::CacheSpec::clone(spec),
            consult: !self.cfg.no_cache,
        })
    }

    /// The cache answered the attempt: record where from, then finish it as a success
    /// with the cached outputs (checked against `outputs` like any exit's).
    pub(super) fn on_cache_hit(&mut self, hit: CacheHit, now: Timestamp, fx: &mut Fx) {
        let CacheHit {
            step: i,
            attempt,
            from_run,
            key,
            outputs,
            restored,
            artifacts,
        } = hit;
        let Some(s) = self.steps.get(i) else {
            return;
        };
        if s.state != StepState::Running || s.attempts != attempt {
            return;
        }
        let kind = EventKind::StepCached {
            step: self.id(i),
            attempt,
            from_run,
            key,
            restored,
        };
        self.emit(kind, now, fx);
        // Its artifacts are the cached run's, on record before its exit: the exit
        // then finds them kept for this attempt and collects nothing (`collect`).
        if !artifacts.is_empty() {
            let kind = EventKind::ArtifactsStored {
                step: self.id(i),
                attempt,
                artifacts,
            };
            self.emit(kind, now, fx);
        }
        let ok = StepOutcome::Exited { exit_code: 0 };
        let exit = StepExit {
            step: i,
            attempt,
            outcome: ok,
            duration_ms: 0,
            outputs,
            usage: Usage::default(),
            stderr_tail: String::new(),
        };
        self.on_exit(exit, now, fx);
    }
}
