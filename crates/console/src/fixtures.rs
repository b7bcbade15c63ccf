//! Fixed `RunView`s with a fixed clock, for snapshot tests, benchmarks and screenshots.
//! `release()` is a release workflow mid-run: one gate open, one failed step with its
//! error, one step waiting to retry, two running, and hostile bytes in a log.
use baton_model::health::{StepScore, compute};
use baton_model::view::{Actions, AuditView, BudgetView, GoldenSignals};
use baton_model::{
    AuditAction, ErrorKind, ErrorRecord, GateView, RunState, RunSummary, RunView, Severity,
    StepState, StepView, Timestamp,
};
use std::collections::BTreeMap;

mod run_form;
mod schedules;
mod timeline;
/// A form's param as the session declares it (the console's own tests build forms).
#[cfg(test)]
pub(crate) use run_form::param as form_param;
pub use run_form::{fork_with_params, run_form, runs_diff};
pub use schedules::schedules;

/// 2025-06-15 15:06:40 UTC: every fixture time is an offset from here.
pub const T0: i64 = 1_750_000_000_000;
const S: i64 = 1000;
const RUN: &str = "01JXR3T5K9QZ8W2M4N6P7A1B3C";

fn at(secs: i64) -> Timestamp {
    Timestamp(T0 + secs * S)
}

fn step(id: &str, needs: &[usize], state: StepState, action: &str) -> StepView {
    StepView {
        marked: None,
        hold: None,
        history: Vec::new(),
        freezes: Vec::new(),
        summary: None,
        usage: None,
        round: None,
        item: None,
        id: id.into(),
        needs: needs.to_vec(),
        state,
        attempts: 0,
        max_attempts: 3,
        action: action.into(),
        pool: None,
        has_gate: false,
        queued_at: None,
        started_at: None,
        finished_at: None,
        duration_ms: None,
        retry_at: None,
        exit_code: None,
        signal: None,
        timed_out: false,
        timeout_ms: None,
        outputs: BTreeMap::new(),
        error: None,
        log_path: None,
        log_tail: Vec::new(),
        actions: Actions::default(),
        jobs: Vec::new(),
        cached_from: None,
        reused_from: None,
        artifacts: Vec::new(),
        probe: None,
        inputs: BTreeMap::new(),
        changed_inputs: BTreeMap::new(),
        ask: None,
        waiting_for: None,
        left_running: None,
        child_run: None,
        why: None,
        condition: None,
        fallback: Vec::new(),
        alternative: 0,
        fan: None,
        parent: None,
    }
}

fn ran(mut s: StepView, start: i64, end: Option<i64>, attempts: u32) -> StepView {
    s.queued_at = Some(at(start - 1));
    s.started_at = Some(at(start));
    s.finished_at = end.map(at);
    s.duration_ms = end.map(|e| ((e - start) * S) as u64);
    s.attempts = attempts;
    if end.is_some() && s.state == StepState::Succeeded {
        s.exit_code = Some(0);
    }
    s.log_path = Some(format!("/var/lib/baton/logs/{RUN}/{}.{attempts}.log", s.id).into());
    s
}

fn err(kind: ErrorKind, step: &str, attempt: u32, msg: &str, t: i64) -> ErrorRecord {
    ErrorRecord::builder(kind, msg)
        .run(RUN)
        .step(step, attempt)
        .suggestion(advice(kind, step, baton_model::suggest::Cause::Attempt))
        .build(at(t))
}

/// What baton suggests for a record of `kind` on `step` of this run (`model::suggest`).
fn advice(kind: ErrorKind, step: &str, cause: baton_model::suggest::Cause) -> String {
    use baton_model::suggest::{Situation, suggest};
    suggest(
        kind,
        &Situation {
            run: RUN,
            step: Some(step),
            workflow: "/srv/release/release.toml",
            params: &[],
            cause,
            closed: None,
            will_retry: false,
            log: true,
            builtin: None,
            idempotent: true,
            step_timeout: Some("5m".into()),
            run_timeout: None,
        },
    )
}

