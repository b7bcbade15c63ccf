//! `${{ … }}` templates: run-wide env templates and step templates, checked against
//! the params, the env names and (as `StepRef`s) the steps they read.
use super::resolve::Site;
use super::*;

impl Loader<'_, '_> {
    /// Parse a run-wide env template: no step references allowed there.
    pub(super) fn template(
        &mut self,
        e: &TextEntry<'_>,
        site: TemplateSite,
        param_names: &[&str],
    ) -> Option<Template> {
        let t = self.parse_checked(e, param_names)?;
        if !self.instance_refs_ok(e, &t, site, None, "the run-wide `env`") {
            return None;
        }
        for r in t.refs() {
            let (what, when) = match r {
                TemplateRef::StepOutput { .. } => (
                    "a step output",
                    "step outputs exist only after the step ran",
                ),
                TemplateRef::StepArtifact { .. } => (
                    "a step's artifact",
                    "artifacts exist only after their step ran",
                ),
                TemplateRef::StepInput { .. } => (
                    "a gate's approval input",
                    "approval inputs exist only once the gate is approved",
                ),
                TemplateRef::NeedResult { .. } | TemplateRef::NeedsResults => (
                    "a need's result",
                    "a step's needs' results exist only once they settled",
                ),
                _ => continue,
            };
            debug_assert!(site == TemplateSite::RunEnv);
            self.err(
                &e.span,
                format!("the run-wide `env` value `{}` reads {what} ({r})", e.key),
                format!("{when}: move this entry into the `env` of the step that needs it"),
            );
        }
        Some(t)
    }

    pub(super) fn parse_checked(
        &mut self,
        e: &TextEntry<'_>,
        param_names: &[&str],
    ) -> Option<Template> {
        let t = match parse_template(&e.value) {
            Ok(t) => t,
            Err(msg) => {
                self.err(
                    &e.span,
                    msg.to_string(),
                    "a template is ${{ NAME }} with one name: steps.<id>.outputs.<key>, steps.<id>.inputs.<name>, steps.<id>.artifacts.<name>, needs.<id>.result, needs.*.result, params.<name>, env.<NAME>, run.id, run.slot, matrix.<key>, item or item.<key>",
                );
                return None;
            }
        };
        let mut ok = true;
        for r in t.refs() {
            if let TemplateRef::Env(name) = r
                && !self.env_names.contains(name)
            {
                let names: Vec<&str> = self.env_names.iter().map(String::as_str).collect();
                let hint = match did_you_mean(name, &names, "run-wide `env` entries") {
                    h if h.starts_with("did you mean") => h,
                    h => format!(
                        "{h}; `env.{name}` reads the run-wide [env] table (not baton's own environment): add {name} = \"…\" there"
                    ),
                };
                self.err(
                    &e.span,
                    format!(
                        "template refers to `env.{name}`, which the run-wide `env` does not set"
                    ),
                    hint,
                );
                ok = false;
            }
            if let TemplateRef::Param(p) = r
                && !param_names.contains(&p.as_str())
            {
                let hint = match did_you_mean(p, param_names, "parameters") {
                    h if h.starts_with("did you mean") => h,
                    h => format!("{h}; declare it with [params.{p}]"),
                };
                self.err(
                    &e.span,
                    format!("template refers to unknown parameter `{p}`"),
                    hint,
                );
                ok = false;
            }
        }
        ok.then_some(t)
    }

    /// A `needs.ID.result` read by step `at.i`, resolved to ID's index; `false` (and
    /// said) when ID is not another step. That it is a direct need is checked with the
    /// graph.
    fn need_result_ref(
        &mut self,
        e: &TextEntry<'_>,
        at: &Site<'_, '_, '_>,
        (step, step_id): (&mut usize, &str),
        label: &str,
        refs: &mut Vec<StepRef>,
    ) -> bool {
        match at.index.get(step_id) {
            Some(&target) if target != at.i => {
                *step = target;
                refs.push(StepRef {
                    from: at.i,
                    target,
                    key: String::new(),
                    read: Read::Result,
                    span: e.span.clone(),
                });
                true
            }
            _ => {
                self.err(
                    &e.span,
                    format!("template reads `needs.{step_id}.result`, but `{step_id}` is not one of {label}'s needs"),
                    format!("`needs.ID.result` reads a step's own needs: add \"{step_id}\" to its `needs`"),
                );
                false
            }
        }
    }

