//! Snapshot tests of every console view and dialog at 80×24 and 120×40 from fixed views
//! with a fixed clock, a style-aware snapshot, and a property test that rendering never
//! panics at any size from 1×1 to 300×100.
pub(super) use super::screen::{draw, draw_part, draw_reading, draw_with, snap, snap_with, text};
use baton::console::{Action, Tab, UiState, update};
use baton::console::{Theme, fixtures};
use baton::model::{CommandOutcome, RunView};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use ratatui::buffer::Buffer;

pub(super) type Setup = fn() -> (RunView, UiState);

pub(super) fn ui() -> UiState {
    let mut ui = UiState::new("carol");
    ui.set_runs(fixtures::shared_runs());
    // Wall-clock times in UTC, whatever the machine's zone.
    ui.utc_offset = chrono::FixedOffset::east_opt(0);
    ui
}

pub(super) fn act(v: &RunView, ui: &mut UiState, actions: &[Action]) {
    for a in actions {
        update(ui, v, a.clone());
    }
}

pub(super) fn typed(v: &RunView, ui: &mut UiState, s: &str) {
    for c in s.chars() {
        update(
            ui,
            v,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

pub(super) fn scenarios() -> Vec<(&'static str, Setup)> {
    let mut all = more_scenarios();
    all.extend(super::render_fork::scenarios());
    all.extend(super::render_run_form::scenarios());
    all
}

fn more_scenarios() -> Vec<(&'static str, Setup)> {
    [
        dag_scenarios(),
        step_detail_scenarios(),
        cached_and_service_scenarios(),
        log_and_approval_scenarios(),
        gate_input_scenarios(),
        list_scenarios(),
        help_and_confirm_scenarios(),
        super::render_waiting::waiting_and_schedules_scenarios(),
        super::render_waiting::child_run_scenarios(),
        super::render_desk::scenarios(),
    ]
    .concat()
}

/// The DAG view: graph and list, its filter, the focus after a rejection.
fn dag_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("dag_graph", || (fixtures::release(), ui())),
        ("dag_list", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph]);
            (v, u)
        }),
        ("dag_filter", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph, Action::Filter]);
            typed(&v, &mut u, "test");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_filter_typing", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "state:fail");
            (v, u)
        }),
        ("dag_filter_unknown_state", || {
            // Refused with the states listed, and the filter stays open for a fix.
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "state:bogus");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_after_rejection", || {
            // Only the gate was live and followed; it is rejected: the focus stays on
            // it instead of jumping to the first step.
            use baton::model::StepState;
            let mut before = fixtures::release();
            for s in before.steps.iter_mut() {
                if matches!(s.state, StepState::Running | StepState::RetryWait) {
                    s.state = StepState::Succeeded;
                }
            }
            let gate = before.step_index("deploy-prod").unwrap();
            let mut after = before.clone();
            after.steps[gate].state = StepState::Rejected;
            after.gates.clear();
            let mut u = ui();
            u.list_mode = Some(true);
            u.keep_focus(&before);
            (after, u)
        }),
    ]
}

/// A step's detail pane: failed, at its gate, resumed, outputs, Slurm.
fn step_detail_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("dag_detail_failed", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "docs");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        // Issue 28 point 9: a step at its gate says for what and who may decide.
        ("dag_detail_waiting", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "deploy-prod");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        // A step re-run after a restart: `1/1+1`, not `2/1`.
        ("dag_detail_resumed_attempt", || {
            let mut v = fixtures::release();
            let i = v.step_index("sbom").unwrap();
            v.steps[i].attempts = 2;
            v.steps[i].max_attempts = 1;
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "sbom");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        // A long output ends in `…` where the pane cuts it.
        ("dag_detail_outputs", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "build");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_detail_slurm_queued", || {
            let v = fixtures::cluster_jobs();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "package");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_detail_slurm_finished", || {
            let v = fixtures::cluster_jobs();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "unit-tests");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
    ]
}