/// The release workflow, 7 minutes in.
pub fn release() -> RunView {
    let mut steps = release_steps();
    let docs_err = release_details(&mut steps);
    timeline::histories(&mut steps);
    let errors = release_errors(&steps, docs_err);
    let gates = vec![release_gate()];
    let audit = release_audit();
    finish(RunView {
        waiting_for: None,
        run_id: RUN.into(),
        workflow: "release".into(),
        description: Some("Build, test, ship".into()),
        state: RunState::Running,
        driven_by: None,
        operator: "alice".into(),
        labels: Default::default(),
        source_path: "release.toml".into(),
        workflow_hash: None,
        started_at: Some(at(0)),
        finished_at: None,
        summary: None,
        forked_from: None,
        forked_into: Vec::new(),
        triggers: Default::default(),
        parent: None,
        now: at(420),
        engine_gone_at: None,
        health: compute([], &[]),
        budget: Some(BudgetView {
            cost: Some((3.2, 25.0)),
            calls: Some((41, 500)),
            tokens: None,
            used_cost: 3.2,
            used_calls: 41,
            used_tokens: 18_250,
            exhausted: Vec::new(),
            burn: Vec::new(),
            rejected: None,
        }),
        deadlines: Vec::new(),
        steps,
        gates,
        errors,
        audit,
        notes: Vec::new(),
        signals: GoldenSignals {
            finished_per_sec: 0.014,
            error_rate: 0.25,
            p50_ms: Some(57_000),
            p95_ms: Some(127_000),
            queue_depth: 1,
            running: 2,
        },
        actions: Actions::default(),
        version: 42,
    })
}

/// The release workflow's steps, as far as each got at +7m.
fn release_steps() -> Vec<StepView> {
    use StepState::*;
    vec![
        ran(
            step("checkout", &[], Succeeded, "git clone --depth 1 $REPO ."),
            0,
            Some(4),
            1,
        ),
        ran(
            step(
                "build",
                &[0],
                Succeeded,
                "make build && echo version=$(cat VERSION) >> \"$BATON_OUTPUT\"",
            ),
            5,
            Some(62),
            1,
        ),
        ran(step("lint", &[0], Succeeded, "make lint"), 5, Some(21), 1),
        ran(
            step("unit-tests", &[1], Succeeded, "make test"),
            63,
            Some(190),
            2,
        ),
        ran(
            step("integration-tests", &[1], RetryWait, "./ci/integration.sh"),
            63,
            None,
            1,
        ),
        ran(
            step("docs", &[1], Failed, "mdbook build docs"),
            63,
            Some(71),
            1,
        ),
        ran(
            step("package", &[3, 2], Running, "./ci/package.sh --sign"),
            191,
            None,
            1,
        ),
        ran(
            step("sbom", &[1], Running, "syft . -o spdx-json > sbom.json"),
            380,
            None,
            1,
        ),
        ran(
            step("deploy-staging", &[3], Succeeded, "./deploy.sh staging"),
            191,
            Some(300),
            1,
        ),
        step(
            "deploy-prod",
            &[8, 5],
            WaitingApproval,
            "./deploy.sh production",
        ),
        step(
            "smoke-prod",
            &[9],
            Pending,
            "./ci/smoke.sh https://example.com",
        ),
        step("announce", &[10], Pending, "builtin.notify"),
        step("page-oncall", &[9], Pending, "echo deploy failed"),
        ran(
            step("publish-crate", &[6, 0], Queued, "cargo publish"),
            400,
            None,
            0,
        ),
    ]
}

