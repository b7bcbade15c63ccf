//! Templates rendered into what a step runs: the resolved command, its approval digest and spawn spec.
use super::*;
use crate::child;
use baton_workflow::Unresolved;
use baton_workflow::fanout::FanoutError;

/// Why what step `i` runs could not be made from its templates: the step fails with
/// it (a template error, never retried).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum TemplateFailure {
    #[error("run env {key}: cannot resolve `{r}`")]
    RunEnv { key: String, r: Unresolved },
    /// `why`: the reference that has no value, or why its output was cut.
    #[error("env {key}: {why}")]
    Env { key: String, why: String },
    #[error("with {key}: {why}")]
    With { key: String, why: String },
    /// A `with` value that does not fit the tool's parameter, masked (the value may
    /// hold a secret).
    #[error("{0}")]
    NotOfType(String),
    #[error("gate prompt: cannot resolve `{0}`")]
    Prompt(Unresolved),
    /// An input whose default or choices the run makes could not be made.
    #[error("gate input: {0}")]
    GateInput(baton_workflow::input_choices::ChoiceError),
    #[error(
        "gate input: input `{0}` renders one of the run's secrets; an input is kept on record, so it cannot offer one"
    )]
    SecretInInput(String),
    #[error(transparent)]
    Fanout(#[from] FanoutError),
    /// An artifact the step reads is not on record.
    #[error(transparent)]
    Artifact(super::artifacts::HandError),
}

impl Core {
    /// A template as step `i` reads it.
    pub(crate) fn render(&self, i: usize, t: &Template) -> Result<String, Unresolved> {
        self.render_holding(i, t, None)
    }

    /// Render `t` as step `i` reads it; with `held = Some(j)`, step `j`'s own approval
    /// inputs stay as written (`${{ steps.j.inputs.NAME }}`): what its gate's digest
    /// covers, since they are given with the approval itself.
    fn render_holding(
        &self,
        i: usize,
        t: &Template,
        held: Option<usize>,
    ) -> Result<String, Unresolved> {
        t.render(|r| match r {
            TemplateRef::StepInput { step, .. } if held == Some(*step) => {
                Some(format!("${{{{ {r} }}}}"))
            }
            _ => self.template_value(i, r),
        })
    }

    /// Step `i`'s tool parameter `key` as it would run (its own approval inputs held as
    /// written): what a gate's `auto` rule reads as `with.KEY`.
    pub(super) fn with_value(&self, i: usize, key: &str) -> Option<String> {
        let t = self.plan.steps[i].with.get(key)?;
        self.render_holding(i, t, Some(i)).ok()
    }

    /// What step `i`'s next attempt runs: its current alternative.
    pub(super) fn resolve(&self, i: usize) -> Result<Resolved, TemplateFailure> {
        self.resolve_holding(i, None, self.steps[i].alternative)
    }

    /// The digest gate `i` binds to: what would run, its own inputs held as written;
    /// with a `fallback`, what every alternative would run (the gate is asked once).
    pub(super) fn gate_digest(&self, i: usize) -> Result<String, TemplateFailure> {
        let first = self
            .resolve_holding(i, Some(i), 0)
            .map(|r| self.digest_of(&r))?;
        let mut rest = Vec::new();
        for k in 1..self.plan.steps[i].alternatives() {
            rest.push(
                self.resolve_holding(i, Some(i), k)
                    .map(|r| self.digest_of(&r))?,
            );
        }
        Ok(digest::with_alternatives(first, &rest))
    }