/// Cached steps, conditions, fallbacks, services, a big DAG and its overview.
fn cached_and_service_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("dag_graph_cached", || (fixtures::cached_steps(), ui())),
        ("dag_detail_cached", || {
            let v = fixtures::cached_steps();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "lint");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_detail_condition", || {
            let v = fixtures::conditions();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "publish-crate");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_detail_fallback", || {
            let v = fixtures::fallbacks();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "draft-notes");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_list_upstream_failed", || {
            let v = fixtures::conditions();
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph]);
            (v, u)
        }),
        ("dag_list_service", || {
            let v = fixtures::service_ready();
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph]);
            (v, u)
        }),
        ("dag_detail_service", || {
            let v = fixtures::service_ready();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "registry");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("dag_big_list", || (fixtures::big(10_000), ui())),
        // Zoomed out: one cell per step, the graph's viewport reversed.
        ("dag_overview", || {
            let v = fixtures::big(2_000);
            let mut u = ui();
            act(&v, &mut u, &[Action::Overview]);
            (v, u)
        }),
    ]
}

/// The log view, the approvals list and the approve and reject dialogs.
fn log_and_approval_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("log_full", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Log]);
            (v, u)
        }),
        ("log_search", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Log, Action::Wrap, Action::Search]);
            typed(&v, &mut u, "part-12");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("log_top", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Log, Action::Top]);
            (v, u)
        }),
        ("log_short_scrolled_up", || {
            // A 7-line log scrolled up once still shows all 7 lines.
            let mut v = fixtures::release();
            let pkg = v.step_index("package").unwrap();
            v.steps[pkg].log_tail.truncate(7);
            let mut u = ui();
            act(&v, &mut u, &[Action::Log, Action::Up]);
            (v, u)
        }),
        ("approvals", || {
            let v = fixtures::release_two_gates();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Approvals)]);
            (v, u)
        }),
        // A reason longer than the box wraps at words.
        ("reject_dialog_long_reason", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Approvals), Action::Reject]);
            typed(
                &v,
                &mut u,
                "the staging smoke tests passed but the canary in eu-west shows a 2% error rate on checkout, so not today",
            );
            (v, u)
        }),
        ("approve_dialog", || {
            let v = fixtures::release();
            let mut u = ui();
            act(
                &v,
                &mut u,
                &[Action::GoTab(Tab::Approvals), Action::Approve],
            );
            typed(&v, &mut u, "staging is green");
            act(&v, &mut u, &[Action::NewLine]);
            typed(&v, &mut u, "ship it");
            (v, u)
        }),
    ]
}

/// A gate's inputs in its dialog, an empty reason, a refused outcome.
fn gate_input_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("approve_dialog_inputs", || {
            let mut v = fixtures::release();
            let input = |name: &str, ty: &str, values: &[&str], default: Option<&str>| {
                baton::model::InputView {
                    name: name.into(),
                    ty: ty.into(),
                    values: values.iter().map(|v| v.to_string()).collect(),
                    required: default.is_none(),
                    default: default.map(str::to_string),
                    pattern: (ty == "string").then(|| r"^v\d+$".to_string()),
                    description: None,
                }
            };
            v.gates[0].inputs = vec![
                input("model", "enum", &["pro", "pro-1.5", "flash"], Some("pro")),
                input("tag", "string", &[], None),
                input("dry", "bool", &[], Some("false")),
            ];
            let mut u = ui();
            // The focus on `tag`, a value that does not match: sent as typed, and the
            // core's refusal opens the dialog again with its words under it.
            act(
                &v,
                &mut u,
                &[Action::GoTab(Tab::Approvals), Action::Approve, Action::Down],
            );
            typed(&v, &mut u, "1.0");
            let refused = baton::model::Refusal::InputInvalid {
                problems: vec![
                    r#"input `tag` is "1.0", which does not match the pattern ^v\d+$; pass a value that matches it"#
                        .into(),
                ],
            };
            act(
                &v,
                &mut u,
                &[
                    Action::Confirm,
                    Action::Outcome(CommandOutcome::Refused(refused)),
                ],
            );
            (v, u)
        }),
        ("reject_dialog_empty_reason", || {
            let v = fixtures::release();
            let mut u = ui();
            act(
                &v,
                &mut u,
                &[
                    Action::GoTab(Tab::Approvals),
                    Action::Reject,
                    Action::Confirm,
                    // The core's refusal opens the dialog again, its words under it.
                    Action::Outcome(CommandOutcome::Refused(
                        baton::model::Refusal::ReasonRequired {
                            to: baton::model::ReasonFor::Reject,
                        },
                    )),
                ],
            );
            // Only the dialog is this snapshot's: the toast has its own.
            u.toast = None;
            (v, u)
        }),
        ("outcome_refused", || {
            let v = fixtures::release();
            let mut u = ui();
            act(
                &v,
                &mut u,
                &[
                    Action::GoTab(Tab::Approvals),
                    Action::Approve,
                    Action::Confirm,
                ],
            );
            act(
                &v,
                &mut u,
                &[Action::Outcome(CommandOutcome::Refused(
                    baton::model::Refusal::Recorded {
                        reason: "carol already voted on deploy-prod".into(),
                    },
                ))],
            );
            (v, u)
        }),
    ]
}

