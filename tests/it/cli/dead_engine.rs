//! Issue 28 point 3: a run whose engine was killed stops its clocks at the engine's last
//! sign of life, and its running step reads `interrupted` in `show`, `show --json`,
//! `runs --json`'s signals and the metrics, until a resume decides it.
use crate::helpers::*;

#[test]
fn a_killed_engines_running_step_reads_interrupted_and_its_clock_stops() {
    let env = Env::new();
    let wf = env.workflow(
        "soak.toml",
        "name = \"soak\"\n[[step]]\nid = \"first\"\nrun = \"true\"\n[[step]]\nid = \"long\"\nneeds = [\"first\"]\nrun = \"sleep 60\"\n",
    );
    let (mut engine, id) = env.spawn_until(&wf, "long", "running");
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    // The step's process goes with its engine's group or not: either way the engine is gone.
    let first = wait_until("the run to read interrupted", secs(30), || {
        let v = env.show(&id);
        (v["state"] == "interrupted").then_some(v)
    });
    assert_eq!(
        step_field(&first, "long", "state"),
        "interrupted",
        "{first:#}"
    );
    let d1 = step_field(&first, "long", "duration_ms");
    assert!(d1.as_u64().is_some(), "{first:#}");
    // A later read (another process, milliseconds on): nothing has moved.
    let later = env.show(&id);
    assert_eq!(step_field(&later, "long", "duration_ms"), d1, "{later:#}");
    let shown = text(&env.run(&["show", &id]).stdout);
    let line = shown
        .lines()
        .find(|l| l.contains("long"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("interrupted") && !line.contains("running"),
        "{shown}"
    );
    let runs = env.runs();
    assert_eq!(runs[0]["state"], "interrupted");
    assert_eq!(runs[0]["signals"]["running"], 0, "{runs:#}");
    let metrics = text(&env.run(&["metrics"]).stdout);
    let sample = |state: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("baton_steps{")
                    && l.contains("workflow=\"soak\"")
                    && l.contains(&format!("state=\"{state}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
    };
    assert_eq!(sample("running").as_deref(), Some("0"), "{metrics}");
    assert_eq!(sample("interrupted").as_deref(), Some("1"), "{metrics}");
}
