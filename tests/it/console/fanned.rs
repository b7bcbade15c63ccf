//! A fanned-out step in the console (issue 26 point 4): one node with its counts, opened
//! to its instances and closed again, its detail pane listing the instances, the filter
//! matching instance ids; snapshots at 80×24 and 120×40.
use super::render::{act, typed, ui};
use baton::console::{Action, Hit, UiState, shown_steps};
use baton::console::{Theme, fixtures};
use baton::model::{RunView, StepState};

fn draw(v: &RunView, u: &mut UiState, w: u16, h: u16) -> String {
    let theme = Theme::load("default").unwrap();
    super::render::text(&super::render::draw(v, u, &theme, w, h))
}

type Setup = fn() -> (RunView, UiState);

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        // Followed: the running step is `test`, one node with its counts.
        ("fanned_graph", || (fixtures::fanned(20), ui())),
        ("fanned_graph_open", || {
            let v = fixtures::fanned(20);
            let mut u = ui();
            act(&v, &mut u, &[Action::Expand]);
            (v, u)
        }),
        ("fanned_list", || {
            let v = fixtures::fanned(20);
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph]);
            (v, u)
        }),
        ("fanned_list_open", || {
            let v = fixtures::fanned(20);
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph, Action::Expand]);
            (v, u)
        }),
        ("fanned_filter_instances", || {
            let v = fixtures::fanned(20);
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph, Action::Filter]);
            typed(&v, &mut u, "state:fail");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
    ]
}

#[test]
fn snapshots_of_a_fanned_out_step_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// One node with its counts; the key opens it to its instances and closes it again,
/// the focus staying on the step.
#[test]
fn the_expand_key_opens_and_closes_a_fanned_out_step() {
    let v = fixtures::fanned(20);
    let mut u = ui();
    // Instances drawn in the graph (clickable nodes; the detail pane records none).
    let nodes = |u: &UiState| {
        u.hits
            .drawn()
            .filter(|h| matches!(h, Hit::Step(k) if v.steps[*k].parent.is_some()))
            .count()
    };
    let screen = draw(&v, &mut u, 120, 40);
    assert!(screen.contains("test 14/20 ✔12 ✘1 ◷1"), "{screen}");
    assert_eq!(nodes(&u), 0, "closed: no instance node\n{screen}");
    act(&v, &mut u, &[Action::Expand]);
    let open = draw(&v, &mut u, 120, 40);
    assert!(nodes(&u) >= 10, "open: its instances drawn\n{open}");
    assert_eq!(u.focus(&v), v.step_index("test"));
    act(&v, &mut u, &[Action::Expand]);
    let closed = draw(&v, &mut u, 120, 40);
    assert_eq!(nodes(&u), 0, "closed again\n{closed}");
    assert_eq!(u.focus(&v), v.step_index("test"));
}

/// The detail pane of the step lists its instances, failed and running first, each
/// with its state, duration and executor.
#[test]
fn the_detail_pane_lists_instances_with_state_duration_and_executor() {
    let v = fixtures::fanned(20);
    let mut u = ui();
    let screen = draw(&v, &mut u, 120, 40);
    let row = |id: &str| {
        screen
            .lines()
            .find(|l| l.contains(id) && (l.contains("local") || l.contains("hpc")))
            .unwrap_or_else(|| panic!("{id} in the detail pane:\n{screen}"))
            .to_string()
    };
    let failed = row("test[12]");
    assert!(
        failed.contains("failed") && failed.contains("local"),
        "{failed}"
    );
    let running = row("test[14]");
    assert!(
        running.contains("running") && running.contains("hpc"),
        "{running}"
    );
    let done = row("test[0]");
    assert!(
        done.contains("succeeded") && done.contains("local"),
        "{done}"
    );
    assert!(done.contains("20.0s"), "its duration: {done}");
    let at = |needle: &str| screen.find(needle).unwrap();
    assert!(at("test[12]") < at("test[0]"), "failed first:\n{screen}");
}

/// The filter matches instance ids: each listed under its step, the step listed for
/// them; in the graph the closed step is not dimmed when an instance matches.
#[test]
fn the_filter_matches_instance_ids_under_their_step() {
    let v = fixtures::fanned(20);
    let mut u = ui();
    act(&v, &mut u, &[Action::ToggleGraph, Action::Filter]);
    typed(&v, &mut u, "test[1");
    act(&v, &mut u, &[Action::Confirm]);
    let ids: Vec<&str> = shown_steps(&v, &u)
        .into_iter()
        .map(|i| v.steps[i].id.as_str())
        .collect();
    assert_eq!(
        ids[..3],
        ["test", "test[1]", "test[10]"],
        "the step, then its matching instances"
    );
    assert!(ids.iter().all(|i| i.starts_with("test")), "{ids:?}");
    // Followed: the running instance the filter picks; moving down, the next row.
    assert_eq!(u.focus(&v), v.step_index("test[14]"));
    act(&v, &mut u, &[Action::Down]);
    assert_eq!(u.focus(&v), v.step_index("test[15]"));
    let screen = draw(&v, &mut u, 120, 40);
    assert!(screen.contains("└ test[15]"), "{screen}");
}

/// Following a running instance of a closed step focuses the step (its node), and the
/// view's counts are what the core kept (never counted by the console).
#[test]
fn following_an_instance_focuses_its_step_while_it_is_closed() {
    let mut v = fixtures::fanned(20);
    let test = v.step_index("test").unwrap();
    v.steps[test].state = StepState::Pending;
    let mut u = ui();
    assert_eq!(
        u.focus(&v),
        Some(test),
        "test[14] runs: its step is in focus"
    );
    act(&v, &mut u, &[Action::Expand]);
    u.follow = true;
    assert_eq!(
        u.focus(&v),
        v.step_index("test[14]"),
        "opened: the instance itself"
    );
}
