//! The `baton run` (`baton fork`) process of a scenario: its run's id and seed, the
//! session's own new run and admission (`session::concurrency`), the cancels it hands
//! in, and the racy-admission bug put back (`Bug::RacyAdmission`).
use crate::SimError;
use crate::world::World;

/// The id of the `n`th run a scenario starts.
pub(crate) fn run_id(n: u32) -> String {
    format!("r{n:03}")
}

/// The events among a core's effects, and the rest: the session's own split of a
/// new run's first effects.
pub(crate) use baton_session::split_persisted as split;

impl World {
    /// A new run of workflow `w` made by engine `e` (`baton run`): in its concurrency
    /// group as the store decides in one transaction, or plainly. `racy`: the group's
    /// holder as read before the burst ([`Bug::RacyAdmission`]).
    pub(crate) fn start_run(
        &mut self,
        e: usize,
        w: usize,
        racy: Option<&Option<String>>,
        fork: Option<&baton_core::ForkPlan>,
    ) -> Result<(), SimError> {
        // `baton run` (or `baton fork`) is a new process: never a stopped one.
        let Some(e) = self.awake(e) else {
            return Ok(());
        };
        self.steps += 1;
        self.next_run += 1;
        let run_id = run_id(self.next_run);
        // Its engine's account (`--mix accounts`: a member's engine starts its runs).
        let spec = baton_session::NewRunSpec {
            workflow: self.workflows[w].path.clone(),
            operator: self.engine_user(e),
            ..Default::default()
        };
        // The session's own new run (`baton run`'s), its id and seed the scenario's.
        let mut loaded = baton_session::load_new(spec)?;
        crate::faults::next_run(&run_id, self.config.seed ^ u64::from(self.next_run));
        // The bug put back: the group read free before the burst, the run made plainly.
        if matches!(racy, Some(None)) {
            std::sync::Arc::make_mut(&mut loaded.plan).concurrency = None;
        }
        let engine = &mut self.engines[e];
        let holder = engine.holder();
        // Every decision `baton run` (`baton fork`) makes, through the one session
        // entry; only the waiting for the answers of the cancels it asks is this world's.
        let baton_session::Admitting {
            made,
            replaced,
            asks,
        } = baton_session::admit_run(&mut engine.store, loaded, &holder, fork)?;
        let said = made
            .admitted
            .as_ref()
            .map_or("started".into(), |(_, a)| format!("{a:?}"));
        let (core, rest) = (made.ready.core, made.ready.initial);
        engine.take(&run_id, core, (self.now, self.config.bug));
        self.runs.push((run_id.clone(), w));
        self.history.push(format!(
            "  {run_id} ({}) by engine {e}: {said}, replacing {replaced:?}",
            self.workflows[w].name
        ));
        // Handed in as `baton run` hands them in, their verdicts given later by this
        // world's engines (`baton run` waits up to 10 s of real time for each:
        // `session::concurrency::follow_through`).
        if self.cli_cut() {
            self.cli_cancels(e, asks);
        } else {
            for (old, cancel) in asks {
                self.hand_in_ask(e, &old, &cancel)?;
            }
        }
        self.start_driving(e, &run_id, rest, (None, "first commit"))
            .map(drop)
    }

    /// One cancel a new run's admission asks, handed in by engine `e`'s `baton run`
    /// through the session's one decision (`session::concurrency::hand_in_ask`): a row
    /// for the live engine that drives `run`, else recorded for its next engine. Only
    /// when its answer comes is this world's: its verdict is read later.
    pub(crate) fn hand_in_ask(
        &mut self,
        e: usize,
        run: &str,
        cancel: &baton_model::Command,
    ) -> Result<(), SimError> {
        use baton_session::command::HandedIn;
        let name = crate::operator::command_name(cancel);
        let said = match baton_session::hand_in_ask(&mut self.engines[e].store, run, cancel) {
            Ok(Some(HandedIn::ForEngine { id, .. })) => {
                self.pending.push((id, format!("{name} on {run}")));
                format!("row #{id} for its engine")
            }
            Ok(Some(HandedIn::Recorded { id })) => {
                self.pending.push((id, format!("{name} on {run}")));
                format!("row #{id} recorded for its next engine")
            }
            Ok(Some(HandedIn::Labelled(outcome))) => format!("{outcome:?}"),
            Ok(None) => "refused".into(),
            // A rewritten record (`--mix rewrites`, `accounts`): refused, not obeyed.
            Err(err) if self.refused_as_rewritten(run, &err) => {
                crate::operator::session_refusal(&err)
            }
            Err(err) => return Err(err.into()),
        };
        self.history.push(format!("  {name} on {run}: {said}"));
        Ok(())
    }
}
