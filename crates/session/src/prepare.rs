//! Runs made ready to drive: a new run from a workflow file (every input validated
//! before anything is written), or a recorded run rebuilt from its events. The one
//! place a `RunConfig` is built.
use super::SessionError;
use baton_core::{Core, Effect, RunConfig};
use baton_model::mask::{MASK, Masker};
use baton_model::{Event, Timestamp};
use baton_store::{LeaseOutcome, NewRun, RunRecord, Store, StoreError};
use baton_workflow::{self as workflow, Plan};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a new run is asked for.
#[derive(Debug, Clone, Default)]
pub struct NewRunSpec {
    pub workflow: PathBuf,
    pub params: Vec<(String, String)>,
    pub max_parallel: Option<u32>,
    pub auto_approve: bool,
    pub operator: String,
    /// `--no-cache`: cached steps run all the same (their cache entries are refreshed).
    pub no_cache: bool,
    /// The schedule's slot (or trigger's time) `baton serve` starts the run for.
    pub slot: Option<Timestamp>,
    /// A child run's parent step (`baton run --parent`, `child.rs`): recorded with the run.
    pub parent: Option<baton_model::view::ParentLink>,
    /// The schedule's time zone (an IANA name), which its deadlines' `at` are read in;
    /// `None`: the local one.
    pub zone: Option<String>,
    /// Labels the run starts with (`--label`, the run form, a schedule's `labels`),
    /// each checked by `model::labels` before the run is made.
    pub labels: BTreeMap<String, String>,
}

/// A workflow loaded and its params resolved: nothing is written yet.
pub struct Loaded {
    pub spec: NewRunSpec,
    pub plan: Arc<Plan>,
    pub params: BTreeMap<String, String>,
    pub(super) source_text: String,
}

/// A run with its lease held by this process, ready for a driver.
pub struct Ready {
    pub run_id: String,
    pub workflow: String,
    pub core: Core,
    pub initial: Vec<Effect>,
    /// Events already committed (with the run's creation), for the headless lines.
    pub committed: Vec<Event>,
    /// A dead engine drove it last: its leftover processes are stopped before driving.
    pub stale: bool,
}

/// Load and check everything a new run needs, before the store is touched: a bad
/// workflow or `--param` leaves nothing behind.
pub fn load_new(spec: NewRunSpec) -> Result<Loaded, SessionError> {
    // Read once, bounded: the text checked is the text recorded.
    let source_text = workflow::read_source(&spec.workflow)
        .map_err(|d| SessionError::Diagnostics(d.to_string()))?;
    load_text(spec, source_text)
}

/// [`load_new`] from a text already read (`baton serve` starts a run with the text it
/// serves, which a file that no longer loads has not replaced).
pub(crate) fn load_text(spec: NewRunSpec, source_text: String) -> Result<Loaded, SessionError> {
    let plan = workflow::load_str(&source_text, &spec.workflow)
        .map(Arc::new)
        .map_err(|d| SessionError::Diagnostics(d.to_string()))?;
    give_back_freed_memory();
    load_plan(spec, plan, source_text)
}

/// [`load_text`] of a text already loaded into `plan` (`baton serve` keeps each served
/// file's plan: a slot's run is not parsed again).
pub fn load_plan(
    spec: NewRunSpec,
    plan: Arc<Plan>,
    source_text: String,
) -> Result<Loaded, SessionError> {
    let params = workflow::resolve_params(&plan, &spec.params).map_err(params_error)?;
    check_secrets_set(&plan, |n| std::env::var_os(n))?;
    for (k, v) in &spec.labels {
        baton_model::labels::check(k, v).map_err(|e| SessionError::Usage(e.to_string()))?;
    }
    Ok(Loaded {
        spec,
        plan,
        params,
        source_text,
    })
}

