//! Issue 60 point 1: the step detail pane lists the artifacts a step kept, each with
//! its file, size, digest and the run and attempt that made it.
use super::render::{act, draw, text, typed, ui};
use baton::console::{Action, Theme, fixtures};
use baton::model::ArtifactRecord;
use baton::model::view::ArtifactView;

#[test]
fn the_detail_pane_lists_a_steps_artifacts() {
    let theme = Theme::load("default").unwrap();
    let mut v = fixtures::held_frozen_reused();
    let build = v.steps.iter_mut().find(|s| s.id == "build").unwrap();
    build.artifacts = vec![ArtifactView {
        record: ArtifactRecord {
            name: "model".into(),
            path: "out/m.ckpt".into(),
            sha256: "53d0b49c973692053e7c2c2a43173d97a571b8a133a4586a1d36c279b1127c35".into(),
            size: 3_000_000,
        },
        run: "01J9Z3QK7V2M4P8R6T0W5X1Y3A".into(),
        attempt: 2,
    }];
    let mut u = ui();
    act(&v, &mut u, &[Action::Filter]);
    typed(&v, &mut u, "build");
    act(&v, &mut u, &[Action::Confirm]);
    let t = text(&draw(&v, &mut u, &theme, 120, 40));
    // Wrapped in the pane beside the graph.
    assert!(t.contains("│artifact model = out/m.ckpt, 3000000"), "{t}");
    assert!(t.contains("bytes, sha256 53d0b49c97369205…"), "{t}");
    assert!(t.contains("run 01J9Z3QK7V2M4P8R6T0W5X1Y3A"), "{t}");
    assert!(t.contains("attempt 2"), "{t}");
}
