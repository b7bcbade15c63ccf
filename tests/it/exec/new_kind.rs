//! Issue 54 point 3: an executor kind is a folder and a registration line. A fifth
//! kind, a fake back end that runs nothing, is registered here alone and runs a step
//! end to end through the engine: started by the driver, placed as a job, waited on,
//! its outputs handed by the core to the next step (a local one).
use baton::engine::{Core, RunConfig};
use baton::engine::{Driver, Sinks};
use baton::exec::{Attempt, Backend, BoxFuture, Freezing, KillHandle, Placement, Stop};
use baton::exec::{Backends, ExecError, Finished, KillReason, ShellJob, TailHandle};
use baton::model::{EventKind, RunState, StepOutcome, Timestamp, Usage};
use baton::store::{NewRun, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Takes every job it is given and says it succeeded, its command as its output `ran`.
#[derive(Debug, Default)]
struct Fake {
    /// (step, attempt, command) of each job started.
    started: Mutex<Vec<(String, u32, String)>>,
}

impl Backend for Fake {
    fn name(&self) -> &str {
        "fake"
    }

    fn start(
        self: Arc<Self>,
        job: ShellJob,
        _timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>> {
        let mut started = self.started.lock().unwrap();
        started.push((job.step_id.clone(), job.attempt, job.command.clone()));
        let attempt = FakeAttempt {
            job_id: format!("fake-{}", started.len()),
            command: job.command,
        };
        Box::pin(std::future::ready(
            Ok(Box::new(attempt) as Box<dyn Attempt>),
        ))
    }

    fn reattach(
        self: Arc<Self>,
        _job: ShellJob,
        job_id: &str,
        _frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        Err(ExecError::Spawn {
            message: format!("the fake back end follows no job ({job_id})"),
            log_path: None,
        })
    }
}

#[derive(Debug)]
struct FakeAttempt {
    job_id: String,
    command: String,
}

impl Attempt for FakeAttempt {
    fn placement(&self) -> Placement {
        Placement::Job {
            executor: "fake".into(),
            job_id: self.job_id.clone(),
        }
    }

    fn kill_handle(&self) -> KillHandle {
        KillHandle::new(Arc::new(FakeStop))
    }

    fn tail(&self) -> TailHandle {
        TailHandle::default()
    }

    fn wait(self: Box<Self>) -> BoxFuture<Finished> {
        Box::pin(std::future::ready(Finished {
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 1,
            outputs: vec![("ran".into(), self.command)],
            usage: Usage::default(),
            stderr_tail: String::new(),
            log_path: None,
            output_errors: Vec::new(),
            cut_output: None,
            log_errors: Vec::new(),
        }))
    }
}

/// Its jobs end at once: nothing to stop or freeze.
#[derive(Debug)]
struct FakeStop;

impl Stop for FakeStop {
    fn terminate(&self, _grace: Duration, _reason: KillReason) {}

    fn freeze(&self, _stop: bool) -> Freezing {
        Freezing::Done(Ok(()))
    }
}

#[test]
fn a_fifth_kind_registered_in_one_line_runs_a_step_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.txt");
    let wf = format!(
        r#"name = "fake-kind"

[executors.fake]
type = "local"

[[step]]
id = "brew"
executor = "fake"
run = "make tea"
outputs = {{ ran = {{}} }}

[[step]]
id = "pour"
needs = ["brew"]
run = 'printf %s "$GOT" > "$OUT"'
env = {{ GOT = "${{{{ steps.brew.outputs.ran }}}}", OUT = "{out}" }}
"#,
        out = out.display()
    );
    let path = dir.path().join("fake.toml");
    std::fs::write(&path, &wf).unwrap();
    let plan = Arc::new(baton::workflow::load_file(&path).expect("a valid workflow"));

    let fake = Arc::new(Fake::default());
    let registered = Arc::clone(&fake);
    // The registration: the executor named `fake` is this kind's.
    let backends = Backends::builtin().with(move |spec, _| {
        (spec.name == "fake").then(|| Arc::clone(&registered) as Arc<dyn Backend>)
    });

    let mut store = Store::open(&dir.path().join("b.db")).unwrap();
    let run_id = ulid::Ulid::new().to_string().to_lowercase();
    store
        .create_run(&NewRun {
            id: run_id.clone(),
            workflow: plan.name.clone(),
            source_path: path.clone(),
            source_text: wf.clone(),
            params_json: "{}".into(),
            operator: "test".into(),
            started_at: Timestamp::now(),
            parent: None,
            steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
        })
        .unwrap();
    let cfg = RunConfig {
        run_id: run_id.clone(),
        operator: "test".into(),
        params: Default::default(),
        secret_values: vec![],
        seed: 1,
        auto_approve: false,
        max_parallel: None,
        no_cache: false,
        slot: None,
        store: Some(store.path().to_path_buf()),
        workflow_hash: None,
        zone: None,
        parent: None,
    };
    let mut core = Core::new(plan, cfg);
    let initial = core.start(Timestamp::now());
    let db = store.path().to_path_buf();
    // An engine drives a run it holds the lease of (its writes are fenced by it).
    let mut store = store;
    store
        .acquire_lease(&run_id, "test", Timestamp::now(), baton::model::LEASE_STALE)
        .unwrap();
    let mut driver = Driver::new(core, store, run_id.clone(), "test".into(), Sinks::default());
    driver.use_backends(&backends);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let done = rt
        .block_on(driver.run(initial, std::future::pending()))
        .unwrap();

    assert_eq!(done.state, RunState::Succeeded);
    assert_eq!(
        *fake.started.lock().unwrap(),
        [("brew".to_string(), 1, "make tea".to_string())],
        "the fake kind ran the step it was given, once"
    );
    // Its placement is on record as the fake's job (what resume would re-attach).
    let events = Store::open_existing(&db).unwrap().events(&run_id).unwrap();
    let jobs: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepJob {
                step,
                executor,
                job_id,
                ..
            } => Some((step.as_str(), executor.as_str(), job_id.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(jobs, [("brew", "fake", "fake-1")]);
    // The local step after it got the fake job's output from the core.
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "make tea");
}
