//! Snapshots at 80×24 and 200×60 of two views of issue 76: a step's history across runs
//! of its workflow (`T` on the DAG, point 6) and every step's log in one view (`O`,
//! point 5), drawn from the fixed release run with a fixed clock.
use super::render::{act, typed, ui};
use baton::console::{Action, Theme, UiState, fixtures};
use baton::model::step_trend::{StepRun, StepTrend};
use baton::model::time::human_duration;
use baton::model::{RunView, StepState, Timestamp};
use std::path::Path;

const DAY: i64 = 86_400_000;

/// `build` across 40 nightly runs, newest first: about 50 s, growing to twice that in
/// the newest week, two failures, one run retried; the newest is the run on screen.
fn build_trend(v: &RunView) -> StepTrend {
    let runs = (0..40i64)
        .map(|i| {
            let wobble = (i * 7 % 5) as u64 * 1_500;
            let base = if i < 7 {
                96_000 - i as u64 * 4_000
            } else {
                50_000
            };
            let state = if i == 3 || i == 22 {
                StepState::Failed
            } else {
                StepState::Succeeded
            };
            StepRun {
                run_id: if i == 0 {
                    v.run_id.clone()
                } else {
                    format!("01JXQ{:02}NIGHTLY0000000000{:02}", 40 - i, i)
                },
                started_at: Timestamp(fixtures::T0 - i * DAY),
                state,
                attempts: if i == 5 { 2 } else { 1 },
                duration_ms: Some(base + wobble),
            }
        })
        .collect();
    StepTrend::of(runs)
}

/// `T` on `build`, then the session's answer.
fn history(moves: &[Action]) -> (RunView, UiState) {
    let v = fixtures::release();
    let mut u = ui();
    u.follow = false;
    u.selected = v.step_index("build").unwrap();
    let answer = Action::Historied {
        run_id: v.run_id.clone(),
        workflow: v.workflow.clone(),
        step: "build".into(),
        result: Ok(build_trend(&v)),
    };
    act(&v, &mut u, &[Action::History, answer]);
    act(&v, &mut u, moves);
    (v, u)
}

/// The release run with each attempt's log written under `dir` (the fixture's paths
/// name no file).
fn release_with_logs(dir: &Path) -> RunView {
    let mut v = fixtures::release();
    for s in &mut v.steps {
        if s.log_path.is_none() {
            continue;
        }
        for n in 1..=s.attempts {
            let name = baton::model::log_file_name(&s.id, n);
            let lines: String = (1..=3)
                .map(|k| {
                    format!(
                        "{} attempt {n}: line {k}{}\n",
                        s.id,
                        if k == 2 { " warn: slow disk" } else { "" }
                    )
                })
                .collect();
            std::fs::write(dir.join(&name), lines).unwrap();
        }
        s.log_path = Some(dir.join(baton::model::log_file_name(&s.id, s.attempts)));
    }
    v
}

fn all_logs(dir: &Path, search: Option<&str>) -> (RunView, UiState) {
    let v = release_with_logs(dir);
    let mut u = ui();
    act(&v, &mut u, &[Action::AllLogs]);
    if let Some(s) = search {
        act(&v, &mut u, &[Action::Search]);
        typed(&v, &mut u, s);
        act(&v, &mut u, &[Action::Confirm]);
    }
    (v, u)
}

/// A view and the console's state over it, made when its snapshot is taken.
type Scenario<'a> = Box<dyn Fn() -> (RunView, UiState) + 'a>;

#[test]
fn snapshots_of_a_steps_history_and_of_every_steps_log_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scenarios: Vec<(&str, Scenario<'_>)> = vec![
        ("history", Box::new(|| history(&[]))),
        (
            "history_second_slowest",
            Box::new(|| history(&[Action::Down])),
        ),
        ("all_logs", Box::new(|| all_logs(dir.path(), None))),
        (
            "all_logs_search",
            Box::new(|| all_logs(dir.path(), Some("warn"))),
        ),
    ];
    for (name, setup) in &scenarios {
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let (v, mut u) = setup();
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// What the history says, whatever the size: the figures of `model::step_trend`, the
/// run on screen against the p50, the slowest runs with the selected one marked.
#[test]
fn the_history_shows_the_figures_the_run_on_screen_and_the_slowest_runs() {
    let theme = Theme::load("default").unwrap();
    let (v, mut u) = history(&[]);
    let t = build_trend(&v);
    let s = super::render::text(&super::render::draw(&v, &mut u, &theme, 80, 24));
    let d = |ms: Option<u64>| human_duration(std::time::Duration::from_millis(ms.unwrap()));
    assert!(s.contains("History of build"), "{s}");
    let figures = format!(
        "p50 {} · p95 {} · failed 2 of 40 ended (5.0%)",
        d(t.p50_ms),
        d(t.p95_ms)
    );
    assert!(s.contains(&figures), "{figures}\n{s}");
    // The newest nightly took about twice the p50.
    let ratio = 96_000.0 / t.p50_ms.unwrap() as f64;
    assert!(ratio > 1.7, "{ratio}");
    let this = format!("this run: 1m36s succeeded, {ratio:.1}× the p50");
    assert!(s.contains(&this), "{this}\n{s}");
    // The slowest: the run on screen first, selected.
    assert!(s.contains("▶ ") && s.contains("← on screen"), "{s}");
    let spark = s.lines().find(|l| l.contains('▁')).unwrap();
    assert!(spark.contains('█'), "{spark}");
}
