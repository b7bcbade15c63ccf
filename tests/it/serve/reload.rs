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
    let out = s
        .env
        .run(&["schedule", "pause", "tick", "--reason", "done"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    term(child);
}