/// The release steps' outputs, logs, timeouts, pools and errors; the docs step's error,
/// which the Errors tab lists too.
fn release_details(steps: &mut [StepView]) -> ErrorRecord {
    steps[1].outputs.insert("version".into(), "1.4.2".into());
    steps[1].outputs.insert("commit".into(), "9f3c2e1".into());
    steps[1].outputs.insert(
        "artifact".into(),
        "s3://releases.example.com/release/1.4.2/app-1.4.2-linux-x86_64.tar.gz".into(),
    );
    steps[1].log_tail = vec![
        "   Compiling baton v1.4.2".into(),
        "\u{1b}[1;32m    Finished\u{1b}[0m release [optimized] target(s) in 55.21s".into(),
    ];
    steps[3].max_attempts = 2;
    steps[4].timeout_ms = Some(300_000);
    // `package` runs under a 10m timeout, fired 10m after its start at +3m11s.
    steps[6].timeout_ms = Some(600_000);
    steps[4].retry_at = Some(at(440));
    // Attempt 1 ran its 5m timeout out (the error below).
    steps[4].duration_ms = Some(300_000);
    steps[4].error = Some(Box::new(
        ErrorRecord::builder(ErrorKind::Timeout, "timed out after 5m00s")
            .run(RUN)
            .step("integration-tests", 1)
            .context("duration_ms", 300_000)
            .suggestion(advice(
                ErrorKind::Timeout,
                "integration-tests",
                baton_model::suggest::Cause::Attempt,
            ))
            .build(at(363)),
    ));
    steps[4].log_tail = vec![
        "running 48 tests".into(),
        "test api::login ... \u{1b}[32mok\u{1b}[0m".into(),
        "test api::upload_large ... (waiting on localstack)".into(),
    ];
    steps[5].exit_code = Some(1);
    let docs_err = ErrorRecord::builder(
        ErrorKind::ExitNonzero,
        "mdbook build docs exited with code 1",
    )
    .run(RUN)
    .step("docs", 1)
    .context("exit_code", 1)
    .context("duration_ms", 8012)
    .context("stderr_tail", "ERROR: broken link ./cli.md#run")
    .suggestion(advice(
        ErrorKind::ExitNonzero,
        "docs",
        baton_model::suggest::Cause::Attempt,
    ))
    .build(at(71));
    steps[5].error = Some(Box::new(docs_err.clone()));
    steps[5].log_tail = vec![
        "\u{1b}]0;owned title\u{7}\u{1b}[2J2025-06-15 INFO Book building has started".into(),
        "2025-06-15 INFO Running the html backend".into(),
        "\u{1b}[31mERROR\u{1b}[0m broken link ./cli.md#run in chapter \"Usage\"".into(),
        "\u{1b}[1;31merror:\u{1b}[0m Rendering failed".into(),
    ];
    steps[6].pool = Some("sign".into());
    steps[6].log_tail = (1..=30)
        .map(|i| {
            format!(
                "[{:>2}/30] packing \u{1b}[36mtarget/dist/part-{i:02}.tar\u{1b}[0m",
                i
            )
        })
        .collect();
    steps[7].log_tail = vec!["syft: cataloging packages…".into()];
    steps[8]
        .outputs
        .insert("url".into(), "https://staging.example.com".into());
    steps[9].has_gate = true;
    steps[9].pool = Some("deploy".into());
    steps[13].pool = Some("registry".into());
    docs_err
}

/// The release run's error records: docs, unit tests (closed), the integration
/// tests' timeout, the registry's rate limit.
fn release_errors(steps: &[StepView], docs_err: ErrorRecord) -> Vec<ErrorRecord> {
    let unit_err = {
        let mut e = err(
            ErrorKind::ExitNonzero,
            "unit-tests",
            1,
            "make test exited with code 2",
            120,
        );
        e.open = false;
        e.context.insert("exit_code".into(), "2".into());
        e
    };
    vec![
        docs_err,
        unit_err,
        steps[4]
            .error
            .as_deref()
            .cloned()
            .unwrap_or_else(|| err(ErrorKind::Timeout, "integration-tests", 1, "timeout", 363)),
        ErrorRecord::builder(
            ErrorKind::RateLimited,
            "registry pool rate 10/min reached; publish-crate waits for a token",
        )
        .run(RUN)
        .step("publish-crate", 0)
        .severity(Severity::Low)
        .suggestion(advice(
            ErrorKind::RateLimited,
            "publish-crate",
            baton_model::suggest::Cause::Rate {
                pool: "registry".into(),
                rate: "10/1m".into(),
            },
        ))
        .build(at(401)),
    ]
}

