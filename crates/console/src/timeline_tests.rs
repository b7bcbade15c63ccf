//! The Timeline tab's layout on the release fixture, with its fixed clock (`view.now`
//! +7m) and clocks given by the tests: pure, no terminal.
use super::*;
use crate::fixtures;
use baton_model::timeline::Transition;
use baton_model::{RunState, StepState};

fn t(secs: i64) -> Timestamp {
    Timestamp(fixtures::T0 + secs * 1000)
}

/// A bar as one character per cell, to compare at a glance.
fn draw(cells: &[Cell]) -> String {
    cells
        .iter()
        .map(|c| match c {
            Cell::Empty => ' ',
            Cell::Queue => 'q',
            Cell::Backoff => 'b',
            Cell::Held => 'h',
            Cell::Gate => 'g',
            Cell::Failed => 'x',
            Cell::Succeeded => '#',
            Cell::Running => '>',
            Cell::Frozen => 'f',
        })
        .collect()
}

fn row(view: &RunView, id: &str, clock: Timestamp, width: usize) -> String {
    let i = view.step_index(id).unwrap();
    let l = layout(view, &[i], clock, width, 8);
    draw(&l.rows[0].cells)
}

#[test]
fn time_maps_to_columns_across_the_width() {
    let (s, e) = (t(0), t(420));
    assert_eq!(column(t(0), s, e, 42), 0);
    assert_eq!(column(t(10), s, e, 42), 1);
    assert_eq!(column(t(209), s, e, 42), 20);
    // The end is the last column, and nothing falls outside the bar.
    assert_eq!(column(t(420), s, e, 42), 41);
    assert_eq!(column(t(900), s, e, 42), 41);
    assert_eq!(column(t(-5), s, e, 42), 0);
}

/// 42 columns over the run's 7 minutes: 10 s a cell. The retried step shows its queue
/// wait, its failed first attempt, the backoff, a queue wait again and the attempt that
/// succeeded, each where it happened.
#[test]
fn a_retried_step_shows_each_attempt_and_its_waits() {
    let v = fixtures::release();
    assert_eq!(
        row(&v, "unit-tests", v.now, 42),
        "      xxxxxxb######                       "
    );
    // A step that failed once, at its one attempt.
    assert_eq!(
        row(&v, "docs", v.now, 42),
        "      xx                                  "
    );
    // The open gate waits up to the clock; a step still queued, the same.
    assert_eq!(
        row(&v, "deploy-prod", v.now, 42),
        "                              gggggggggggg"
    );
    assert_eq!(
        row(&v, "publish-crate", v.now, 42),
        "                                       qqq"
    );
    // A step that never moved has an empty bar.
    assert_eq!(row(&v, "announce", v.now, 42), " ".repeat(42));
}

/// A running step's bar reaches the clock, and grows with it: at +7m it takes the
/// last 23 of 42 cells (10 s each), at +14m (20 s each) the last 33.
#[test]
fn a_running_bar_grows_with_the_clock() {
    let v = fixtures::release();
    assert_eq!(
        row(&v, "package", t(420), 42),
        "                   >>>>>>>>>>>>>>>>>>>>>>>"
    );
    assert_eq!(
        row(&v, "package", t(840), 42),
        "         >>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>"
    );
}

/// Frozen time is drawn apart from run time (issue 58 point 1): `package`, frozen at
/// +4m10s and still frozen at +7m, runs to column 25 and is frozen from there to the
/// clock; `sbom`'s 44 s freeze (+5m20s to +6m04s) sits inside its running bar (+5m on).
#[test]
fn frozen_time_is_drawn_apart_from_run_time() {
    let v = fixtures::held_frozen_reused();
    assert_eq!(
        row(&v, "package", t(420), 42),
        "                   >>>>>>fffffffffffffffff"
    );
    assert_eq!(
        row(&v, "sbom", t(420), 42),
        "      qqqqqqqqqqqqqqqqqqqqqqqq>>fffff>>>>>"
    );
}

/// The run's engine is gone at +6m40s: its clock stops there (`RunView::clock_at`), so
/// the axis ends there and the running step's bar with it, however late it is now.
#[test]
fn an_interrupted_run_ends_at_its_engines_last_sign_of_life() {
    let mut v = fixtures::release();
    v.state = RunState::Interrupted;
    v.engine_gone_at = Some(t(400));
    let clock = v.clock_at(t(3600));
    let i = v.step_index("package").unwrap();
    let l = layout(&v, &[i], clock, 40, 8);
    assert_eq!(l.end, t(400));
    // 10 s a cell: 191..400 is cells 19 to 39, the last.
    assert_eq!(
        draw(&l.rows[0].cells),
        "                   >>>>>>>>>>>>>>>>>>>>>"
    );
    assert!(l.ticks.iter().all(|k| k.at <= t(400)));
}

/// Ticks fall on round times (a minute here: 7 s a column, labels 8 wide) and never
/// run past the bar's end.
#[test]
fn ticks_are_round_and_as_far_apart_as_their_labels() {
    let ticks = ticks(t(0), t(420), 60, 8);
    let cols: Vec<usize> = ticks.iter().map(|k| k.col).collect();
    assert_eq!(cols, vec![0, 8, 17, 25, 34, 42, 51]);
    assert_eq!(ticks[1].since_start, Duration::from_secs(60));
    // A long run at the same width: the step grows (3 h over 60 columns: 30 min).
    let long = super::ticks(t(0), t(3 * 3600), 60, 8);
    assert_eq!(long[1].since_start, Duration::from_secs(1800));
    // Nothing is too short: a 2-second run still has its ticks at whole seconds.
    let short = super::ticks(t(0), t(2), 60, 8);
    assert_eq!(short[1].since_start, Duration::from_secs(1));
}

/// An attempt far shorter than a cell still takes one; a wait of no time takes none.
#[test]
fn a_short_attempt_is_seen_in_a_long_run() {
    let mut v = fixtures::release();
    v.finished_at = Some(t(3600));
    let i = v.step_index("lint").unwrap();
    v.steps[i].history = vec![
        Transition {
            state: StepState::Queued,
            attempt: 1,
            at: t(1800),
        },
        Transition {
            state: StepState::Running,
            attempt: 1,
            at: t(1800),
        },
        Transition {
            state: StepState::Succeeded,
            attempt: 1,
            at: Timestamp(t(1800).0 + 20),
        },
    ];
    let cells = &layout(&v, &[i], v.now, 60, 8).rows[0].cells;
    assert_eq!(draw(cells).trim(), "#");
    assert_eq!(cells[30], Cell::Succeeded);
}

/// A run shorter than a second gets a second's axis; its running attempt ends at the
/// clock, not at the padded end.
#[test]
fn a_short_run_is_drawn_on_a_second_and_its_attempt_ends_at_the_clock() {
    let mut v = fixtures::release();
    v.started_at = Some(t(0));
    for s in &mut v.steps {
        s.history.retain(|h| h.at == t(0));
    }
    let i = v.step_index("checkout").unwrap();
    v.steps[i].history.truncate(2);
    let clock = Timestamp(t(0).0 + 250);
    let l = layout(&v, &[i], clock, 40, 8);
    assert_eq!(l.end, t(1));
    assert_eq!(
        draw(&l.rows[0].cells),
        format!("{}{}", ">".repeat(10), " ".repeat(30))
    );
}
