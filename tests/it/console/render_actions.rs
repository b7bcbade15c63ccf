//! Snapshots of the operators' own `[[action]]`s (issue 58 point 7): the footer that
//! offers one on the selected step, the help that lists them with their descriptions,
//! the confirmation of a dangerous one naming its command as it will run, its output
//! pane and the action log with its end.
use super::render::{act, ui};
use super::screen::snap_with;
use baton::console::{
    Action, ActionEnded, ActionFinished, ConsoleConfig, Tab, Theme, UiState, fixtures,
};
use baton::model::RunView;
use std::sync::Arc;
use std::time::Duration;

const CONFIG: &str = r#"
[[action]]
key = "D"
scope = "step"
description = "dashboard: open the step's Grafana board"
command = ["open-dashboard", "--run", "{run}", "--step", "{step}"]

[[action]]
key = "K"
scope = "run"
description = "drain: take the run's hosts out of the pool"
command = ["drain-hosts", "--db", "{db}", "{run}"]
dangerous = true
timeout = "5m"

[[action]]
key = "N"
scope = "gate"
description = "notes: the runbook for this gate"
shell = true
command = ["runbook \"$1\" | head -n 40", "{step}"]
output = "log"
"#;

/// The console's settings with [`CONFIG`]'s actions bound, and a UI state that has them.
fn with_actions() -> (ConsoleConfig, UiState) {
    let c = baton::link::config::parse(std::path::Path::new("config.toml"), CONFIG)
        .unwrap_or_else(|d| panic!("{d}"));
    let config =
        ConsoleConfig::from_config(&c, Theme::monochrome()).unwrap_or_else(|d| panic!("{d}"));
    let mut u = ui();
    u.actions = config.actions.clone();
    u.keys = Arc::new(config.keys.clone());
    u.db = Some("/srv/ops/baton.db".into());
    u.follow = false;
    (config, u)
}

/// The release fixture with its `build` step selected on the DAG.
fn on_build(u: &mut UiState) -> RunView {
    let v = fixtures::release();
    u.tab = Tab::Dag;
    u.selected = v.step_index("build").unwrap_or(0);
    v
}

fn snap(name: &str, v: &RunView, u: &mut UiState, config: &ConsoleConfig, w: u16, h: u16) {
    let t = snap_with(name, v, u, config, w, h);
    insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
}

#[test]
fn the_footer_offers_a_step_action_and_the_help_lists_every_action() {
    let (config, mut u) = with_actions();
    let v = on_build(&mut u);
    snap("action_footer", &v, &mut u, &config, 120, 30);
    act(&v, &mut u, &[Action::Help]);
    u.help_filter = "action".into();
    snap("action_help", &v, &mut u, &config, 140, 30);
}

#[test]
fn a_dangerous_action_asks_naming_its_command() {
    let (config, mut u) = with_actions();
    let v = on_build(&mut u);
    act(&v, &mut u, &[Action::User(1)]);
    snap("action_confirm_dangerous", &v, &mut u, &config, 80, 24);
}

#[test]
fn the_output_pane_and_the_action_log_show_how_it_ended() {
    let (config, mut u) = with_actions();
    let v = on_build(&mut u);
    act(&v, &mut u, &[Action::User(0)]);
    assert!(u.overlay.is_some(), "its pane opens");
    let done = ActionFinished {
        id: 1,
        ended: ActionEnded::Exited(2),
        took: Duration::from_millis(1500),
        lines: vec![
            "opening https://grafana.example/d/release?var-step=build".into(),
            "  error: the board `release` has no panel for build".into(),
        ],
        cut: 0,
    };
    act(&v, &mut u, &[Action::UserDone(Box::new(done))]);
    snap("action_output", &v, &mut u, &config, 80, 24);
    act(&v, &mut u, &[Action::Back, Action::ActionLog]);
    snap("action_log", &v, &mut u, &config, 80, 24);
}