/// The loader's parse tree is gone once the plan is made; glibc keeps its pages, and
/// the run's own state (its core, the store's cache) would come on top of them: a
/// 100,000-step run peaked at the load's peak plus the core's (issue 29, point 3).
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of malloc's own heap to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Record the new run `unwritten` that `start` opens (`Core::start`, or a fork's
/// `start_fork`), take its lease for `holder`. The run, its lease and its first events
/// go in one transaction; the driver acts on the rest (write-ahead holds: what it acts
/// on is committed).
pub(crate) fn create_with(
    store: &mut Store,
    unwritten: Unwritten,
    holder: &str,
    start: impl FnOnce(&mut Core, Timestamp) -> Vec<Effect>,
) -> Result<Ready, SessionError> {
    let Unwritten {
        new_run,
        mut core,
        workflow,
    } = unwritten;
    let (committed, initial) = split_persisted(start(&mut core, Timestamp::now()));
    store.create_started_run(&new_run, holder, &committed, &core.state_summary())?;
    Ok(Ready {
        run_id: new_run.id,
        workflow,
        core,
        initial,
        committed,
        stale: false,
    })
}

/// A new run's record and its core, before anything is written ([`unwritten`]): what
/// `concurrency::record` writes.
pub struct Unwritten {
    pub new_run: NewRun,
    pub core: Core,
    pub workflow: String,
}

/// The events to commit with the run's creation, and the effects to act on after.
pub fn split_persisted(fx: Vec<Effect>) -> (Vec<Event>, Vec<Effect>) {
    let (committed, initial): (Vec<Effect>, Vec<Effect>) = fx
        .into_iter()
        .partition(|e| matches!(e, Effect::Persist(_)));
    let committed = committed
        .into_iter()
        .filter_map(|e| match e {
            Effect::Persist(ev) => Some(ev),
            _ => None,
        })
        .collect();
    (committed, initial)
}

/// The new run's record (a fresh id, secrets masked) and its core, not started; the
/// core knows the store at `db` it is recorded in (a local step's `BATON_DB`: its
/// first steps are decided before a driver takes it). Its id and seed are the fault
/// door's when it draws them (the simulator's, `baton_model::faults::new_run`).
pub fn unwritten(loaded: Loaded, db: &Path) -> Unwritten {
    let Loaded {
        spec,
        plan,
        params,
        source_text,
    } = loaded;
    let (run_id, seed) =
        baton_model::faults::new_run().unwrap_or_else(|| (new_run_id(), rand::random()));
    let secrets = secret_values(&plan, &params);
    let masker = Masker::new(secrets.clone());
    let masked: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.clone(), masker.mask(v).into_owned()))
        .collect();
    let new_run = NewRun {
        id: run_id.clone(),
        workflow: plan.name.clone(),
        source_path: std::fs::canonicalize(&spec.workflow)
            .unwrap_or_else(|_| spec.workflow.clone()),
        source_text: masker.mask(&source_text).into_owned(),
        params_json: serde_json::to_string(&masked).unwrap_or_default(),
        operator: spec.operator.clone(),
        started_at: Timestamp::now(),
        parent: spec.parent.clone(),
        steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
    };
    let cfg = RunConfig {
        no_cache: spec.no_cache,
        slot: spec.slot,
        zone: spec.zone.clone().or_else(local_zone),
        store: Some(db.to_path_buf()),
        workflow_hash: Some(baton_core::workflow_hash(&new_run.source_text)),
        parent: spec.parent.clone(),
        ..run_config(
            &run_id,
            &spec.operator,
            params,
            secrets,
            seed,
            spec.auto_approve,
            spec.max_parallel.map(|n| n as usize),
        )
    };
    let mut core = Core::new(plan.clone(), cfg);
    core.label_at_start(spec.labels.clone());
    Unwritten {
        new_run,
        core,
        workflow: plan.name.clone(),
    }
}

/// This machine's time zone as an IANA name: `TZ` if it names one, else what
/// `/etc/localtime` links to; `None` (UTC) if neither says.
fn local_zone() -> Option<String> {
    let named = |z: &str| {
        let z = z.trim().trim_start_matches(':');
        baton_model::schedule::parse_zone(z)
            .ok()
            .map(|_| z.to_string())
    };
    if let Some(z) = std::env::var("TZ").ok().and_then(|z| named(&z)) {
        return Some(z);
    }
    let link = std::fs::read_link("/etc/localtime").ok()?;
    let text = link.to_string_lossy();
    named(text.split("zoneinfo/").nth(1)?)
}