/// The errors, audit and runs lists.
fn list_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("errors", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Errors)]);
            (v, u)
        }),
        ("error_detail", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Errors), Action::Enter]);
            (v, u)
        }),
        ("error_log_of_its_attempt", || {
            // unit-tests failed on attempt 1 and passed on 2: the error's `l` opens 1.
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Errors), Action::Down]);
            act(&v, &mut u, &[Action::Enter, Action::Log]);
            (v, u)
        }),
        ("audit", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Audit)]);
            (v, u)
        }),
        ("runs", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Runs), Action::Down]);
            (v, u)
        }),
        // Issue 43 point 4: a fork says which run it came from; the run it came from,
        // selected, names its forks.
        ("runs_with_a_fork", || {
            let v = fixtures::release();
            let mut u = ui();
            let mut runs = fixtures::runs();
            runs[0].forked_from = Some(baton::model::view::ForkLink {
                run: runs[2].id.clone(),
                step: "unit-tests".into(),
            });
            u.set_runs(std::sync::Arc::new(
                runs.into_iter().map(std::sync::Arc::new).collect(),
            ));
            act(
                &v,
                &mut u,
                &[Action::GoTab(Tab::Runs), Action::Down, Action::Down],
            );
            (v, u)
        }),
        // A large store opens on its newest page while the rest is read.
        ("runs_reading_the_rest", || {
            let v = fixtures::release();
            let mut u = ui();
            u.runs_partial = true;
            act(&v, &mut u, &[Action::GoTab(Tab::Runs)]);
            (v, u)
        }),
        // `t`: every time on the wall clock (UTC here), with dates for other days.
        ("runs_wall_clock", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Runs), Action::ToggleTime]);
            (v, u)
        }),
        ("audit_wall_clock", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Audit), Action::ToggleTime]);
            (v, u)
        }),
    ]
}

/// Health, help, the confirm dialogs and a finished run.
fn help_and_confirm_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("health", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleHealth]);
            (v, u)
        }),
        ("help", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Help]);
            (v, u)
        }),
        ("confirm_quit", || {
            let v = fixtures::release();
            let mut u = ui();
            // This console drives the run on screen and one more.
            u.driven = std::sync::Arc::new(vec![v.run_id.clone(), "01jd9zz2other0run".into()]);
            act(&v, &mut u, &[Action::Quit]);
            (v, u)
        }),
        ("confirm_cancel", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::CancelRun]);
            (v, u)
        }),
        ("finished_run", || (fixtures::finished_failed(), ui())),
    ]
}

