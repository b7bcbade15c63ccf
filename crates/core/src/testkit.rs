//! Test helpers: build `Plan` values directly (the loader is not needed) and drive a
//! core on a fake clock.
use super::*;
use baton_model::EventKind;
use baton_workflow::{
    Action, Gate, OnTimeout, OutputSpec, Pool, Rate, RetryPolicy, Step, Template, Trigger,
};

pub(crate) struct PlanBuilder {
    plan: Plan,
}

pub(crate) fn plan() -> PlanBuilder {
    PlanBuilder {
        plan: Plan {
            name: "test".into(),
            description: None,
            source: PathBuf::from("/w/workflow.toml"),
            base_dir: PathBuf::from("/w"),
            max_parallel: 4,
            timeout: None,
            budget: None,
            deadline: None,
            params: Vec::new(),
            env: BTreeMap::new(),
            secrets: Vec::new(),
            secret_sources: Vec::new(),
            pools: Vec::new(),
            executors: Vec::new(),
            notify: Vec::new(),
            tools: BTreeMap::new(),
            steps: Vec::new(),
            layers: Vec::new(),
            dependants: Vec::new(),
            schedules: Vec::new(),
            triggers: Vec::new(),
            approvals: None,
            concurrency: None,
            warnings: Vec::new(),
        },
    }
}

