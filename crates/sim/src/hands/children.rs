//! Child runs in `--mix hands`: a parent whose step `deploy` runs `child.toml`, handed a
//! secret param and a value made from it. The parent's core decides the step and its
//! environment (`BATON_CHILD_PARAMS`, `BATON_CHILD_SECRET_PARAMS`: `core::child::env`);
//! the child's engine reads them back with the core's own `child::params_in` and
//! `child::names_in`, as `session::prepare::secret_values` does, and the child's core
//! records and masks. A member forges `run_parents` rows; a parent's step takes its
//! child as `session::child::find` does (`Store::proven_child_of`).
use super::Hands;
use crate::{Bug, SimError};
use baton_core::{Core, Effect, Input, RunConfig, SpawnSpec, StepExit};
use baton_model::mask::Masker;
use baton_model::view::ParentLink;
use baton_model::{StepOutcome, Usage};
use baton_store::NewRun;
use rand::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PARENT: &str = r#"name = "parent"
[params]
token = { secret = true, required = true }

[[step]]
id = "deploy"
workflow = "child.toml"
params = { tok = "Bearer ${{ params.token }}", note = "plain" }
"#;

const CHILD: &str = r#"name = "child"
[params]
tok = { required = true }
note = { default = "" }

[[step]]
id = "ship"
run = 'ship --token "$TOK"'
env = { TOK = "${{ params.tok }}" }
"#;

/// The lease holder of the hands' engines (a host of their own).
pub(crate) const HOLDER: &str = "pid 300 on sim-hands";
/// The parent's child-run step.
pub(crate) const STEP: &str = "deploy";

/// A parent and the child its step's attempt made: the ground truth a forged row
/// cannot change.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) parent: String,
    pub(crate) child: String,
    pub(crate) attempt: u32,
}

pub(crate) struct Children {
    parent: (Arc<baton_workflow::Plan>, PathBuf),
    child: (Arc<baton_workflow::Plan>, PathBuf),
    pub(crate) pairs: Vec<Pair>,
    /// Each child a parent's step took as its own: (parent, child).
    pub(crate) taken: Vec<(String, String)>,
    pub(crate) events: u64,
}

impl Children {
    pub(crate) fn new(dir: &Path) -> Result<Children, SimError> {
        // The child's file first: the parent's loader reads it.
        let child = load(dir, "child.toml", CHILD)?;
        Ok(Children {
            parent: load(dir, "parent.toml", PARENT)?,
            child,
            pairs: Vec::new(),
            taken: Vec::new(),
            events: 0,
        })
    }

    /// The parent's plan and file.
    pub(crate) fn parent_plan(&self) -> (Arc<baton_workflow::Plan>, PathBuf) {
        self.parent.clone()
    }
}

pub(super) fn load(
    dir: &Path,
    name: &str,
    text: &str,
) -> Result<(Arc<baton_workflow::Plan>, PathBuf), SimError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| SimError::Io {
        path: path.clone(),
        error: e,
    })?;
    let plan =
        baton_workflow::load_str(text, &path).map_err(|d| SimError::Workflow(d.to_string()))?;
    Ok((Arc::new(plan), path))
}

/// Run `run`'s spawn of its child-run step `step` among `spawns`, and the link a child
/// made by that attempt names.
pub(super) fn spawn_and_link(
    run: &str,
    spawns: Vec<SpawnSpec>,
    step: &str,
) -> Option<(SpawnSpec, ParentLink)> {
    let spawn = spawns.into_iter().find(|s| s.step_id == step)?;
    let link = ParentLink {
        run: run.to_string(),
        step: step.into(),
        attempt: spawn.attempt,
    };
    Some((spawn, link))
}

