//! A step's templates rendered into what it runs (its command or tool, environment
//! and working directory), and the digest an approval binds to.
use super::*;
use crate::engine::digest;
use crate::model::ErrorKind;
use crate::workflow::{Action, Template, TemplateRef};

/// A step's command and environment with every template rendered (unmasked).
pub(in crate::engine::core) struct Resolved {
    pub(in crate::engine::core) action: Option<SpawnAction>,
    /// What the approval digest binds to.
    pub(in crate::engine::core) digest_action: String,
    pub(in crate::engine::core) env: BTreeMap<String, String>,
}

impl Core {
    pub(in crate::engine::core) fn render(&self, t: &Template) -> Result<String, String> {
        t.render(|r| match r {
            TemplateRef::StepOutput { step, key, .. } => {
                self.steps.get(*step)?.outputs.get(key).cloned()
            }
            TemplateRef::Param(p) => self.cfg.params.get(p).cloned(),
            TemplateRef::Env(e) => self.run_env.get(e)?.as_ref().ok().cloned(),
            TemplateRef::RunId => Some(self.cfg.run_id.clone()),
        })
    }

    pub(in crate::engine::core) fn resolve(&self, i: usize) -> Result<Resolved, String> {
        let step = &self.plan.steps[i];
        let mut env = BTreeMap::new();
        for (k, v) in &self.cfg.params {
            env.insert(
                format!("BATON_PARAM_{}", k.to_uppercase().replace('-', "_")),
                v.clone(),
            );
        }
        for (k, v) in &self.run_env {
            match v {
                Ok(v) => env.insert(k.clone(), v.clone()),
                Err(r) => return Err(format!("run env {k}: cannot resolve `{r}`")),
            };
        }
        for (k, t) in &step.env {
            let v = self
                .render(t)
                .map_err(|r| format!("env {k}: cannot resolve `{r}`"))?;
            env.insert(k.clone(), v);
        }
        let mut with = BTreeMap::new();
        for (k, t) in &step.with {
            let v = self
                .render(t)
                .map_err(|r| format!("with {k}: cannot resolve `{r}`"))?;
            with.insert(k.clone(), v);
        }
        let (action, digest_action) = match &step.action {
            Action::Shell { run } => (
                Some(SpawnAction::Shell {
                    command: run.clone(),
                }),
                run.clone(),
            ),
            Action::Tool { run, .. } => {
                env.extend(with);
                (
                    Some(SpawnAction::Shell {
                        command: run.clone(),
                    }),
                    run.clone(),
                )
            }
            Action::Builtin(b) => {
                let d = format!(
                    "{} {}",
                    b.name(),
                    with.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                (Some(SpawnAction::Builtin { builtin: *b, with }), d)
            }
            Action::None => (None, "gate".to_string()),
        };
        env.insert("BATON_RUN_ID".into(), self.cfg.run_id.clone());
        env.insert("BATON_STEP_ID".into(), step.id.clone());
        Ok(Resolved {
            action,
            digest_action,
            env,
        })
    }

    pub(in crate::engine::core) fn digest_of(&self, r: &Resolved) -> String {
        let env: Vec<(String, String)> =
            r.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        digest::approval_digest(&r.digest_action, &env, &self.cfg.params, &self.masker)
    }

    pub(in crate::engine::core) fn spec(
        &self,
        i: usize,
        attempt: u32,
        action: SpawnAction,
        mut env: BTreeMap<String, String>,
    ) -> SpawnSpec {
        let step = &self.plan.steps[i];
        env.insert("BATON_ATTEMPT".into(), attempt.to_string());
        let dir = match &step.dir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => self.plan.base_dir.join(d),
            None => self.plan.base_dir.clone(),
        };
        SpawnSpec {
            step: i,
            step_id: step.id.clone(),
            attempt,
            action,
            dir,
            env: env.into_iter().collect(),
            timeout: step.timeout,
            secret_values: self.cfg.secret_values.clone(),
        }
    }

    pub(in crate::engine::core) fn fail_template(
        &mut self,
        i: usize,
        msg: String,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let sug = self.suggestion(i, ErrorKind::TemplateError, false);
        let b = self
            .step_error(i, ErrorKind::TemplateError, msg.clone())
            .retryable(false)
            .suggestion(sug);
        self.record(b, now, fx);
        self.set(i, StepState::Failed, Some(msg), now, fx);
    }
}