    fn resolve_holding(
        &self,
        i: usize,
        held: Option<usize>,
        alternative: u32,
    ) -> Result<Resolved, TemplateFailure> {
        let step = &self.plan.steps[i];
        let runs = step.alternative(alternative);
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
                Err(r) => {
                    return Err(TemplateFailure::RunEnv {
                        key: k.clone(),
                        r: r.clone(),
                    });
                }
            };
        }
        for (k, t) in runs.env {
            let v = self
                .render_holding(i, t, held)
                .map_err(|r| TemplateFailure::Env {
                    key: k.clone(),
                    why: self.unresolved(t, &r.to_string()),
                })?;
            env.insert(k.clone(), v);
        }
        let mut with = BTreeMap::new();
        for (k, t) in runs.with {
            let v = self
                .render_holding(i, t, held)
                .map_err(|r| TemplateFailure::With {
                    key: k.clone(),
                    why: self.unresolved(t, &r.to_string()),
                })?;
            self.check_with(runs.action, k, t, &v)?;
            with.insert(k.clone(), v);
        }
        let (action, digest_action) = match runs.action {
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
            Action::Workflow { path, .. } => {
                let digest = format!("workflow {}", path.display());
                env.extend(self.child_env(path, with));
                (
                    Some(SpawnAction::Shell {
                        command: child::COMMAND.to_string(),
                    }),
                    digest,
                )
            }
            Action::None => (None, "gate".to_string()),
        };
        let (_, handed) = self.handed(i).map_err(TemplateFailure::Artifact)?;
        env.extend(handed);
        env.insert("BATON_RUN_ID".into(), self.cfg.run_id.clone());
        env.insert("BATON_STEP_ID".into(), step.id.clone());
        // Empty without a slot: never one inherited from baton's own environment.
        env.insert("BATON_SLOT".into(), self.cfg.slot_text());
        let executor = match runs.executor.and_then(|e| self.plan.executors.get(e)) {
            Some(e) => format!("{} {:?}", e.name, e.kind),
            None => "local".into(),
        };
        // The same text as `display()` gives, without the formatter (1 k a step).
        let dir = self.step_dir(i).to_string_lossy().into_owned();
        let place = vec![("dir".to_string(), dir), ("executor".to_string(), executor)];
        Ok(Resolved {
            action,
            digest_action,
            env,
            place,
        })
    }

    /// A tool parameter filled in from a template is checked against its declared
    /// type when the step is about to start (a literal one was checked at load time).
    pub(super) fn check_with(
        &self,
        action: &Action,
        k: &str,
        t: &Template,
        v: &str,
    ) -> Result<(), TemplateFailure> {
        if t.refs().next().is_none() {
            return Ok(());
        }
        let params = match action {
            Action::Tool { tool, .. } => self
                .plan
                .tools
                .get(tool)
                .map(|t| t.params.clone())
                .unwrap_or_default(),
            Action::Builtin(b) => b.tool().params,
            // The child checks its params when its run is made (`baton run --parent`).
            Action::Shell { .. } | Action::Workflow { .. } | Action::None => Vec::new(),
        };
        let Some(p) = params.iter().find(|p| p.name == k) else {
            return Ok(());
        };
        if v.is_empty() && !p.required {
            return Ok(());
        }
        p.ty.check(v).map_err(|e| {
            TemplateFailure::NotOfType(self.mask(&format!(
                "with {k} = \"{v}\" (from `{t}`) does not fit the tool's parameter: {e} (it is of type {})",
                p.ty.describe()
            )))
        })
    }

    pub(super) fn digest_of(&self, r: &Resolved) -> String {
        let env: Vec<(String, String)> =
            r.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        digest::approval_digest(
            &r.digest_action,
            &env,
            &r.place,
            &self.cfg.params,
            &self.masker,
        )
    }

    /// The directory step `i` runs in: its `dir` (relative to the workflow file's
    /// directory), else that directory.
    pub(super) fn step_dir(&self, i: usize) -> std::path::PathBuf {
        match &self.plan.steps[i].dir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => self.plan.base_dir.join(d),
            None => self.plan.base_dir.clone(),
        }
    }

    pub(super) fn spec(
        &self,
        i: usize,
        attempt: u32,
        action: SpawnAction,
        mut env: BTreeMap<String, String>,
    ) -> SpawnSpec {
        let step = &self.plan.steps[i];
        let alternative = self.steps[i].alternative;
        env.insert("BATON_ATTEMPT".into(), attempt.to_string());
        env.insert("BATON_ALTERNATIVE".into(), alternative.to_string());
        // A revised step's round and the push-back's reason: values in the
        // environment, never in its command.
        if let Some((round, feedback)) = self.feedback_of(i) {
            env.insert("BATON_ROUND".into(), round.to_string());
            env.insert("BATON_FEEDBACK".into(), feedback.clone());
        }
        let dir = self.step_dir(i);
        let local_env = self.local_env(&env);
        SpawnSpec {
            step: i,
            step_id: step.id.clone(),
            attempt,
            action,
            dir,
            env: env.into_iter().collect(),
            local_env,
            timeout: step.alternative(alternative).timeout,
            secret_values: self.cfg.secret_values.clone(),
            cache: None,
            // Resolved before (`resolve`): what it reads is on record.
            artifacts: self.handed(i).map(|(h, _)| h).unwrap_or_default(),
        }
    }

    /// What an attempt gets on top of `env` only if it runs on this machine (the
    /// local shell adds it; an SSH, Slurm or batch host is sent `env` alone: the path
    /// means nothing there): the run's store as `BATON_DB` (its `baton ask` writes
    /// there), unless `env` names one.
    pub(super) fn local_env(&self, env: &BTreeMap<String, String>) -> Vec<(String, String)> {
        match &self.cfg.store {
            Some(db) if !env.contains_key("BATON_DB") => {
                vec![("BATON_DB".into(), db.to_string_lossy().into_owned())]
            }
            _ => Vec::new(),
        }
    }
}