/// The production deploy's gate: two of three approvers, one vote in.
fn release_gate() -> GateView {
    GateView {
        step: Some(9),
        step_id: "deploy-prod".into(),
        prompt: "Ship 1.4.2 to production?".into(),
        opened_at: at(300),
        deadline: Some(at(300 + 1800)),
        warned: false,
        on_timeout: "reject".into(),
        approvers: vec!["alice".into(), "bob".into(), "carol".into()],
        quorum: 2,
        approvals: vec![("bob".into(), Some("staging smoke tests green".into()))],
        allow_self_approval: false,
        command: "./deploy.sh production".into(),
        needs_outputs: vec![
            ("build".into(), "version".into(), "1.4.2".into()),
            ("build".into(), "commit".into(), "9f3c2e1".into()),
            (
                "deploy-staging".into(),
                "url".into(),
                "https://staging.example.com".into(),
            ),
        ],
        env: vec![
            ("VERSION".into(), "1.4.2".into()),
            ("TARGET".into(), "production".into()),
            (
                "ARTIFACT".into(),
                "s3://releases.example.com/release/1.4.2/app-1.4.2-linux-x86_64.tar.gz".into(),
            ),
            ("DEPLOY_TOKEN".into(), "***".into()),
        ],
        actions: Actions::default(),
        inputs: Vec::new(),
        auto: Vec::new(),
        signed: false,
        round: None,
        revise: Vec::new(),
        revision_diff: String::new(),
    }
}

/// The release run's audit trail so far.
fn release_audit() -> Vec<AuditView> {
    vec![
        AuditView {
            at: at(0),
            actor: "alice".into(),
            action: AuditAction::RunStarted,
            step: None,
            reason: None,
            details: "params: version=1.4.2".into(),
        },
        AuditView {
            at: at(190),
            actor: "carol".into(),
            action: AuditAction::Retry,
            step: Some("unit-tests".into()),
            reason: None,
            details: "re-armed: integration-tests".into(),
        },
        AuditView {
            at: at(340),
            actor: "bob".into(),
            action: AuditAction::ApprovalVote,
            step: Some("deploy-prod".into()),
            reason: Some("staging smoke tests green\nticket OPS-42".into()),
            details: "1 of 2 votes; digest 5be1…c09a".into(),
        },
    ]
}

/// Health from the steps and errors, as the engine computes it, and the actions the
/// engine would offer in these states (the rules of `engine::core`'s `allowed.rs`).
fn finish(mut v: RunView) -> RunView {
    v.health = compute(
        v.steps.iter().map(|s| StepScore {
            state: s.state,
            attempts: s.attempts,
            timed_out: false,
            dealt_with: false,
            marked: s
                .marked
                .as_ref()
                .is_some_and(|m| m.state == baton_model::StepState::Succeeded),
        }),
        &v.errors,
    );
    let live = matches!(
        v.state,
        RunState::Pending | RunState::Running | RunState::Waiting
    );
    let commands = v.state != RunState::Interrupted;
    for s in &mut v.steps {
        let open = s.has_gate && s.state == StepState::WaitingApproval;
        let markable = !matches!(
            s.state,
            StepState::Running
                | StepState::Ready
                | StepState::Compensating
                | StepState::Compensated
                | StepState::CompensationFailed
        );
        s.actions = Actions {
            approve: commands && open,
            reject: commands && open,
            retry: commands
                && matches!(
                    s.state,
                    StepState::Failed | StepState::Rejected | StepState::Interrupted
                ),
            mark_succeeded: commands && markable && s.state != StepState::Succeeded,
            mark_failed: commands && markable && s.state != StepState::Failed,
            ..Actions::default()
        };
    }
    v.actions = Actions {
        cancel: commands && live,
        raise_budget: commands && live && v.budget.is_some(),
        ..Actions::default()
    };
    for g in &mut v.gates {
        g.actions = match g.step {
            Some(i) => Actions {
                approve: v.steps[i].actions.approve,
                reject: v.steps[i].actions.reject,
                ..Actions::default()
            },
            // The budget gate, open: raised or rejected (as the core's `gate_actions`).
            None => Actions {
                raise_budget: v.actions.raise_budget,
                reject: v.actions.raise_budget,
                ..Actions::default()
            },
        };
    }
    v
}