    /// Parse a template used by step `i`, resolving step references to indices and
    /// recording them for the ancestor check.
    pub(super) fn step_template(
        &mut self,
        e: &TextEntry<'_>,
        site: TemplateSite,
        at: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Option<Template> {
        let &Site {
            i,
            index,
            raw,
            param_names,
        } = at;
        let mut t = self.parse_checked(e, param_names)?;
        let label = format!("step `{}`", raw[i].id.as_ref().map_or("?", |(id, _)| *id));
        let mut ok = self.instance_refs_ok(e, &t, site, raw[i].fanout.as_deref(), &label);
        for seg in &mut t.segments {
            if let TemplateSegment::Ref(TemplateRef::NeedResult { step, step_id }) = seg {
                ok &= self.need_result_ref(e, at, (step, step_id), &label, refs);
                continue;
            }
            if let TemplateSegment::Ref(TemplateRef::StepArtifact { step, step_id, key }) = seg {
                if !matches!(site, TemplateSite::StepEnv | TemplateSite::With) {
                    self.err(
                        &e.span,
                        format!("{label} reads `steps.{step_id}.artifacts.{key}` outside `env` and `with`"),
                        "an artifact's path is handed to the command that reads it: use the template in the step's `env` or `with`",
                    );
                    ok = false;
                    continue;
                }
                match self.artifact_ref(at, &label, (step_id, key), &e.span, refs) {
                    Some(u) => *step = u.step,
                    None => ok = false,
                }
                continue;
            }
            let (step, step_id, key, input) = match seg {
                TemplateSegment::Ref(TemplateRef::StepOutput { step, step_id, key }) => {
                    (step, step_id, key, false)
                }
                TemplateSegment::Ref(TemplateRef::StepInput { step, step_id, key }) => {
                    (step, step_id, key, true)
                }
                _ => continue,
            };
            let Some(&target) = index.get(step_id.as_str()) else {
                let ids: Vec<&str> = raw
                    .iter()
                    .filter_map(|s| s.id.as_ref().map(|(id, _)| *id))
                    .collect();
                let hint = did_you_mean(step_id, &ids, "step ids");
                self.err(
                    &e.span,
                    format!("template refers to step \"{step_id}\", which is not a step"),
                    hint,
                );
                ok = false;
                continue;
            };
            if input {
                ok &= self.input_ref(e, site, (i, raw), target, (step_id, key));
                *step = target;
                if target != i {
                    refs.push(StepRef {
                        from: i,
                        target,
                        key: key.clone(),
                        read: Read::Input,
                        span: e.span.clone(),
                    });
                }
                continue;
            }
            if target == i {
                self.err(
                    &e.span,
                    format!("step `{step_id}` refers to its own output `{key}`"),
                    "a step's outputs exist only after it ran; read the value inside the step's own command instead",
                );
                ok = false;
                continue;
            }
            let declared = &raw[target].outputs;
            if !declared.is_empty() && !declared.contains_key(key.as_str()) {
                let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                let hint = did_you_mean(key, &names, &format!("outputs declared by `{step_id}`"));
                self.err(
                    &e.span,
                    format!("step `{step_id}` declares no output `{key}`"),
                    hint,
                );
                ok = false;
                continue;
            }
            *step = target;
            refs.push(StepRef {
                from: i,
                target,
                key: key.clone(),
                read: Read::Output,
                span: e.span.clone(),
            });
        }
        ok.then_some(t)
    }

    /// `steps.ID.inputs.NAME` read by step `i`: `ID` has a gate that declares input
    /// `NAME`, and a gate's prompt, asked before the approval, does not read its own.
    fn input_ref(
        &mut self,
        e: &TextEntry<'_>,
        site: TemplateSite,
        (i, raw): (usize, &[RawStep<'_>]),
        target: usize,
        (step_id, key): (&str, &str),
    ) -> bool {
        let Some(gate) = &raw[target].gate else {
            self.err(
                &e.span,
                format!("template reads `steps.{step_id}.inputs.{key}`, but `{step_id}` has no gate"),
                format!("inputs are what an approver gives: add gate = {{ inputs = {{ {key} = {{ type = \"string\" }} }} }} to `{step_id}`, or read one of its outputs (steps.{step_id}.outputs.NAME)"),
            );
            return false;
        };
        if !gate.inputs.iter().any(|p| p.name == key) {
            let names: Vec<&str> = gate.inputs.iter().map(|p| p.name.as_str()).collect();
            let hint = match did_you_mean(key, &names, &format!("inputs of `{step_id}`'s gate")) {
                h if h.starts_with("did you mean") => h,
                h => format!(
                    "{h}; declare it in the gate: inputs = {{ {key} = {{ type = \"string\" }} }}"
                ),
            };
            self.err(
                &e.span,
                format!("the gate of `{step_id}` declares no input `{key}`"),
                hint,
            );
            return false;
        }
        if target == i && site == TemplateSite::InputChoice {
            self.err(
                &e.span,
                format!("the `{}` of an input of `{step_id}`'s gate reads the gate's own input `{key}`", e.key),
                "an input's default and choices are rendered when the gate opens, before anyone gives an input: read a param or an earlier step's output instead",
            );
            return false;
        }
        if target == i && site == TemplateSite::Prompt {
            self.err(
                &e.span,
                format!("the prompt of `{step_id}`'s gate reads its own input `{key}`"),
                "the prompt is shown before anyone gives the inputs: read them in the step's `env` instead",
            );
            return false;
        }
        true
    }
}
