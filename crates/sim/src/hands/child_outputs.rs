//! A child run's outputs reaching its parent's step in `--mix hands` (issue 78, Dagu's
//! `${OUT.outputs.X}`): a child of two steps gives outputs the seed draws (a name both
//! steps give, a value of two lines, a value holding the secret the parent handed);
//! the child's core records them; the parent's step ends with what
//! `session::child::outputs_for_parent` hands it, as the step's process does, and the
//! parent's core records that. The draws come from a stream of their own, so the
//! other hands draw what they drew.
use super::Hands;
use crate::SimError;
use baton_core::{Effect, Input, SpawnSpec, StepExit};
use baton_model::{StepOutcome, Usage};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

const PARENT: &str = r#"name = "outputs-parent"
[params]
token = { secret = true, required = true }

[[step]]
id = "call"
workflow = "outputs-child.toml"
params = { tok = "${{ params.token }}" }
"#;

const CHILD: &str = r#"name = "outputs-child"
[params]
tok = { required = true }

[[step]]
id = "first"
run = "first"

[[step]]
id = "second"
run = "second"
"#;

/// The parent's child-run step.
const STEP: &str = "call";
/// This hand's own stream of the seed.
const STREAM: u64 = 0x0c41_d0a7_0000_0000;

type Loaded = (Arc<baton_workflow::Plan>, PathBuf);

/// One exchange: the ground truth the parent's record is checked against.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub(crate) parent: String,
    /// What each of the child's steps gave, in plan order.
    pub(crate) given: Vec<Vec<(String, String)>>,
    pub(crate) secret: String,
}

#[derive(Default)]
pub(crate) struct ChildOutputs {
    plans: Option<(Loaded, Loaded)>,
    rng: Option<SmallRng>,
    pub(crate) exchanges: Vec<Exchange>,
}

impl Hands {
    /// A parent, its child of two steps giving drawn outputs, the parent's step ended
    /// with what the child hands it.
    pub(super) fn child_outputs_hand(&mut self) -> Result<(), SimError> {
        let (parent_plan, child_plan) = match &self.child_outputs.plans {
            Some(p) => p.clone(),
            None => {
                // The child's file first: the parent's loader reads it.
                let child = self.load_plan("outputs-child.toml", CHILD)?;
                let p = (self.load_plan("outputs-parent.toml", PARENT)?, child);
                self.child_outputs.plans = Some(p.clone());
                p
            }
        };
        let seed = self.config.seed;
        let rng =
            (self.child_outputs.rng).get_or_insert_with(|| SmallRng::seed_from_u64(seed ^ STREAM));
        let n = self.child_outputs.exchanges.len();
        let secret = format!("otok{:016x}", rng.random::<u64>());
        let draw = |rng: &mut SmallRng| -> Vec<(String, String)> {
            let mut out = vec![];
            for name in ["version", "url", "notes"] {
                let v = match rng.random_range(0..6) {
                    0 => continue,
                    1 => format!("with {secret}"),
                    2 => "two\nlines".to_string(),
                    k => format!("v{k}"),
                };
                out.push((name.to_string(), v));
            }
            out
        };
        let given = vec![draw(rng), draw(rng)];
        self.secrets.push(secret.clone());
        let parent_id = format!("op{n:03}");
        let params = BTreeMap::from([("token".to_string(), secret.clone())]);
        let (mut parent, step, link, child_params) =
            self.start_parent(&parent_id, &parent_plan, STEP, params, vec![secret.clone()])?;
        let handed = baton_session::child::handed_secrets(step.env.clone());
        let child_id = format!("oc{n:03}");
        let (mut child, spawns) = self.start(
            &child_id,
            &child_plan,
            child_params,
            handed.clone(),
            Some(link),
        )?;
        // Each step the child's core starts ends with what the seed drew for it.
        let mut queue = spawns;
        while let Some(s) = queue.pop() {
            let i = usize::from(s.step_id != "first");
            let outputs = given.get(i).cloned().unwrap_or_default();
            let input = Input::StepExited(exited(&s, outputs));
            let (events, rest) = crate::world::runs::split(child.handle(input, self.now));
            self.store.commit(&child_id, &events)?;
            self.children.events += events.len() as u64;
            queue.extend(rest.into_iter().filter_map(|e| match e {
                Effect::Spawn(s) => Some(s),
                _ => None,
            }));
        }
        // The parent's step process: its child, then what the child hands it.
        let (outs, kept_back) =
            baton_session::child::outputs_for_parent(&self.store, &child_id, &handed);
        let mut outputs = vec![("child_run".to_string(), child_id.clone())];
        outputs.extend(outs.iter().cloned());
        self.feed(
            &parent_id,
            &mut parent,
            Input::StepExited(exited(&step, outputs)),
        )?;
        self.history.push(format!(
            "  {parent_id}/{STEP}: child {child_id} handed {} output(s), kept back {}",
            outs.len(),
            kept_back.len()
        ));
        self.child_outputs.exchanges.push(Exchange {
            parent: parent_id,
            given,
            secret,
        });
        Ok(())
    }

    pub(super) fn load_plan(&self, name: &str, text: &str) -> Result<Loaded, SimError> {
        super::children::load(&self.dir, name, text)
    }
}

/// Attempt `s` exited 0 with `outputs`.
fn exited(s: &SpawnSpec, outputs: Vec<(String, String)>) -> StepExit {
    StepExit {
        step: s.step,
        attempt: s.attempt,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 300,
        outputs,
        usage: Usage::default(),
        stderr_tail: String::new(),
    }
}

/// docs/workflow/child-workflows.md ("a child run's outputs become its parent step's,
/// a later step's value winning; none holding a secret the parent handed, none of
/// several lines"): the parent's step holds, besides `child_run`, only values one of
/// its child's steps gave under that name, each of one line and holding no secret,
/// and every name whose last value (plan order) is such a value, with that value.
pub(crate) fn a_child_s_outputs_reach_its_parent_as_its_steps_gave_them(
    h: &Hands,
) -> Result<Option<String>, SimError> {
    let Some(x) = h.child_outputs.exchanges.last() else {
        return Ok(None);
    };
    let view = baton_session::inspect(&h.store, &x.parent, h.now)
        .map_err(|e| SimError::Workflow(e.to_string()))?;
    let Some(step) = view.steps.iter().find(|s| s.id == STEP) else {
        return Ok(Some(format!("{}: no step `{STEP}`", x.parent)));
    };
    let clean = |v: &str| !v.contains(['\n', '\r']) && !v.contains(x.secret.as_str());
    for (k, v) in &step.outputs {
        if k == "child_run" {
            continue;
        }
        let given = x.given.iter().flatten().any(|(g, gv)| g == k && gv == v);
        if !given || !clean(v) {
            return Ok(Some(format!(
                "{}/{STEP} holds {k}={v:?}, which no step of its child gave clean (gave {:?})",
                x.parent, x.given
            )));
        }
    }
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in x.given.iter().flatten() {
        last.insert(k, v);
    }
    for (k, v) in last {
        if clean(v) && step.outputs.get(k).map(String::as_str) != Some(v) {
            return Ok(Some(format!(
                "{}/{STEP} holds {k}={:?} where its child's last step to give it gave {v:?} (gave {:?})",
                x.parent,
                step.outputs.get(k),
                x.given
            )));
        }
    }
    Ok(None)
}