/// Take the run's lease for `holder`, marked as a takeover's until it settles
/// (`Store::take_over_lease`), or say who drives it. Public for the simulator, whose
/// CLI processes take the lease at one store call and settle at a later one.
pub fn take_lease(store: &mut Store, run_id: &str, holder: &str) -> Result<(), SessionError> {
    match store.take_over_lease(run_id, holder, Timestamp::now(), super::host::LEASE_STALE)? {
        LeaseOutcome::Acquired => Ok(()),
        LeaseOutcome::HeldBy { holder, .. } => Err(SessionError::Driven {
            run_id: run_id.to_string(),
            holder,
        }),
    }
}

/// The one constructor of a run's configuration.
pub fn run_config(
    run_id: &str,
    operator: &str,
    params: BTreeMap<String, String>,
    secret_values: Vec<String>,
    seed: u64,
    auto_approve: bool,
    max_parallel: Option<usize>,
) -> RunConfig {
    RunConfig {
        run_id: run_id.to_string(),
        operator: operator.to_string(),
        params,
        secret_values,
        seed,
        auto_approve,
        max_parallel,
        no_cache: false,
        slot: None,
        store: None,
        workflow_hash: None,
        zone: None,
        parent: None,
    }
}

/// Which workflow a recorded run is rebuilt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlanSource {
    /// The file as it is now (driving: approvals bound to a changed step are void);
    /// the recorded text if the file is gone.
    Current,
    /// The text recorded when the run started (reading: the run as it was).
    Recorded,
}

/// Rebuild a recorded run's core from its events. To drive it (`for_driving`), secret
/// params, which are never stored, must be given again in `given`.
pub(crate) fn rebuild(
    store: &Store,
    run_id: &str,
    source: PlanSource,
    given: &[(String, String)],
    for_driving: bool,
) -> Result<Core, SessionError> {
    let record = store.run(run_id)?;
    if for_driving {
        // In a group store, what this account's engine obeys must be what its engines
        // recorded: another member may have rewritten the record or the events.
        store.check_sealed(&record)?;
    }
    match fold_stored(store, &record, source, given, for_driving) {
        // Checked first (with a key configured): a history that is not what was
        // committed is refused, never obeyed, whatever else went wrong with it.
        Err(e) if !matches!(e, SessionError::Store(StoreError::Tampered { .. })) => {
            store.check_events(run_id)?;
            Err(e)
        }
        r => r,
    }
}

/// [`rebuild`]'s replay: the plan loaded first (with the signers the run's first event
/// recorded), then the history folded into the core as the store reads it, checked
/// as it goes, never held whole (a 100,000-step run is half a million events).
fn fold_stored(
    store: &Store,
    record: &RunRecord,
    source: PlanSource,
    given: &[(String, String)],
    for_driving: bool,
) -> Result<Core, SessionError> {
    let run_id = record.id.as_str();
    let first: Vec<Event> = store.first_event(run_id)?.into_iter().collect();
    let plan = load_recorded(
        record,
        source,
        recorded_signers(&first),
        for_driving.then_some(given),
    )?;
    let (params, secrets) = if for_driving {
        driving_params(&plan, record, given)?
    } else {
        let params = serde_json::from_str(&record.params_json).unwrap_or_default();
        (params, Vec::new())
    };
    // Replay takes the seed from `RunStarted`; the operator who started it stays the
    // run's operator (self-approval rules depend on it).
    let cfg = RunConfig {
        workflow_hash: Some(baton_core::workflow_hash(&record.source_text)),
        ..run_config(run_id, &record.operator, params, secrets, 0, false, None)
    };
    if for_driving {
        // Keys that could not record the run's next events are refused before takeover.
        store.check_keys(run_id)?;
    }
    let mut core = Core::new(plan, cfg);
    if for_driving {
        core.locate_store(store.path().to_path_buf());
    }
    store
        .each_event(run_id, 0, |ev| core.replay_one(Cow::Owned(ev)))?
        .and_then(|()| core.replayed())
        .map_err(|e| SessionError::Replay {
            run_id: run_id.to_string(),
            why: e.to_string(),
        })
}