pub(crate) fn gate() -> Gate {
    Gate {
        prompt: Template::literal("ship it?"),
        approvers: Vec::new(),
        quorum: 1,
        timeout: None,
        on_timeout: OnTimeout::Reject,
        allow_self_approval: true,
        signed: false,
        inputs: Vec::new(),
        auto: Vec::new(),
        revise: Vec::new(),
        rounds: 1,
    }
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl PlanBuilder {
    pub(crate) fn step(self, id: &str) -> Self {
        self.step_needs(id, &[])
    }

    pub(crate) fn step_needs(mut self, id: &str, needs: &[&str]) -> Self {
        let needs = needs
            .iter()
            .map(|n| self.plan.step_index(n).expect("need declared earlier"))
            .collect();
        let index = self.plan.steps.len();
        self.plan.steps.push(Step {
            id: id.into(),
            index,
            needs,
            action: Action::Shell {
                run: format!("echo {id}"),
            },
            with: BTreeMap::new(),
            env: BTreeMap::new(),
            when: Trigger::AllSuccess,
            allow_failure: false,
            mark_success: false,
            on_cancel: false,
            timeout: None,
            retry: RetryPolicy::default(),
            executor: None,
            cost: 0.0,
            idempotent: true,
            line: index + 1,
            rare: Default::default(),
        });
        self
    }

    /// Change the last step.
    pub(crate) fn with(mut self, f: impl FnOnce(&mut Step)) -> Self {
        f(self.plan.steps.last_mut().expect("a step first"));
        self
    }

    pub(crate) fn gate(self, g: Gate) -> Self {
        self.with(|s| s.gate = Some(Box::new(g)))
    }

    pub(crate) fn when(self, t: Trigger) -> Self {
        self.with(|s| s.when = t)
    }

    pub(crate) fn retry(self, attempts: u32, delay_s: u64) -> Self {
        self.with(|s| {
            s.retry = RetryPolicy {
                attempts,
                delay: secs(delay_s),
                ..RetryPolicy::default()
            }
        })
    }

    pub(crate) fn output(self, key: &str, pattern: Option<&str>) -> Self {
        let pattern = pattern.map(|p| regex::Regex::new(p).expect("regex"));
        self.with(|s| {
            s.outputs.insert(key.into(), OutputSpec { pattern });
        })
    }

    pub(crate) fn env(self, key: &str, t: Template) -> Self {
        self.with(|s| {
            s.env.insert(key.into(), t);
        })
    }

    pub(crate) fn in_pool(mut self, pool: &str) -> Self {
        let p = self
            .plan
            .pools
            .iter()
            .position(|p| p.name == pool)
            .expect("pool");
        self.plan.steps.last_mut().expect("step").pool = Some(p);
        self
    }

    pub(crate) fn pool(
        mut self,
        name: &str,
        capacity: usize,
        rate: Option<(u32, u64)>,
        burst: u32,
    ) -> Self {
        self.plan.pools.push(Pool {
            name: name.into(),
            capacity,
            rate: rate.map(|(count, per_ms)| Rate {
                count,
                per: Duration::from_millis(per_ms),
            }),
            burst,
            scope: baton_workflow::PoolScope::Run,
        });
        self
    }

    /// Make the last pool added shared by every run in the store (`scope = "store"`).
    pub(crate) fn store_scoped(mut self) -> Self {
        self.plan.pools.last_mut().expect("pool").scope = baton_workflow::PoolScope::Store;
        self
    }

    /// Make the last step a service with these probes (`restarts`: its `restart`).
    pub(crate) fn service(
        self,
        ready: Option<baton_workflow::ReadyProbe>,
        live: Option<baton_workflow::LiveProbe>,
        restarts: u32,
    ) -> Self {
        self.with(|s| {
            s.service = Some(Box::new(baton_workflow::ServiceSpec { ready, live }));
            s.retry = RetryPolicy {
                attempts: restarts + 1,
                backoff: baton_workflow::Backoff::Fixed,
                delay: secs(1),
                max_delay: secs(1),
                jitter: false,
                hold_when_exhausted: false,
            };
        })
    }

    pub(crate) fn max_parallel(mut self, n: usize) -> Self {
        self.plan.max_parallel = n;
        self
    }

    pub(crate) fn plan_mut(mut self, f: impl FnOnce(&mut Plan)) -> Self {
        f(&mut self.plan);
        self
    }

    pub(crate) fn build(mut self) -> Arc<Plan> {
        let n = self.plan.steps.len();
        let mut dependants = vec![Vec::new(); n];
        let mut layer = vec![0usize; n];
        for i in 0..n {
            for &d in &self.plan.steps[i].needs {
                dependants[d].push(i);
                layer[i] = layer[i].max(layer[d] + 1);
            }
        }
        let depth = layer.iter().copied().max().map_or(0, |m| m + 1);
        let mut layers = vec![Vec::new(); depth];
        for (i, &l) in layer.iter().enumerate() {
            layers[l].push(i);
        }
        self.plan.layers = layers;
        self.plan.dependants = dependants;
        Arc::new(self.plan)
    }
}

/// A TCP check of 127.0.0.1:5432.
pub(crate) fn tcp_check() -> baton_workflow::ProbeCheck {
    baton_workflow::ProbeCheck::Tcp {
        text: "127.0.0.1:5432".into(),
        addr: "127.0.0.1:5432".parse().expect("addr"),
    }
}

/// `ready = { tcp = "127.0.0.1:5432", interval = "1s", timeout = "<timeout_s>s" }`.
pub(crate) fn ready_tcp(timeout_s: u64) -> baton_workflow::ReadyProbe {
    baton_workflow::ReadyProbe {
        check: tcp_check(),
        interval: secs(1),
        timeout: secs(timeout_s),
    }
}

/// `live = { tcp = "127.0.0.1:5432", interval = "5s", failures = <failures> }`.
pub(crate) fn live_tcp(failures: u32) -> baton_workflow::LiveProbe {
    baton_workflow::LiveProbe {
        check: tcp_check(),
        interval: secs(5),
        failures,
    }
}

pub(crate) fn cfg() -> RunConfig {
    RunConfig {
        run_id: "r1".into(),
        operator: "olivia".into(),
        params: BTreeMap::new(),
        secret_values: Vec::new(),
        seed: 42,
        auto_approve: false,
        max_parallel: None,
        no_cache: false,
        slot: None,
        store: None,
        workflow_hash: None,
        zone: None,
        parent: None,
    }
}

pub(crate) const T0: i64 = 1_000_000;

/// A core on a fake clock, remembering every effect.
pub(crate) struct Sim {
    pub core: Core,
    pub now: i64,
    pub last: Vec<Effect>,
}

impl Sim {
    pub(crate) fn new(plan: Arc<Plan>, cfg: RunConfig) -> Sim {
        let mut core = Core::new(plan, cfg);
        let last = core.start(Timestamp(T0));
        Sim {
            core,
            now: T0,
            last,
        }
    }

    pub(crate) fn at(&mut self, ms: i64) -> &mut Self {
        self.now = T0 + ms;
        self
    }

    pub(crate) fn input(&mut self, input: Input) -> Vec<Effect> {
        self.last = self.core.handle(input, Timestamp(self.now));
        self.last.clone()
    }

    pub(crate) fn tick_at(&mut self, ms: i64) -> Vec<Effect> {
        self.at(ms);
        self.input(Input::Tick)
    }

    pub(crate) fn idx(&self, id: &str) -> usize {
        self.core.plan.step_index(id).expect("step")
    }

    pub(crate) fn state(&self, id: &str) -> StepState {
        self.core.steps[self.idx(id)].state
    }

    pub(crate) fn attempt(&self, id: &str) -> u32 {
        self.core.steps[self.idx(id)].attempts
    }

    pub(crate) fn exit(&mut self, id: &str, code: i32) -> Vec<Effect> {
        self.finish(id, StepOutcome::Exited { exit_code: code }, vec![])
    }

    pub(crate) fn finish(
        &mut self,
        id: &str,
        outcome: StepOutcome,
        outputs: Vec<(&str, &str)>,
    ) -> Vec<Effect> {
        let step = self.idx(id);
        let attempt = self.attempt(id);
        self.input(Input::StepExited(StepExit {
            step,
            attempt,
            outcome,
            duration_ms: 10,
            outputs: outputs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            usage: Usage::default(),
            stderr_tail: "boom".into(),
        }))
    }

    /// `id`'s first attempt runs as job `job_id` on executor `box` (an SSH host's group,
    /// a cluster's job).
    pub(crate) fn job_started(&mut self, id: &str, job_id: &str) -> Vec<Effect> {
        let step = self.idx(id);
        self.input(Input::JobStarted {
            step,
            attempt: 1,
            executor: "box".into(),
            job_id: job_id.into(),
        })
    }

    /// The process of `id`'s current attempt has started (group 1000 + index).
    pub(crate) fn started(&mut self, id: &str) -> Vec<Effect> {
        let step = self.idx(id);
        let attempt = self.attempt(id);
        self.input(Input::ProcessStarted {
            step,
            attempt,
            pgid: 1000 + step as i32,
            output: None,
        })
    }

    /// A check of `id`'s probe answered.
    pub(crate) fn probed(
        &mut self,
        id: &str,
        probe: ProbeKind,
        ok: bool,
        detail: &str,
    ) -> Vec<Effect> {
        let step = self.idx(id);
        let attempt = self.attempt(id);
        self.input(Input::ProbeResult(ProbeResult {
            step,
            attempt,
            probe,
            ok,
            detail: detail.into(),
        }))
    }

    pub(crate) fn cmd(&mut self, command: Command) -> CommandOutcome {
        let fx = self.input(Input::Command {
            id: Some(7),
            command,
        });
        let done: Vec<&CommandOutcome> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::CommandDone { id, outcome } => {
                    assert_eq!(*id, Some(7));
                    Some(outcome)
                }
                _ => None,
            })
            .collect();
        assert_eq!(done.len(), 1, "exactly one CommandDone");
        done[0].clone()
    }

    pub(crate) fn approve(&mut self, step: &str, who: &str) -> CommandOutcome {
        self.cmd(Command::Approve {
            step: step.into(),
            operator: who.into(),
            reason: None,
            signature: None,
            inputs: Default::default(),
        })
    }

    pub(crate) fn events_named(&self, name: &str) -> Vec<&Event> {
        self.core
            .events()
            .iter()
            .filter(|e| e.kind.name() == name)
            .collect()
    }

    pub(crate) fn open_errors(&self, id: &str) -> Vec<ErrorRecord> {
        self.core
            .errors
            .iter()
            .filter(|e| e.step.as_deref() == Some(id) && e.open)
            .cloned()
            .collect()
    }
}