/// `release()` with a second gate whose deadline is near (warned).
pub fn release_two_gates() -> RunView {
    let mut v = release();
    let mut g = v.gates[0].clone();
    g.step = v.step_index("page-oncall");
    g.step_id = "page-oncall".into();
    g.prompt = "Page the on-call engineer?".into();
    g.opened_at = at(410);
    g.deadline = Some(at(480));
    g.warned = true;
    g.approvals.clear();
    g.quorum = 1;
    g.command = "echo deploy failed".into();
    v.gates.push(g);
    finish(v)
}

/// `release()` past its deadline (`within = "5m"`, missed at 5 minutes), with a
/// step's (`package`, `at = "15:21"`) still to come and one met (`unit-tests`).
pub fn deadline_missed() -> RunView {
    let mut v = release();
    let deadline = |step: Option<&str>| baton_model::deadline::DeadlineView {
        step: step.map(str::to_string),
        due: None,
        at: None,
        zone: None,
        within_ms: None,
        missed: None,
        met: false,
    };
    v.deadlines = vec![
        baton_model::deadline::DeadlineView {
            due: Some(at(300)),
            within_ms: Some(300_000),
            missed: Some(at(300)),
            ..deadline(None)
        },
        baton_model::deadline::DeadlineView {
            due: Some(at(860)),
            at: Some("15:21".into()),
            zone: Some("UTC".into()),
            ..deadline(Some("package"))
        },
        baton_model::deadline::DeadlineView {
            due: Some(at(240)),
            within_ms: Some(240_000),
            met: true,
            ..deadline(Some("unit-tests"))
        },
    ];
    finish(v)
}

/// `release()` stopped by its budget: cost and calls used up, the budget gate open.
pub fn budget_exhausted() -> RunView {
    let mut v = release();
    v.state = RunState::Waiting;
    v.budget = Some(BudgetView {
        cost: Some((24.6, 25.0)),
        calls: Some((500, 500)),
        tokens: Some((18_250, 100_000)),
        used_cost: 24.6,
        used_calls: 500,
        used_tokens: 18_250,
        exhausted: vec!["cost".into(), "calls".into()],
        burn: Vec::new(),
        rejected: None,
    });
    let mut g = v.gates[0].clone();
    g.step = None;
    g.step_id = "budget".into();
    g.prompt = "Budget exceeded: calls 500 used of 500 (next step: publish-crate). Raise the budget, reject it or cancel the run.".into();
    g.opened_at = at(415);
    g.deadline = None;
    g.on_timeout = "fail".into();
    g.approvers.clear();
    g.quorum = 1;
    g.approvals.clear();
    g.allow_self_approval = true;
    g.command = String::new();
    g.needs_outputs.clear();
    v.gates.push(g);
    finish(v)
}

/// A large layered DAG: `n` steps in layers of 100, each needing two of the layer before.
pub fn big(n: usize) -> RunView {
    let mut v = release();
    let width = 100usize;
    let states = [
        StepState::Succeeded,
        StepState::Succeeded,
        StepState::Running,
        StepState::Queued,
        StepState::Pending,
        StepState::Failed,
        StepState::Skipped,
    ];
    v.steps = (0..n)
        .map(|i| {
            let layer = i / width;
            let needs: Vec<usize> = if layer == 0 {
                Vec::new()
            } else {
                let base = (layer - 1) * width;
                vec![base + (i * 7) % width, base + (i * 13 + 5) % width]
            };
            let state = if layer < n / width / 2 {
                StepState::Succeeded
            } else {
                states[i % states.len()]
            };
            let mut s = step(&format!("step-{i:05}"), &needs, state, "builtin.noop");
            s.attempts = u32::from(state != StepState::Pending);
            if !matches!(state, StepState::Pending | StepState::Queued) {
                s.started_at = Some(at(i as i64 / 20));
            }
            s
        })
        .collect();
    v.gates.clear();
    v.errors.truncate(1);
    v.workflow = format!("big-{n}");
    finish(v)
}