/// The allowed signers the run recorded when it started (`None`: it had none).
pub(super) fn recorded_signers(events: &[Event]) -> Option<&str> {
    match events.first().map(|e| &e.kind) {
        Some(baton_model::EventKind::RunStarted {
            allowed_signers, ..
        }) => allowed_signers.as_deref(),
        _ => None,
    }
}

/// A recorded run's plan. Whichever workflow text is used, its allowed signers are the
/// ones recorded when the run started: a run keeps the signers it started with. Driving
/// it (`driving`: the params given again) with the file as it is now, the run must also
/// keep its shape (see [`workflow::shape`]).
pub(super) fn load_recorded(
    record: &RunRecord,
    source: PlanSource,
    signers: Option<&str>,
    driving: Option<&[(String, String)]>,
) -> Result<Arc<Plan>, SessionError> {
    let signers = workflow::SignersFrom::Recorded(signers);
    let diagnostics = |d: workflow::Diagnostics| SessionError::Diagnostics(d.to_string());
    if source == PlanSource::Current && record.source_path.exists() {
        let text = workflow::read_source(&record.source_path).map_err(diagnostics)?;
        let plan = workflow::load_str_with(&text, &record.source_path, signers)
            .map(Arc::new)
            .map_err(diagnostics)?;
        // The text was recorded with the run's secrets masked: the file, masked the
        // same way, is unchanged when it reads the same (a secret's value may appear in
        // it, and the masked text may not even load).
        let changed = driving.is_some_and(|given| {
            let params: BTreeMap<String, String> = given.iter().cloned().collect();
            let masker = Masker::new(secret_values(&plan, &params));
            masker.mask(&text) != record.source_text
        });
        if changed {
            // Compared with the text the run started with; a text this baton can no
            // longer read cannot show the run kept its shape, so the file is refused.
            let started =
                workflow::load_str_with(&record.source_text, &record.source_path, signers)
                    .map_err(|d| {
                        SessionError::Diagnostics(format!(
                            "{}: error: run {} was started with a workflow this baton cannot read any more ({}); the file changed since, so it cannot be checked against it: fork it (`baton fork {} --from STEP`, `F` in the console), which runs the text it recorded, or start a new run",
                            record.source_path.display(),
                            record.id,
                            d.to_string().lines().next().unwrap_or_default(),
                            record.id,
                        ))
                    })?;
            workflow::shape::check_kept(&started, &plan).map_err(|c| {
                SessionError::Diagnostics(format!(
                    "{}:{}:1: error: {}, since run {} started; a run keeps its steps, what each waits for and what runs without asking (compensations, notifiers), its gates and its budget: put it back as it was, fork the run (`baton fork {} --from STEP`, `F` in the console), which runs the text it recorded, or start a new run",
                    plan.source.display(),
                    c.line,
                    c.what,
                    record.id,
                    record.id,
                ))
            })?;
        }
        return Ok(plan);
    }
    workflow::load_str_with(&record.source_text, &record.source_path, signers)
        .map(Arc::new)
        .map_err(diagnostics)
}

/// The recorded params with `given` on top; refused when a secret param is missing.
pub(super) fn driving_params(
    plan: &Plan,
    record: &RunRecord,
    given: &[(String, String)],
) -> Result<(BTreeMap<String, String>, Vec<String>), SessionError> {
    let mut all: BTreeMap<String, String> =
        serde_json::from_str(&record.params_json).unwrap_or_default();
    for (k, v) in given {
        all.insert(k.clone(), v.clone());
    }
    let missing: Vec<String> = plan
        .params
        .iter()
        .filter(|p| p.secret && all.get(&p.name).is_some_and(|v| v == MASK))
        .map(|p| format!("--param {}=…", p.name))
        .collect();
    if !missing.is_empty() {
        return Err(SessionError::Usage(format!(
            "secret params are not stored; give them again: {}",
            missing.join(" ")
        )));
    }
    let pairs: Vec<(String, String)> = all.into_iter().collect();
    let params = workflow::resolve_params(plan, &pairs).map_err(params_error)?;
    check_secrets_set(plan, |n| std::env::var_os(n))?;
    let secrets = secret_values(plan, &params);
    Ok((params, secrets))
}