/// A budget that does not fit the header loses whole figures, never digits.
#[test]
fn the_budget_in_the_header_is_never_cut_mid_number() {
    let theme = Theme::monochrome();
    let mut v = fixtures::release();
    v.workflow = "nightly-warehouse-rebuild-eu-west".into();
    if let Some(b) = v.budget.as_mut() {
        b.cost = Some((1234.5, 2000.0));
        b.calls = Some((5300, 600));
        b.tokens = Some((1_250_000, 2_000_000));
    }
    for w in [80u16, 100, 120, 140, 200] {
        let b = draw(&v, &mut ui(), &theme, w, 40);
        let first = text(&b).lines().next().unwrap().to_string();
        for figure in ["$1234.50/$2000.00", "5300/600 calls", "1250000/2000000 tok"] {
            // Either the whole figure, or none of it.
            let head = &figure[..figure.len() / 2];
            assert!(
                first.contains(figure) || !first.contains(head),
                "{w} columns: {first:?}"
            );
        }
    }
}

/// Issue 12 point 7: the overview shows every one of 2,000 steps at 200×60, the part
/// the graph would show is marked, and a click on a cell selects that step.
#[test]
fn the_overview_shows_a_2000_step_dag_at_200x60_with_the_viewport_marked() {
    use ratatui::style::Modifier;
    let theme = Theme::monochrome();
    let v = fixtures::big(2_000);
    let mut u = ui();
    act(&v, &mut u, &[Action::Overview]);
    let b = draw(&v, &mut u, &theme, 200, 60);
    // The graph panel is the left part; count step cells (glyphs) inside it.
    let glyphs: std::collections::HashSet<&str> = v
        .steps
        .iter()
        .map(|s| s.state.glyph())
        .chain(["◆"])
        .collect();
    let (mut steps, mut marked) = (0, 0);
    for y in 4..57 {
        for x in 1..133 {
            let c = &b[(x, y)];
            if glyphs.contains(c.symbol()) {
                steps += 1;
                if c.modifier.contains(Modifier::REVERSED) {
                    marked += 1;
                }
            }
        }
    }
    assert_eq!(steps, 2_000, "every step one cell:\n{}", text(&b));
    assert!(
        marked > 0 && marked < 2_000,
        "the viewport is a part: {marked}"
    );
    assert!(text(&b).contains("Overview · 2000 steps"), "{}", text(&b));
    // A click selects the step under it.
    let (col, row) = (2u16, 10u16);
    update(&mut u, &v, Action::Click { col, row });
    assert!(!u.follow);
    let b2 = draw(&v, &mut u, &theme, 200, 60);
    assert_eq!(
        b2[(col, row)].symbol(),
        "◆",
        "the clicked step is the focus"
    );
}

/// Issue 12 point 7: between layers too tangled to draw edge by edge, one labelled
/// bundle instead of a `┼` grid; a tidy graph is drawn edge by edge as before.
#[test]
fn dense_edges_collapse_into_one_labelled_bundle() {
    let theme = Theme::monochrome();
    let v = fixtures::big(2_000);
    let mut u = ui();
    u.list_mode = Some(false);
    let b = draw(&v, &mut u, &theme, 200, 60);
    let screen = text(&b);
    let graph: String = screen
        .lines()
        .skip(4)
        .take(52)
        .map(|l| l.chars().take(138).collect::<String>() + "\n")
        .collect();
    assert!(!graph.contains('┼'), "a crossing grid:\n{graph}");
    assert!(graph.contains('┃'), "no bundle:\n{graph}");
    // Each layer sends 200 edges (every step needs two of the layer before).
    assert!(graph.contains("200"), "no label:\n{graph}");
}

