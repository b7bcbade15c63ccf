//! A workflow file that no longer loads (issue 27 point 3): its previous version keeps
//! firing, and its error at FILE:LINE:COL is printed, recorded (`baton schedules
//! --json`), exported (`baton metrics`); once it loads again all of that clears.
use super::*;

const TICK: &str = r#"name = "tick"

[[schedule]]
cron = "* * * * * *"

[[step]]
id = "mark"
run = 'echo "$BATON_RUN_ID" >> ../ledger'
"#;

fn marks(s: &Served) -> usize {
    std::fs::read_to_string(s.env.path().join("ledger")).map_or(0, |t| t.lines().count())
}

/// The test's schedules paused on record, then the serve stopped.
fn pause_and_stop(s: &Served, names: &[&str], child: std::process::Child) {
    for name in names {
        let out = s.env.run(&["schedule", "pause", name, "--reason", "done"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    term(child);
}

#[test]
fn a_broken_file_keeps_its_previous_version_firing_and_its_error_everywhere() {
    let mut s = Served::new();
    let path = s.write("tick.toml", TICK);
    let file = std::fs::canonicalize(&path).unwrap();
    let file = file.to_string_lossy();
    let (child, log) = s.start(&[]);
    wait_until("a first run", secs(30), || marks(&s) >= 1);

    s.write("tick.toml", &TICK.replace("* * * * * *", "* * * * * * *"));
    let at = format!("{file}:4:8: error: `cron` of schedule #1");
    wait_log(&log, &at, 10);
    // The version loaded before keeps firing.
    let before = marks(&s);
    wait_until("two more runs of the previous version", secs(30), || {
        marks(&s) >= before + 2
    });
    let listed = s.schedules();
    let error = listed[0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.starts_with(&at), "{error}");
    let metrics = text(&s.env.run(&["metrics"]).stdout);
    assert!(metrics.contains("baton_serve_reload_errors 1"), "{metrics}");
    assert!(
        metrics.contains(&format!("baton_serve_reload_error{{file=\"{file}\"}} 1")),
        "{metrics}"
    );

    // Loads again: the error is gone from the store and the metrics.
    s.write("tick.toml", TICK);
    wait_until("the error to clear", secs(10), || {
        s.schedules()[0]["error"].is_null()
    });
    let metrics = text(&s.env.run(&["metrics"]).stdout);
    assert!(metrics.contains("baton_serve_reload_errors 0"), "{metrics}");
    pause_and_stop(&s, &["tick"], child);
}

/// Issue 55 point 4: a new workflow file written in two parts is served only whole.
/// Its first part is a workflow by itself (fires every second, its step marks the
/// ledger); the second declares the step's gate. The writer pauses between the parts
/// for longer than the serve's pass (a scan a second): the first part never fires,
/// and the whole file's runs wait at the gate.
#[test]
fn a_new_file_written_in_two_parts_never_fires_its_first_part() {
    use std::io::Write as _;
    let mut s = Served::new();
    let (child, log) = s.start(&[]);
    wait_log(&log, "serve: ", 30);
    let path = s.dir.join("halves.toml");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(TICK.as_bytes()).unwrap();
    f.sync_all().unwrap();
    wait_log(&log, "halves.toml is new; it loads once whole", 30);
    // The writer's own pause (the scenario, not a wait for the serve): three of the
    // serve's passes go by with the first part alone on disk.
    std::thread::sleep(std::time::Duration::from_secs(3));
    f.write_all(b"gate = { prompt = \"Mark?\" }\n").unwrap();
    f.sync_all().unwrap();
    drop(f);
    let gated = wait_until("a run of the whole file at its gate", secs(30), || {
        let runs = s.env.runs();
        runs.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str())
            .find(|id| step_state(&s.env.show(id), "mark").as_deref() == Some("waiting_approval"))
            .map(str::to_string)
            .ok_or_else(|| format!("{runs:#}"))
    });
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(marks(&s), 0, "the first part fired: {said}");
    assert_eq!(said.matches("loaded").count(), 1, "{said}");
    for r in s.env.runs().as_array().into_iter().flatten() {
        let id = r["id"].as_str().unwrap_or_default();
        let mark = step_state(&s.env.show(id), "mark");
        assert!(
            matches!(mark.as_deref(), Some("waiting_approval" | "pending")),
            "run {id} is of the first part ({mark:?}), beside {gated}: {said}"
        );
    }
    pause_and_stop(&s, &["tick"], child);
}

/// The recommended way (issue 55 point 4): a file written whole elsewhere and renamed
/// into place loads at the serve's next scan. Dated an hour ahead, it is never quiet
/// long enough to load as a file written in place would: only the watched rename loads it.
#[test]
fn a_new_file_renamed_into_place_loads_without_waiting_to_be_quiet() {
    let mut s = Served::new();
    // Never due: the ledger is the renamed file's alone.
    let yearly = TICK
        .replace("tick", "first")
        .replace("* * * * * *", "0 0 1 1 *");
    s.write("first.toml", &yearly);
    let (child, log) = s.start(&[]);
    // Loaded: the serve watches the directory by now.
    wait_log(&log, "loaded", 30);
    let ahead = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    s.write_dated("tick.toml", TICK, ahead);
    wait_log(&log, "tick.toml", 30);
    wait_until("the serve to load it", secs(30), || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.lines()
            .any(|l| l.starts_with("serve: loaded") && l.ends_with("tick.toml"))
            .then_some(())
            .ok_or(t)
    });
    wait_until("the renamed file to fire", secs(30), || marks(&s) >= 1);
    pause_and_stop(&s, &["first", "tick"], child);
}

/// Issue 78 point 6: a file whose time is an hour in the serve's future (a clock
/// behind the file server's, a copy that kept its times), there before the serve
/// started (so no rename was watched), loads once its size and time held across the
/// scans of 5 s on the serve's own clock, and fires.
#[test]
fn a_file_dated_in_the_future_loads_once_unchanged_across_scans() {
    let mut s = Served::new();
    let ahead = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    s.write_dated("tick.toml", TICK, ahead);
    let (child, log) = s.start(&[]);
    wait_until("the serve to load the future-dated file", secs(40), || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.lines()
            .any(|l| l.starts_with("serve: loaded") && l.ends_with("tick.toml"))
            .then_some(())
            .ok_or(t)
    });
    wait_until("it to fire", secs(30), || marks(&s) >= 1);
    pause_and_stop(&s, &["tick"], child);
}