/// A matrix step fanned out into `n` instances (`test[0]`, …): `lint` succeeded,
/// `test` runs (of its first 20: 12 succeeded, one failed, one skipped, one running,
/// the rest pending; beyond 20, every other one succeeded, the rest pending), `publish`
/// waits for it. Instances are appended after the workflow's steps, as the core does.
pub fn fanned(n: usize) -> RunView {
    use StepState::*;
    let mut v = release();
    let mut steps = vec![
        ran(step("lint", &[], Succeeded, "cargo clippy"), 2, Some(30), 1),
        ran(step("test", &[0], Running, "cargo test"), 31, None, 0),
        step("publish", &[1], Pending, "cargo publish"),
    ];
    for k in 0..n {
        let state = match k {
            0..=11 => Succeeded,
            12 => Failed,
            13 => Skipped,
            14 => Running,
            15..=19 => Pending,
            _ if k % 2 == 0 => Succeeded,
            _ => Pending,
        };
        let mut s = step(&format!("test[{k}]"), &[], state, "cargo test");
        if state != Pending && state != Skipped {
            let start = 31 + (k % 40) as i64;
            let end = (state != Running).then_some(start + 20 + (k % 7) as i64);
            s = ran(s, start, end, 1);
        }
        if state == Failed {
            s.exit_code = Some(101);
        }
        if k % 3 == 2 {
            s.jobs = vec![baton_model::AttemptJob {
                attempt: 1,
                job: baton_model::JobView::submitted("hpc", &format!("{}", 4100 + k)),
            }];
        }
        s.parent = Some(1);
        steps.push(s);
    }
    steps[1].fan = Some(baton_model::fan::FanView {
        instances: 3..3 + n,
        counts: baton_model::fan::FanCounts::pending(n),
    });
    v.steps = steps;
    baton_model::fan::recount(&mut v);
    v.gates.clear();
    v.errors.clear();
    v.audit.truncate(1);
    v.workflow = "matrix".into();
    finish(v)
}

/// A finished, failed run (final state).
pub fn finished_failed() -> RunView {
    let mut v = release();
    v.state = RunState::Failed;
    v.finished_at = Some(at(420));
    v.gates.clear();
    for s in &mut v.steps {
        if !s.state.is_final() {
            s.state = StepState::Skipped;
        }
    }
    finish(v)
}

/// `release` with two steps on a Slurm executor: `package` still queued for
/// resources, `unit-tests` finished after a wait in the queue.
pub fn cluster_jobs() -> RunView {
    let mut v = release();
    let job =
        |attempt: u32, id: &str, state: &str, reason: Option<&str>, running_at: Option<i64>| {
            vec![baton_model::AttemptJob {
                attempt,
                job: baton_model::JobView {
                    executor: "hpc".into(),
                    job_id: id.into(),
                    state: Some(state.into()),
                    reason: reason.map(str::to_string),
                    running_at: running_at.map(at),
                },
            }]
        };
    for s in &mut v.steps {
        let attempt = s.attempts;
        match s.id.as_str() {
            "package" => s.jobs = job(attempt, "48213", "PENDING", Some("Resources"), None),
            "unit-tests" => s.jobs = job(attempt, "48190", "COMPLETED", None, Some(101)),
            _ => {}
        }
    }
    v
}

