//! Issue 42 point 11: a step set by `baton mark` says so in the console's detail pane.
use super::render::{draw, text, ui};
use baton::console::{Theme, fixtures};
use baton::model::view::MarkView;

#[test]
fn the_detail_of_a_marked_step_says_who_marked_it_and_why() {
    let theme = Theme::monochrome();
    let mut v = fixtures::release();
    // Every step marked in its own state: whichever is focused shows its mark.
    for s in &mut v.steps {
        s.marked = Some(Box::new(MarkView {
            state: s.state,
            by: "olivia".into(),
            reason: "done by hand\u{1b}]0;pwned\u{7}".into(),
            at: v.now,
        }));
    }
    let t = text(&draw(&v, &mut ui(), &theme, 200, 40));
    // The label and its line read `marked STATE by ACCOUNT: REASON`.
    let shown = v
        .steps
        .iter()
        .any(|s| t.contains(&format!("marked   {} by olivia: done by hand", s.state)));
    assert!(shown, "no mark in the detail:\n{t}");
    assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t}");
}
