//! Snapshots at 80×24 and 200×60 of a run's trigger chain (issue 81 point 4): the
//! header names the event that started the run and the runs its end started; the Runs
//! tab marks each run a trigger started with its kind of event, and its hint names it.
use super::render::{act, text, ui};
use baton::console::{Action, Tab, Theme, UiState, fixtures};
use baton::model::RunView;
use baton::model::view::TriggerLink;

const DOCS_RUN: &str = "01JXQX7Z9Y8X7W6V5U4T3S2R1Q";

fn link(trigger: &str, kind: &str, event: &str, run: Option<&str>) -> TriggerLink {
    TriggerLink {
        trigger: trigger.into(),
        kind: kind.into(),
        event: event.into(),
        fate: "started".into(),
        run: run.map(Into::into),
        why: None,
        events: Vec::new(),
    }
}

/// The release run started by docs-site's run ending, its end having started one run.
fn started_by_a_run() -> (RunView, UiState) {
    let mut v = fixtures::release();
    v.triggers.started_by = Some(link(
        "release#1",
        "run_ended",
        &format!("run {DOCS_RUN} of docs-site succeeded"),
        Some(&v.run_id.clone()),
    ));
    v.triggers.started = vec![link(
        "publish#2",
        "run_ended",
        &format!("run {} of release succeeded", v.run_id),
        Some("01JXQZ0M3D5E7F9G1H2J3K4L5M"),
    )];
    (v, ui())
}

/// A finished run a file started, whose end started five runs (counted, not named),
/// and one event its end was that made no run.
fn started_by_a_file_starting_many() -> (RunView, UiState) {
    let mut v = fixtures::finished_failed();
    v.triggers.started_by = Some(link("release#file", "file", "file /in/a.csv", None));
    let ended = format!("run {} of release failed", v.run_id);
    v.triggers.started = (1..=5)
        .map(|i| {
            let run = format!("01JXS{i}000000000000000000000");
            link(&format!("triage{i}#1"), "run_ended", &ended, Some(&run))
        })
        .chain([TriggerLink {
            fate: "refused".into(),
            why: Some("the trigger is paused".into()),
            ..link("audit#1", "run_ended", &ended, None)
        }])
        .collect();
    (v, ui())
}

/// The Runs tab: the running release run started by docs-site's end, docs-site by a
/// webhook's delivery, the failed release run a fork; the running one selected.
fn runs_tab() -> (RunView, UiState) {
    let v = fixtures::release();
    let mut u = ui();
    let mut runs = fixtures::runs();
    runs[0].started_by = Some(link(
        "release#1",
        "run_ended",
        &format!("run {DOCS_RUN} of docs-site succeeded"),
        None,
    ));
    runs[3].started_by = Some(link("docs-site#hook", "webhook", "delivery 7f3c-e1", None));
    runs[2].forked_from = Some(baton::model::view::ForkLink {
        run: DOCS_RUN.into(),
        step: "build".into(),
    });
    u.set_runs(std::sync::Arc::new(
        runs.into_iter().map(std::sync::Arc::new).collect(),
    ));
    act(&v, &mut u, &[Action::GoTab(Tab::Runs)]);
    (v, u)
}

type Setup = fn() -> (RunView, UiState);

#[test]
fn snapshots_of_trigger_chains_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    let scenarios: [(&str, Setup); 3] = [
        ("header_started_by_a_run", started_by_a_run),
        ("header_started_by_a_file", started_by_a_file_starting_many),
        ("runs_started_by_triggers", runs_tab),
    ];
    for (name, setup) in scenarios {
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let (v, mut u) = setup();
            // A header's snapshot is the header's three lines of the whole screen.
            let t = match name.strip_prefix("header_") {
                Some(_) => {
                    let whole = text(&super::render::draw(&v, &mut u, &theme, w, h));
                    whole.lines().take(3).collect::<Vec<_>>().join("\n")
                }
                None => super::render::snap(name, &v, &mut u, &theme, w, h),
            };
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// The header's first line at `w` columns.
fn header(v: &RunView, u: &mut UiState, w: u16) -> String {
    let theme = Theme::load("default").unwrap();
    let t = text(&super::render::draw(v, u, &theme, w, 24));
    t.lines().next().unwrap_or_default().to_string()
}

/// Wide, the header says the trigger and its event, the source run by its short id,
/// and names the run its end started; at 80 columns a short form that leaves the
/// viewer and the elapsed time on the line.
#[test]
fn the_header_names_the_event_and_what_the_end_started() {
    let (v, mut u) = started_by_a_run();
    let wide = header(&v, &mut u, 200);
    assert!(
        wide.contains(
            "started by release#1: run 01JXQX7Z of docs-site succeeded · started run 01JXQZ0M"
        ),
        "{wide}"
    );
    let narrow = header(&v, &mut u, 80);
    assert!(narrow.contains("⇢ release#1"), "{narrow}");
    assert!(
        narrow.contains("viewer") && narrow.contains("7m00s"),
        "{narrow}"
    );
    // With no budget on the line there is room for what its end started, counted.
    let (mut v, mut u) = started_by_a_run();
    v.budget = None;
    let narrow = header(&v, &mut u, 80);
    assert!(narrow.contains("⇢ release#1 · → 1 run  viewer"), "{narrow}");
    // Many runs started: counted; an event that made no run is not one of them.
    let (v, mut u) = started_by_a_file_starting_many();
    let wide = header(&v, &mut u, 200);
    assert!(
        wide.contains("started by release#file: file /in/a.csv · started 5 runs"),
        "{wide}"
    );
    // A run no trigger started says nothing of triggers.
    let (v, mut u) = (fixtures::release(), ui());
    let plain = header(&v, &mut u, 200);
    assert!(
        !plain.contains("started") && !plain.contains('⇢'),
        "{plain}"
    );
}

/// The Runs tab marks each triggered run with its kind of event, under `event`, in
/// line with the fork column, and the selected run's hint names its event.
#[test]
fn the_runs_tab_marks_triggered_runs_and_names_the_event() {
    let (v, mut u) = runs_tab();
    let theme = Theme::load("default").unwrap();
    let t = text(&super::render::draw(&v, &mut u, &theme, 200, 60));
    let row = |id: &str| {
        // A row: `│`, the marker, a space, then its id.
        let mut table = t.lines().filter(|l| l.starts_with('│'));
        let found = table.find(|l| l.chars().skip(3).collect::<String>().starts_with(id));
        found.unwrap_or("").to_string()
    };
    assert!(row("01JXR3T5").contains("⇢ run"), "{t}");
    assert!(row("01JXQX7Z").contains("⇢ webhook"), "{t}");
    assert!(!row("01JXQZ0M").contains('⇢'), "{t}");
    let head = t.lines().find(|l| l.contains("fork of")).unwrap_or("");
    let col = |l: &str, s: &str| l.find(s).map(|b| l[..b].chars().count());
    assert_eq!(col(head, "event"), col(&row("01JXR3T5"), "⇢"), "{t}");
    assert!(
        t.contains("started by release#1: run 01JXQX7Z of docs-site succeeded"),
        "{t}"
    );
}