/// Step ids spawned by a batch of effects.
pub(crate) fn spawned(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Spawn(s) => Some(s.step_id.clone()),
            _ => None,
        })
        .collect()
}

pub(crate) fn spawn_of<'a>(fx: &'a [Effect], id: &str) -> Option<&'a SpawnSpec> {
    fx.iter().find_map(|e| match e {
        Effect::Spawn(s) if s.step_id == id => Some(s),
        _ => None,
    })
}

/// The probe checks asked for by a batch of effects: (step, probe).
pub(crate) fn probes(fx: &[Effect]) -> Vec<(usize, ProbeKind)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Probe(r) => Some((r.step, r.probe)),
            _ => None,
        })
        .collect()
}

pub(crate) fn kills(fx: &[Effect]) -> Vec<usize> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Kill { step, .. } => Some(*step),
            _ => None,
        })
        .collect()
}

pub(crate) fn persisted(fx: &[Effect]) -> Vec<EventKind> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Persist(ev) => Some(ev.kind.clone()),
            _ => None,
        })
        .collect()
}

pub(crate) fn refused(o: &CommandOutcome) -> String {
    match o {
        CommandOutcome::Refused(r) => r.to_string(),
        CommandOutcome::Accepted { message } => panic!("expected refusal, got accepted: {message}"),
    }
}

/// `v=${{ steps.<id>.outputs.<key> }}`, `id` being step `step`.
pub(crate) fn out_ref(step: usize, id: &str, key: &str) -> baton_workflow::Template {
    use baton_workflow::{Template, TemplateRef, TemplateSegment};
    Template {
        segments: vec![
            TemplateSegment::Literal("v=".into()),
            TemplateSegment::Ref(TemplateRef::StepOutput {
                step,
                step_id: id.into(),
                key: key.into(),
            }),
        ],
    }
}

/// The freezes (`true`) and thaws (`false`) among `fx`, by step.
pub(crate) fn freezes(fx: &[Effect]) -> Vec<(usize, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Freeze { step, .. } => Some((*step, true)),
            Effect::Thaw { step, .. } => Some((*step, false)),
            _ => None,
        })
        .collect()
}