/// `release` where the cache answered `build` and `lint` (no process ran: `≡`).
pub fn cached_steps() -> RunView {
    let mut v = release();
    for s in &mut v.steps {
        if matches!(s.id.as_str(), "build" | "lint") {
            s.cached_from = Some("01J9Z3QK7V2M4P8R6T0W5X1Y3A".into());
            s.duration_ms = Some(0);
        }
    }
    v
}

/// `release` as a fork with a hold on: `checkout` and `build` reused from the run it
/// forked (`⇐`), `package` frozen by `P` at +4m10s and still frozen at the clock (+7m),
/// `sbom` started at +5m, frozen 44 s (+5m20s to +6m04s) and running again, `publish-crate` held before
/// it started (`⏯`). Both running steps have a `timeout`.
pub fn held_frozen_reused() -> RunView {
    use baton_model::timeline::Freeze;
    use baton_model::view::HoldView;
    let mut v = release();
    for s in &mut v.steps {
        match s.id.as_str() {
            "checkout" | "build" => s.reused_from = Some("01J9Z3QK7V2M4P8R6T0W5X1Y3A".into()),
            "package" => {
                s.hold = Some(Box::new(HoldView {
                    by: "alice".into(),
                    reason: "waiting on the HSM fix".into(),
                    at: at(250),
                    until: None,
                    frozen: true,
                    exhausted: false,
                    budget: false,
                }));
                s.freezes = vec![Freeze {
                    attempt: s.attempts,
                    from: at(250),
                    to: None,
                }];
                s.timeout_ms = Some(600_000);
                s.actions.hold = false;
                s.actions.release = true;
            }
            "sbom" => {
                s.started_at = Some(at(300));
                s.history = [(StepState::Queued, 0, 62), (StepState::Running, 1, 300)]
                    .iter()
                    .map(
                        |&(state, attempt, secs)| baton_model::timeline::Transition {
                            state,
                            attempt,
                            at: at(secs),
                        },
                    )
                    .collect();
                s.freezes = vec![Freeze {
                    attempt: s.attempts,
                    from: at(320),
                    to: Some(at(364)),
                }];
                s.timeout_ms = Some(300_000);
            }
            "publish-crate" => {
                s.state = StepState::Held;
                s.hold = Some(Box::new(HoldView {
                    by: "bob".into(),
                    reason: "release freeze until Monday".into(),
                    at: at(399),
                    until: None,
                    frozen: false,
                    exhausted: false,
                    budget: false,
                }));
                s.actions.hold = false;
                s.actions.release = true;
            }
            _ => {}
        }
    }
    v
}

/// `release` where `publish-crate` was skipped by its condition and `page-oncall`
/// could not run because a need failed.
pub fn conditions() -> RunView {
    let mut v = release();
    for s in &mut v.steps {
        match s.id.as_str() {
            "publish-crate" => {
                s.state = StepState::Skipped;
                s.condition = Some("starts_with(params.ref, 'refs/tags/')".into());
                s.why = Some("condition false: starts_with(params.ref, 'refs/tags/') (params.ref = \"refs/heads/main\")".into());
            }
            "page-oncall" => {
                s.state = StepState::UpstreamFailed;
                s.why = Some("needs `docs`, which is failed (when = all_success)".into());
            }
            _ => {}
        }
    }
    v
}

/// `release` where `unit-tests` is `draft-notes`, a model router that failed with
/// `pro` and was served by its first fallback alternative, `pro-1.5`.
pub fn fallbacks() -> RunView {
    let mut v = release();
    if let Some(s) = v.steps.iter_mut().find(|s| s.id == "unit-tests") {
        s.id = "draft-notes".into();
        s.action = "./draft.sh".into();
        s.max_attempts = 4;
        s.fallback = vec![
            "MODEL=pro-1.5".into(),
            "MODEL=flash, timeout 1m, 2 attempts".into(),
        ];
        s.alternative = 1;
    }
    v
}

