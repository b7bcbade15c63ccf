//! Reading the workflow as a whole: its name, parallelism, steps' list, run-wide `env`,
//! and the graph of `needs` and of what steps read from each other.
use super::*;
use crate::graph::Analysis;

impl Loader<'_, '_> {
    /// The workflow's `name`: required, not empty.
    pub(super) fn workflow_name(&mut self, top: &[Entry]) -> String {
        let name = match get(top, "name") {
            Some(n) => self.string(n, "`name`").unwrap_or_default().to_string(),
            None => {
                self.err(
                    &(0..0),
                    "the workflow has no `name`",
                    "add a line such as name = \"release\" at the top of the file",
                );
                String::new()
            }
        };
        if get(top, "name").is_some() && name.trim().is_empty() && self.r.diags.is_empty() {
            let span = get(top, "name").map(|n| n.span.clone()).unwrap_or(0..0);
            self.err(
                &span,
                "`name` is empty",
                "give the workflow a name such as \"release\"",
            );
        }
        name
    }

    /// `max_parallel`: at least 1; by default, the machine's parallelism.
    pub(super) fn max_parallel(&mut self, top: &[Entry]) -> usize {
        match get(top, "max_parallel") {
            Some(n) => self.int_at_least(n, "`max_parallel`", 1).unwrap_or(1) as usize,
            None => machine_parallelism(),
        }
    }

    /// The `[[step]]` blocks, read (none: an error saying how to write one).
    pub(super) fn raw_steps<'n>(
        &mut self,
        top: &'n [Entry],
        default_timeout: Option<Duration>,
        default_retry: &RetryPolicy,
    ) -> Vec<RawStep<'n>> {
        match get_entry(top, "step") {
            None => {
                let hint = if get(top, "steps").is_some() {
                    "steps are written [[step]] (singular), one block per step"
                } else {
                    "add at least one step:\n    [[step]]\n    id = \"hello\"\n    run = \"echo hello\""
                };
                self.err(&(0..0), "the workflow has no steps", hint);
                Vec::new()
            }
            Some(e) => self.steps(e, default_timeout, default_retry),
        }
    }

    /// No step fans out over a secret parameter.
    pub(super) fn refuse_secret_fanouts(
        &mut self,
        raw_steps: &[RawStep<'_>],
        params: &[ParamSpec],
    ) {
        for s in raw_steps {
            if let (Some(f), Some((id, _))) = (&s.fanout, &s.id) {
                self.refuse_secret_axes(f, &format!("step `{id}`"), params);
            }
        }
    }

    /// The run-wide `env`'s templates, which may read each other but not in a cycle.
    pub(super) fn run_env(
        &mut self,
        env: &[TextEntry<'_>],
        param_names: &[&str],
    ) -> BTreeMap<String, Template> {
        let mut plan_env = BTreeMap::new();
        for e in env {
            if let Some(t) = self.template(e, TemplateSite::RunEnv, param_names) {
                plan_env.insert(e.key.to_string(), t);
            }
        }
        for cycle in crate::envrefs::env_cycles(&plan_env) {
            let span = env
                .iter()
                .find(|e| e.key == cycle[0])
                .map_or(0..0, |e| e.span.clone());
            self.err(
            &span,
            format!("the run-wide `env` entries read each other in a cycle: {}", cycle.join(" -> ")),
            format!(
                "`{0} -> {1}` means the value of {0} reads ${{{{ env.{1} }}}}; give one of these entries a value that does not read the others",
                cycle[0], cycle[1]
            ),
        );
        }
        plan_env
    }

    /// The graph of `needs`: no cycle, and each step reading (or a gate revising)
    /// only steps among its ancestors.
    pub(super) fn check_graph(
        &mut self,
        top: &[Entry],
        steps: &[Step],
        refs: &[StepRef],
        raw_steps: &[RawStep<'_>],
    ) -> Analysis {
        let g = graph::analyse(&steps.iter().map(|s| s.needs.as_slice()).collect::<Vec<_>>());
        for cycle in &g.cycles {
            let first = cycle[0];
            let next = cycle[1 % cycle.len()];
            let span = need_span(top, &raw_steps[first].span, &steps[next].id)
                .unwrap_or_else(|| raw_steps[first].span.clone());
            let mut names: Vec<&str> = cycle.iter().map(|&i| steps[i].id.as_str()).collect();
            names.push(&steps[first].id);
            self.err(
                &span,
                format!("dependency cycle: {}", names.join(" -> ")),
                "each arrow reads \"needs\"; remove one of these `needs` entries so the steps can be ordered",
            );
        }
        if g.cycles.is_empty() {
            let pairs: Vec<(usize, usize)> = refs.iter().map(|r| (r.from, r.target)).collect();
            let ok = graph::ancestors_hold(steps, &g.layers, &pairs);
            for (r, ok) in refs.iter().zip(ok) {
                if r.read == Read::Result && !steps[r.from].needs.contains(&r.target) {
                    let (from, target) = (&steps[r.from].id, &steps[r.target].id);
                    self.err(
                        &r.span,
                        format!("step `{from}` reads `needs.{target}.result`, but `{target}` is not one of its needs"),
                        format!("`needs.ID.result` reads a step's own needs (GitHub's `needs` context): add \"{target}\" to the `needs` of `{from}`, or read `steps.{target}.state` of an ancestor"),
                    );
                } else if !ok && r.read == Read::Revise {
                    self.err(
                        &r.span,
                        format!(
                            "the gate of step `{}` revises `{}`, which is not among its ancestors",
                            steps[r.from].id, steps[r.target].id
                        ),
                        format!(
                            "a push-back runs again steps that finish before the gate opens: add \"{}\" to the `needs` of `{}` (directly or through a step it needs), or revise one of its ancestors",
                            steps[r.target].id, steps[r.from].id
                        ),
                    );
                } else if !ok {
                    self.err(
                        &r.span,
                        format!(
                            "step `{}` reads `steps.{}.{}`, but `{}` is not among its ancestors",
                            steps[r.from].id,
                            steps[r.target].id,
                            r.path(),
                            steps[r.target].id
                        ),
                        format!(
                            "a step can only read {} of steps that finish before it starts; add \"{}\" to the `needs` of `{}` (directly or through a step it needs)",
                            r.read.noun(),
                            steps[r.target].id,
                            steps[r.from].id
                        ),
                    );
                }
            }
        }
        g
    }
}

/// Where the `[[step]]` block at `step` first writes `needs = ["<id>"]`, read from the
/// tree: only a cycle's message needs it, so no step keeps the spans of its needs.
fn need_span(top: &[Entry], step: &Span, id: &str) -> Option<Span> {
    let Val::Array(items) = &get(top, "step")?.val else {
        return None;
    };
    let block = items.iter().find(|n| n.span == *step)?.entries()?;
    let Val::Array(needs) = &get(block, "needs")?.val else {
        return None;
    };
    needs
        .iter()
        .find(|n| matches!(&n.val, Val::Str(s) if s == id))
        .map(|n| n.span.clone())
}

/// The machine's parallelism, read once: `available_parallelism` reads the cgroup's
/// files on every call, and a run's workflow is loaded again at every takeover.
fn machine_parallelism() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
