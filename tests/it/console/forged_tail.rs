//! A step's tail forged in the store (`events.logs`, issue 79) reaches the console's
//! view as the store holds it and is drawn without its terminal controls; a column the
//! store refuses leaves the view the output of the step's own log file.
use super::render::{draw, text, ui};
use crate::helpers::Env;
use crate::tamper::event_logs::{finished, forge_pending_logs};
use baton::console::Theme;
use baton::model::Timestamp;
use baton::store::Store;

#[test]
fn a_forged_tail_with_terminal_escapes_is_drawn_without_them() {
    let env = Env::new();
    let run = finished(&env);
    let tail = "\u{1b}]0;owned title\u{7}\u{1b}[2J\u{1b}[31mforged tail line";
    forge_pending_logs(
        &env,
        &run,
        &serde_json::json!([["a", 1, "", tail]]).to_string(),
    );
    let store = Store::open_existing(&env.db()).unwrap();
    let v = baton::session::inspect(&store, &run, Timestamp::now()).unwrap();
    let a = v.step_index("a").unwrap();
    assert_eq!(v.steps[a].log_tail, [tail], "the view holds it raw");
    let mut u = ui();
    u.follow = false;
    u.selected = a;
    let t = text(&draw(&v, &mut u, &Theme::monochrome(), 100, 30));
    assert!(t.contains("forged tail line"), "{t}");
    assert!(!t.contains('\u{1b}') && !t.contains("owned title"), "{t}");
}

#[test]
fn a_refused_tails_column_leaves_the_view_its_log_files_output() {
    let env = Env::new();
    let run = finished(&env);
    forge_pending_logs(&env, &run, "not a list of logs");
    let store = Store::open_existing(&env.db()).unwrap();
    assert!(
        store.attempt_tails(&run).is_err(),
        "the store refuses the forged column"
    );
    let v = baton::session::inspect(&store, &run, Timestamp::now()).unwrap();
    let a = v.step_index("a").unwrap();
    assert_eq!(
        v.steps[a].log_tail,
        ["inside"],
        "the step's output, from its log file"
    );
}