impl Hands {
    /// A parent run handed a fresh secret, its child made from the step's environment,
    /// the child's step run (its log, its outputs and its stderr holding the secret)
    /// to its end, then the parent's step ended and its child taken.
    pub(super) fn child_pair(&mut self) -> Result<(), SimError> {
        let n = self.children.pairs.len();
        let token = format!("tok{:016x}", self.rng.random::<u64>());
        self.secrets.push(token.clone());
        let parent_id = format!("p{n:03}");
        let params = BTreeMap::from([("token".to_string(), token.clone())]);
        let (mut parent, step, link, params) = self.start_parent(
            &parent_id,
            &self.children.parent.clone(),
            STEP,
            params,
            vec![token],
        )?;
        // Which of the child's params hold the parent's secret, from the step's environment.
        let env = step.env.clone();
        let named = match self.config.bug {
            Some(Bug::ChildSecretsClear) => Vec::new(),
            _ => baton_core::child::names_in(baton_core::child::SECRET_PARAMS_ENV, env),
        };
        let secret: Vec<String> = named
            .iter()
            .filter_map(|k| params.get(k).cloned())
            .collect();
        let child_id = format!("c{n:03}");
        let child_plan = self.children.child.clone();
        let (mut child, spawns) =
            self.start(&child_id, &child_plan, params, secret, Some(link.clone()))?;
        for s in spawns {
            self.run_step(&child_id, &mut child, &s)?;
        }
        self.history.push(format!(
            "  {parent_id}/{STEP} attempt {} made child {child_id} (secret params {named:?})",
            link.attempt
        ));
        self.children.pairs.push(Pair {
            parent: parent_id.clone(),
            child: child_id.clone(),
            attempt: link.attempt,
        });
        // The parent's step process ends, naming its child; the parent's step takes it.
        let exit = exit(&step, vec![("child_run".into(), child_id)], String::new());
        self.feed(&parent_id, &mut parent, Input::StepExited(exit))?;
        self.take_child(&parent_id)?;
        // A child handing outputs, drawn from a stream of its own.
        self.child_outputs_hand()
    }

    /// Parent run `id` of `plan` started, up to its child-run step `step_id`'s spawn:
    /// the parent's core, that spawn, the child's link to it, and the params the child's
    /// engine (`baton run --parent`) reads from the step's environment.
    pub(super) fn start_parent(
        &mut self,
        id: &str,
        plan: &(Arc<baton_workflow::Plan>, PathBuf),
        step_id: &str,
        params: BTreeMap<String, String>,
        secret_values: Vec<String>,
    ) -> Result<(Core, SpawnSpec, ParentLink, BTreeMap<String, String>), SimError> {
        let (parent, spawns) = self.start(id, plan, params, secret_values, None)?;
        let Some((step, link)) = spawn_and_link(id, spawns, step_id) else {
            return Err(SimError::Workflow(format!(
                "{id}'s child-run step {step_id} did not start"
            )));
        };
        let child_params = baton_core::child::params_in(step.env.clone())
            .into_iter()
            .collect();
        Ok((parent, step, link, child_params))
    }

