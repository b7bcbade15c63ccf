//! Issue 29 point 2: the log view reads a line's time wherever the run keeps it: an
//! ended run's records in the store, a running run's in its time index, an old run's
//! in a sidecar beside the log. Every layout draws the same screen.
use super::render::{act, draw_reading, text, ui};
use baton::console::Action;
use baton::console::LogReaders;
use baton::console::{Theme, fixtures};
use baton::model::Timestamp;
use baton::model::logtimes::{INDEX, StoredTimes, index_record, record, sidecar_path};
use std::path::Path;

#[test]
fn the_log_view_shows_the_same_times_from_the_store_the_runs_index_and_a_sidecar() {
    let theme = Theme::load("default").unwrap();
    let config = baton::console::ConsoleConfig::with_theme(theme.clone());
    let v0 = fixtures::release();
    let pkg = v0.step_index("package").unwrap();
    let attempt = v0.steps[pkg].attempts;
    let name = format!("package.{attempt}.log");
    let lines = ["first line\n", "second line\n", "a partial last line"];
    let now = v0.now.millis();
    let at = move |ms_ago: i64| Timestamp::from_millis(now - ms_ago);
    let l1 = lines[0].len() as u64;
    let shown = |layout: &dyn Fn(&Path), readers: &mut LogReaders| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&name);
        std::fs::write(&path, lines.concat()).unwrap();
        layout(&path);
        let mut v = fixtures::release();
        v.steps[pkg].log_path = Some(path);
        let mut u = ui();
        u.follow = false;
        u.selected = pkg;
        act(&v, &mut u, &[Action::Log, Action::Timestamps]);
        text(&draw_reading(readers, &v, &mut u, &config, 80, 24))
    };
    let none = |_: &Path| {};
    let old = shown(
        &|log| {
            let records = record(0, at(90_000)) + &record(l1, at(30_000));
            std::fs::write(sidecar_path(log), records).unwrap();
        },
        &mut LogReaders::default(),
    );
    let running = shown(
        &|log| {
            // Another attempt's records in between, as a run's attempts write them.
            let records = index_record(&name, 0, at(90_000))
                + &index_record("build.1.log", 0, at(60_000))
                + &index_record(&name, l1, at(30_000));
            std::fs::write(log.with_file_name(INDEX), records).unwrap();
        },
        &mut LogReaders::default(),
    );
    // Ended: no file but the log; the store answers for this run, step and attempt.
    let run = v0.run_id.clone();
    let stored = StoredTimes::new(move |r, step, n| {
        if (r, step, n) == (run.as_str(), "package", attempt) {
            vec![(0, at(90_000)), (l1, at(30_000))]
        } else {
            Vec::new()
        }
    });
    let ended = shown(&none, &mut LogReaders::new(Some(stored.clone())));
    assert_eq!(running, old);
    assert_eq!(ended, old);
    assert!(ended.contains("second line"), "{ended}");
    // And the times are there: without records the same log draws differently.
    let without = shown(&none, &mut LogReaders::default());
    assert_ne!(ended, without);
    // A run reopened by `retry` has a new index without this attempt's records: they
    // are read from the store still.
    let reopened = shown(
        &|log| {
            let other = index_record("build.2.log", 0, at(10_000));
            std::fs::write(log.with_file_name(INDEX), other).unwrap();
        },
        &mut LogReaders::new(Some(stored)),
    );
    assert_eq!(reopened, old);
}