/// `release` where `sbom` is `registry`, a service that passed its readiness probe
/// (`◉ ready`) and whose latest liveness check passed.
pub fn service_ready() -> RunView {
    let mut v = release();
    if let Some(s) = v.steps.iter_mut().find(|s| s.id == "sbom") {
        s.id = "registry".into();
        s.state = StepState::Ready;
        s.action = "./ci/registry.sh --port 5000".into();
        s.max_attempts = 3;
        s.log_tail = vec!["listening on 127.0.0.1:5000".into()];
        s.probe = Some(Box::new(baton_model::ProbeView {
            probe: baton_model::ProbeKind::Live,
            check: "http http://127.0.0.1:5000/v2/".into(),
            ok: true,
            detail: "HTTP 200 OK".into(),
            failures: 0,
            at: at(415),
        }));
    }
    v
}

/// [`runs`] as the console is sent them.
pub fn shared_runs() -> baton_model::SharedRuns {
    std::sync::Arc::new(runs().into_iter().map(std::sync::Arc::new).collect())
}

/// The store's run list: live, finished and interrupted runs, newest first.
pub fn runs() -> Vec<RunSummary> {
    let r = |id: &str, wf: &str, state, start: i64, end: Option<i64>, total, done, h| RunSummary {
        id: id.into(),
        workflow: wf.into(),
        state,
        driven_by: None,
        operator: "alice".into(),
        labels: Default::default(),
        params: Default::default(),
        started_at: at(start),
        finished_at: end.map(at),
        stopped_at: None,
        steps_total: total,
        steps_done: done,
        health: h,
        rejected: false,
        forked_from: None,
        started_by: None,
        notes: 0,
    };
    let mut runs = vec![
        r(
            RUN,
            "release",
            RunState::Running,
            0,
            None,
            14,
            6,
            Some(62.0),
        ),
        r(
            "01JXQZ0M3D5E7F9G1H2J3K4L5M",
            "nightly-etl",
            RunState::Interrupted,
            -3600,
            None,
            120,
            87,
            Some(91.5),
        ),
        r(
            "01JXQY8A1B2C3D4E5F6G7H8J9K",
            "release",
            RunState::Failed,
            -7200,
            Some(-6900),
            14,
            9,
            Some(35.0),
        ),
        r(
            "01JXQX7Z9Y8X7W6V5U4T3S2R1Q",
            "docs-site",
            RunState::Succeeded,
            -86400,
            Some(-86280),
            5,
            5,
            Some(100.0),
        ),
    ];
    // The interrupted run's engine stopped 48 s in: its clock stops there.
    for r in runs.iter_mut().filter(|r| r.state == RunState::Interrupted) {
        r.stopped_at = Some(at(-3552));
    }
    runs
}

/// What waits on `carol` across three runs (the Waiting tab): `release()`'s gates, an
/// interrupted run's exhausted budget, and a step that waits for a mark, as
/// `model::inbox` derives them from each run's view.
pub fn waiting() -> Vec<baton_model::inbox::Waiting> {
    use baton_model::inbox;
    let mut items = inbox::waiting(&release_two_gates(), "carol");
    let mut budget = budget_exhausted();
    budget.run_id = "01JXQZ0M3D5E7F9G1H2J3K4L5M".into();
    budget.workflow = "nightly-etl".into();
    budget.state = RunState::Interrupted;
    // Its engine was last seen 2 s before now: its clocks stand there.
    budget.engine_gone_at = Some(at(418));
    budget.gates.retain(|g| g.step.is_none());
    items.extend(inbox::waiting(&budget, "carol"));
    let mut marked = finished_failed();
    marked.run_id = "01JXQY8A1B2C3D4E5F6G7H8J9K".into();
    if let Some(s) = marked
        .steps
        .iter_mut()
        .find(|s| s.state == StepState::Failed)
    {
        s.state = StepState::Interrupted;
        s.actions.mark_failed = true;
        s.actions.mark_succeeded = true;
        s.actions.retry = true;
    }
    items.extend(inbox::waiting(&marked, "carol"));
    inbox::sort(&mut items);
    items
}