/// The cell where `needle` starts on screen (column, row), counted in cells.
fn cell_of(b: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..b.area.height {
        let cells: Vec<&str> = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
        for x in 0..cells.len() {
            if cells[x..].concat().starts_with(needle) {
                return (x as u16, y);
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(b));
}

/// Issue 12 point 6: a click selects what the last frame drew under it: a tab, a step
/// in the list or the graph, a gate, an error, a run.
#[test]
fn clicks_select_what_was_drawn_there() {
    let theme = Theme::monochrome();
    let v = fixtures::release();
    let mut u = ui();
    let click = |u: &mut UiState, v: &RunView, needle: &str| {
        let b = draw(v, u, &theme, 120, 40);
        let (col, row) = cell_of(&b, needle);
        update(u, v, Action::Click { col: col + 1, row });
    };
    click(&mut u, &v, "3 Errors");
    assert_eq!(u.tab, Tab::Errors);
    click(&mut u, &v, "5 Runs");
    assert_eq!(u.tab, Tab::Runs);
    click(&mut u, &v, "01JXQY8A");
    assert_eq!(u.run_sel, 2);
    // A step in the graph, then one in the list.
    click(&mut u, &v, "1 DAG");
    let docs = v.step_index("docs").unwrap();
    click(&mut u, &v, "docs");
    assert_eq!((u.tab, u.selected, u.follow), (Tab::Dag, docs, false));
    act(&v, &mut u, &[Action::ToggleGraph]);
    let unit = v.step_index("unit-tests").unwrap();
    click(&mut u, &v, "unit-tests");
    assert_eq!(u.selected, unit);
    // Nothing there: nothing changes.
    update(&mut u, &v, Action::Click { col: 119, row: 39 });
    assert_eq!((u.tab, u.selected), (Tab::Dag, unit));
    // A gate among two, and an error row.
    let two = fixtures::release_two_gates();
    click(&mut u, &two, "2 Approvals");
    assert_eq!((u.tab, u.gate_sel), (Tab::Approvals, 0));
    click(&mut u, &two, "Page the on-call");
    assert_eq!(u.gate_sel, 1);
    click(&mut u, &two, "3 Errors");
    click(&mut u, &two, "timed out after");
    assert_eq!((u.tab, u.error_sel), (Tab::Errors, 2));
}

/// The header's `6/14` and its estimate (issue 45 point 6): final steps of all, and the
/// time left from how long the steps took before, along the longest chain still to run;
/// unknown where a duration is not known or a person decides; none once the run ended.
#[test]
fn progress_counts_final_steps_and_estimates_the_end() {
    use baton::model::{Eta, RunState, StepState};
    use std::time::Duration;
    let mut v = fixtures::release();
    let now = v.now;
    let p = v.progress(now, &|_| None);
    assert_eq!((p.finished, p.total), (6, 14));
    // No durations known: unknown, never a guess from the pace of the steps so far.
    assert_eq!(p.eta, Eta::Unknown);
    let theme = Theme::load("default").unwrap();
    let screen = text(&draw(&v, &mut ui(), &theme, 200, 50));
    assert!(screen.contains("ETA unknown"), "{screen}");
    // Every duration known, but `deploy-prod` waits at its gate: its steps' time, and
    // a person decides when (issue 76: it read `ETA unknown` on every gated run).
    let minute = |_: &str| Some(Duration::from_secs(60));
    assert_eq!(
        v.progress(now, &minute).eta,
        Eta::AfterDecisions(Duration::from_secs(180))
    );
    let mut timed = ui();
    timed.expected = std::sync::Arc::new(baton::link::Expected {
        run_id: v.run_id.clone(),
        ms: v.steps.iter().map(|s| (s.id.clone(), 60_000)).collect(),
        unread: None,
    });
    let screen = text(&draw(&v, &mut timed, &theme, 200, 50));
    assert!(screen.contains("~3m00s left + decisions"), "{screen}");
    // Durations the store could not give: the estimate says why, not a bare unknown.
    let mut unread = ui();
    unread.expected = std::sync::Arc::new(baton::link::Expected {
        run_id: v.run_id.clone(),
        ms: Default::default(),
        unread: Some("database is locked".into()),
    });
    let screen = text(&draw(&v, &mut unread, &theme, 200, 50));
    assert!(
        screen.contains("ETA unknown: durations unread (database is locked)"),
        "{screen}"
    );
    // Approved: the longest chain left. `package` (60 s, started at +3m11s, so done
    // by now), then `deploy-prod`, `smoke-prod`, `announce`: 3 minutes.
    for s in &mut v.steps {
        if s.state == StepState::WaitingApproval {
            s.state = StepState::Queued;
        }
    }
    let p = v.progress(now, &minute);
    assert_eq!(p.eta, Eta::About(Duration::from_secs(180)), "{p:?}");
    for s in &mut v.steps {
        s.state = StepState::Succeeded;
    }
    v.state = RunState::Succeeded;
    let p = v.progress(now, &minute);
    assert_eq!((p.finished, p.eta, p.fraction()), (14, Eta::None, 1.0));
}

#[test]
fn snapshots_of_every_view_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

#[test]
fn too_small_says_what_it_needs() {
    let theme = Theme::monochrome();
    let (v, mut u) = (fixtures::release(), ui());
    let b = draw(&v, &mut u, &theme, 50, 12);
    let t = text(&b);
    assert!(
        t.contains("terminal too small: need 60×15, have 50×12"),
        "{t}"
    );
    insta::assert_snapshot!("too_small_50x12", t);
}

/// Runs of equal style per row: `fg/bg/modifiers "text"`.
fn styles(b: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut runs: Vec<(String, String)> = Vec::new();
        for x in 0..b.area.width {
            let c = &b[(x, y)];
            let key = format!("{:?}/{:?}/{:?}", c.fg, c.bg, c.modifier);
            match runs.last_mut() {
                Some((k, s)) if *k == key => s.push_str(c.symbol()),
                _ => runs.push((key, c.symbol().to_string())),
            }
        }
        let row: Vec<String> = runs
            .into_iter()
            .filter(|(_, s)| !s.trim().is_empty())
            .map(|(k, s)| format!("{k} {:?}", s.trim_end()))
            .collect();
        out.push_str(&format!("{y:2}: {}\n", row.join(" | ")));
    }
    out
}

#[test]
fn style_aware_snapshot_of_the_dag_and_errors() {
    let theme = Theme::load("default").unwrap();
    let (v, mut u) = (fixtures::release(), ui());
    let config = baton::console::ConsoleConfig::with_theme(theme);
    insta::assert_snapshot!(
        "styles_dag_80x24",
        styles(&draw_part(&v, &mut u, &config, 80, 24))
    );
    let mut u = ui();
    act(&v, &mut u, &[Action::GoTab(Tab::Errors)]);
    insta::assert_snapshot!(
        "styles_errors_80x24",
        styles(&draw_part(&v, &mut u, &config, 80, 24))
    );
}

#[test]
fn every_search_match_is_marked_in_the_text() {
    let theme = Theme::load("default").unwrap();
    let v = fixtures::release();
    let mut u = ui();
    act(&v, &mut u, &[Action::Log, Action::Search]);
    typed(&v, &mut u, "PART-2");
    act(&v, &mut u, &[Action::Confirm]);
    insta::assert_snapshot!(
        "styles_log_matches_80x24",
        styles(&draw(&v, &mut u, &theme, 80, 24))
    );
}

#[test]
fn hostile_log_bytes_change_nothing_but_their_own_text() {
    let theme = Theme::monochrome();
    let (v, mut u) = (fixtures::release(), ui());
    let docs = v.step_index("docs").unwrap();
    u.follow = false;
    u.selected = docs;
    act(&v, &mut u, &[Action::Log]);
    let t = text(&draw(&v, &mut u, &theme, 100, 20));
    assert!(t.contains("Book building has started"), "{t}");
    assert!(!t.contains('\u{1b}') && !t.contains("owned title"), "{t}");
}

#[test]
fn monochrome_states_are_readable_by_glyph() {
    let theme = Theme::monochrome();
    let (v, mut u) = (fixtures::release(), ui());
    let b = draw(&v, &mut u, &theme, 120, 40);
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            assert!(
                matches!(b[(x, y)].fg, ratatui::style::Color::Reset),
                "colour at {x},{y}"
            );
        }
    }
    let t = text(&b);
    for g in ["✔", "✘", "▶", "↻", "⏸", "○", "·"] {
        assert!(t.contains(g), "{g} missing:\n{t}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn never_panics_at_any_size(w in 1u16..=300, h in 1u16..=100, which in 0usize..64, theme in 0usize..4) {
        let all = scenarios();
        let (_, setup) = all[which % all.len()];
        let (v, mut u) = setup();
        let theme = match theme {
            0 => Theme::monochrome(),
            1 => Theme::load("light").unwrap(),
            2 => Theme::load("high-contrast").unwrap(),
            _ => Theme::load("default").unwrap(),
        };
        let b = draw(&v, &mut u, &theme, w, h);
        prop_assert_eq!(b.area.width, w);
    }
}