    /// A run made and started as an engine makes one (its record masked by its
    /// secrets, as `session::prepare` writes it), committed with its lease: its core
    /// and the attempts it spawned.
    pub(super) fn start(
        &mut self,
        id: &str,
        (plan, path): &(Arc<baton_workflow::Plan>, PathBuf),
        params: BTreeMap<String, String>,
        secret_values: Vec<String>,
        parent: Option<ParentLink>,
    ) -> Result<(Core, Vec<SpawnSpec>), SimError> {
        let masker = Masker::new(secret_values.clone());
        let masked: BTreeMap<String, String> = (params.iter())
            .map(|(k, v)| (k.clone(), masker.mask(v).into_owned()))
            .collect();
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Io {
            path: path.clone(),
            error: e,
        })?;
        let cfg = RunConfig {
            run_id: id.into(),
            operator: "sim".into(),
            params,
            secret_values,
            seed: self.config.seed,
            store: Some(self.db.clone()),
            parent: parent.clone(),
            ..RunConfig::default()
        };
        let mut core = Core::new(plan.clone(), cfg);
        let (events, rest) = crate::world::runs::split(core.start(self.now));
        let new_run = NewRun {
            id: id.into(),
            workflow: plan.name.clone(),
            source_path: path.clone(),
            source_text: masker.mask(&text).into_owned(),
            params_json: serde_json::to_string(&masked)?,
            operator: "sim".into(),
            started_at: self.now,
            parent,
            steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
        };
        self.store
            .create_started_run(&new_run, HOLDER, &events, &core.state_summary())?;
        self.children.events += events.len() as u64;
        Ok((core, spawns(rest)))
    }

    /// A child's step run to its end: its log line written by the simulated driver
    /// (masked with the core's masker, as the driver masks output), its outputs and
    /// its stderr's tail given to the core.
    fn run_step(&mut self, run: &str, core: &mut Core, s: &SpawnSpec) -> Result<(), SimError> {
        let tok = (s.env.iter())
            .find(|(k, _)| k == "TOK")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let masker = Masker::new(core.masked_values().to_vec());
        self.logs.push(
            masker
                .mask(&format!("{run}/{}: shipping with {tok}", s.step_id))
                .into_owned(),
        );
        let outputs = vec![("receipt".to_string(), format!("sent {tok}"))];
        let exit = exit(s, outputs, format!("auth header: {tok}"));
        self.feed(run, core, Input::StepExited(exit))
    }

    /// `input` decided by `core`, its events committed.
    pub(super) fn feed(
        &mut self,
        run: &str,
        core: &mut Core,
        input: Input,
    ) -> Result<(), SimError> {
        self.feed_spawning(run, core, input).map(drop)
    }

    /// [`Hands::feed`], and the attempts the core started.
    pub(super) fn feed_spawning(
        &mut self,
        run: &str,
        core: &mut Core,
        input: Input,
    ) -> Result<Vec<SpawnSpec>, SimError> {
        let (events, rest) = crate::world::runs::split(core.handle(input, self.now));
        self.store.commit(run, &events)?;
        self.children.events += events.len() as u64;
        Ok(spawns(rest))
    }

    /// The child a parent's step takes (a retry or a resume of its step asks the
    /// store which child it made): `Store::proven_child_of`, as `session::child::find`;
    /// with [`Bug::ForgedChildLink`] the newest row of `run_parents`, as baton did
    /// before issue 75.
    fn take_child(&mut self, parent: &str) -> Result<(), SimError> {
        let child = match self.config.bug {
            Some(Bug::ForgedChildLink) => newest_row(&self.db, parent)?,
            _ => self.store.proven_child_of(parent, STEP)?.0.map(|c| c.run),
        };
        self.history
            .push(format!("  {parent}/{STEP} takes child {child:?}"));
        if let Some(c) = child {
            self.children.taken.push((parent.to_string(), c));
        }
        Ok(())
    }

    /// A member of the group store writes a `run_parents` row with SQL naming a run as
    /// the child of another parent's step at a later attempt: another parent run
    /// (no child at all), or another parent's real child; then that parent's step asks
    /// for its child again.
    pub(super) fn forge_link(&mut self) -> Result<(), SimError> {
        let n = self.children.pairs.len();
        if n < 2 {
            return self.child_pair();
        }
        let victim = self.children.pairs[self.rng.random_range(0..n)].clone();
        let other = loop {
            let o = &self.children.pairs[self.rng.random_range(0..n)];
            if o.parent != victim.parent {
                break o.clone();
            }
        };
        let attempt = victim.attempt + self.rng.random_range(1..4);
        let planted = match self.rng.random_bool(0.5) {
            true => other.parent.clone(),
            false => other.child.clone(),
        };
        let conn = rusqlite::Connection::open(&self.db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // The unique index allows one row per attempt: the forger takes its place.
        conn.execute(
            "DELETE FROM run_parents WHERE parent_run = ?1 AND parent_step = ?2 AND parent_attempt = ?3",
            rusqlite::params![victim.parent, STEP, attempt],
        )?;
        conn.execute(
            "INSERT OR REPLACE INTO run_parents (run_id, parent_run, parent_step, parent_attempt) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![planted, victim.parent, STEP, attempt],
        )?;
        drop(conn);
        self.history.push(format!(
            "  forged: run_parents names {planted} the child of {}/{STEP} attempt {attempt}",
            victim.parent
        ));
        self.take_child(&victim.parent)
    }
}

/// The attempts `fx` spawns.
pub(super) fn spawns(fx: Vec<Effect>) -> Vec<SpawnSpec> {
    fx.into_iter()
        .filter_map(|e| match e {
            Effect::Spawn(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Attempt `s` exited 0 with `outputs` and `stderr_tail`.
pub(super) fn exit(s: &SpawnSpec, outputs: Vec<(String, String)>, stderr_tail: String) -> StepExit {
    StepExit {
        step: s.step,
        attempt: s.attempt,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 500,
        outputs,
        usage: Usage::default(),
        stderr_tail,
    }
}

/// The newest row of `run_parents` for `parent`'s step, unchecked (the bug).
fn newest_row(db: &Path, parent: &str) -> Result<Option<String>, SimError> {
    use rusqlite::OptionalExtension;
    let conn = rusqlite::Connection::open(db)?;
    Ok(conn
        .query_row(
            "SELECT run_id FROM run_parents WHERE parent_run = ?1 AND parent_step = ?2
             ORDER BY parent_attempt DESC LIMIT 1",
            rusqlite::params![parent, STEP],
            |r| r.get(0),
        )
        .optional()?)
}