/// Every `secrets = [...]` name must be set, non-empty, in baton's environment: an
/// unset one would reach the steps as an empty string, silently.
fn check_secrets_set(
    plan: &Plan,
    get: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<(), SessionError> {
    let unset: Vec<&str> = plan
        .secrets
        .iter()
        .filter(|n| get(n).is_none_or(|v| v.is_empty()))
        .map(String::as_str)
        .collect();
    if unset.is_empty() {
        return Ok(());
    }
    Err(SessionError::Usage(format!(
        "{}: declared in `secrets` but not set in baton's environment: {}; export {} before running",
        plan.source.display(),
        unset.join(", "),
        if unset.len() == 1 { "it" } else { "them" }
    )))
}

/// The run's secrets as a process submitting a command on it can know them: the secret
/// params it was given again and the workflow's `secrets = [...]` set in its own
/// environment. Its command is masked with them before it is written, so the text
/// typed never reaches the store's files; a secret it cannot know is masked by the
/// engine that takes the command (and the write-ahead log emptied of the original).
/// A run whose record cannot be read gives none.
pub(crate) fn submitter_masker(store: &Store, run_id: &str, given: &[(String, String)]) -> Masker {
    let known = || -> Result<Vec<String>, SessionError> {
        let record = store.run(run_id)?;
        let first: Vec<Event> = store.first_event(run_id)?.into_iter().collect();
        let plan = load_recorded(
            &record,
            PlanSource::Recorded,
            recorded_signers(&first),
            None,
        )?;
        let mut params: BTreeMap<String, String> =
            serde_json::from_str(&record.params_json).unwrap_or_default();
        params.extend(given.iter().cloned());
        // A secret param not given again is recorded as `***`: nothing to mask.
        params.retain(|_, v| v != MASK);
        Ok(secret_values(&plan, &params))
    };
    Masker::new(known().unwrap_or_default())
}

/// The values to mask: secret params, the `secrets = [...]` and the `[secrets]` entries
/// read from the environment.
pub(crate) fn secret_values(plan: &Plan, params: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = plan
        .params
        .iter()
        .filter(|p| p.secret)
        .filter_map(|p| params.get(&p.name).cloned())
        .collect();
    out.extend(
        plan.secrets
            .iter()
            .filter_map(|name| std::env::var(name).ok()),
    );
    // A `[secrets]` entry read from baton's environment is known already: masked
    // from the start (the others are learned as the steps using them start).
    out.extend(plan.secret_sources.iter().filter_map(|s| match &s.source {
        workflow::SecretSource::Env(var) => std::env::var(var).ok(),
        _ => None,
    }));
    // A child run's params that its parent's step handed it holding a secret of the
    // parent's (its engine's environment names them): secrets here too.
    // And the variables its parent reads its own secrets from, which it inherits.
    let handed = |var: &str| {
        let names = std::env::var(var).unwrap_or_default();
        baton_core::child::names_in(var, [(var.to_string(), names)])
    };
    use baton_core::child::{SECRET_ENV_ENV, SECRET_PARAMS_ENV};
    out.extend(
        handed(SECRET_PARAMS_ENV)
            .iter()
            .filter_map(|n| params.get(n).cloned()),
    );
    out.extend(
        handed(SECRET_ENV_ENV)
            .iter()
            .filter_map(|n| std::env::var(n).ok()),
    );
    out.retain(|v| !v.is_empty());
    out
}

pub(crate) fn new_run_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

/// `--db`, else `$BATON_DB`, else `db` in the config file, else the XDG default.
pub fn db_path(db: Option<&Path>) -> PathBuf {
    db.map(Path::to_path_buf)
        .or_else(|| crate::config::get().db.clone())
        .unwrap_or_else(Store::default_path)
}

/// Every `--param` problem, one `error:` line each.
fn params_error(problems: workflow::Problems) -> SessionError {
    SessionError::Usage(problems.joined("\nerror: "))
}