/// Issue 12 points 1 and 6: `t` in the log shows when each line was written (from the
/// engine's records beside the log; the date for another day), a click marks a line and
/// `y` copies it as shown (no escapes); with nothing marked `y` copies the lines on screen.
#[test]
fn the_log_shows_when_lines_were_written_and_copies_a_line_or_the_screen() {
    use baton::console::Request;
    use baton::model::Timestamp;
    use baton::model::logtimes::{record, sidecar_path};
    let theme = Theme::load("default").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut v = fixtures::release();
    let pkg = v.step_index("package").unwrap();
    let path = dir
        .path()
        .join(format!("package.{}.log", v.steps[pkg].attempts));
    let lines = [
        "an older line, from two days ago\n",
        "\u{1b}[32mcompiled\u{1b}[0m crate one\n",
        "compiled crate two\n",
    ];
    std::fs::write(&path, lines.concat()).unwrap();
    let at = |ms_ago: i64| Timestamp::from_millis(v.now.millis() - ms_ago);
    let (l1, l2) = (
        lines[0].len() as u64,
        (lines[0].len() + lines[1].len()) as u64,
    );
    std::fs::write(
        sidecar_path(&path),
        record(0, at(2 * 86_400_000)) + &record(l1, at(60_000)) + &record(l2, at(30_000)),
    )
    .unwrap();
    v.steps[pkg].log_path = Some(path);
    let mut u = ui();
    u.follow = false;
    u.selected = pkg;
    act(&v, &mut u, &[Action::Log, Action::Timestamps]);
    let b = draw(&v, &mut u, &theme, 80, 24);
    insta::assert_snapshot!("log_timestamps_80x24", text(&b));

    // Nothing marked: `y` copies what is on screen, as shown.
    let copied = |u: &mut UiState| {
        update(u, &v, Action::Copy)
            .into_iter()
            .find_map(|r| match r {
                Request::Copy(t) => Some(t),
                _ => None,
            })
            .expect("a copy request")
    };
    assert_eq!(
        copied(&mut u),
        "an older line, from two days ago\ncompiled crate one\ncompiled crate two"
    );
    // A click marks a line (▸) and `y` copies that one.
    let (col, row) = cell_of(&b, "crate one");
    update(&mut u, &v, Action::Click { col, row });
    let b = draw(&v, &mut u, &theme, 80, 24);
    assert!(text(&b).contains("2 ▸"), "{}", text(&b));
    assert_eq!(copied(&mut u), "compiled crate one");
    assert!(
        u.toast
            .as_ref()
            .is_some_and(|t| t.text.contains("copied log line 2")),
        "{:?}",
        u.toast
    );
}

/// A run waiting for its concurrency group, and one that skipped because of it, say so
/// in the header, with a glyph of their own (issue 26 point 6).
#[test]
fn the_header_shows_a_queued_and_a_skipped_run() {
    use baton::model::RunState;
    let theme = Theme::monochrome();
    for (state, shown) in [
        (RunState::Queued, "○ queued"),
        (RunState::Skipped, "⤼ skipped"),
    ] {
        let mut v = fixtures::release();
        v.state = state;
        let mut u = ui();
        let t = text(&draw(&v, &mut u, &theme, 120, 40));
        let header = t.lines().next().unwrap_or_default();
        assert!(header.contains(shown), "{header}");
    }
}
