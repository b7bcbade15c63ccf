//! A store of many finished runs, built in minutes: a few real runs of small workflows
//! (`baton run --headless`) are the templates, and each generated run is one of them
//! again — a new id, its times moved back by its age — written through the store's own
//! path (`create_started_run`, `commit_with_logs`, `release_lease`), so the projection,
//! the event chain and the audit rows are what `baton run` writes. Its logs are not
//! copied: the attempts name the template's files.
use baton::model::state_summary::SummaryFold;
use baton::model::{Event, Timestamp};
use baton::store::{AttemptLog, NewRun, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Plain runs: four steps, one retried once, an output passed along.
const PLAIN: &str = r#"name = "nightly-etl"
description = "Extract, transform and load, one step retried"

[[step]]
id = "extract"
run = 'echo "extracted 120 rows"; echo rows=120 >> "$BATON_OUTPUT"'

[[step]]
id = "transform"
needs = ["extract"]
run = '''
f="$BATON_RUN_ID.try"
if [ ! -e "$f" ]; then touch "$f"; echo "upstream busy" >&2; exit 1; fi
rm -f "$f"; echo "transformed ${ROWS} rows"
'''
env = { ROWS = "${{ steps.extract.outputs.rows }}" }
retry = { attempts = 2, delay = "10ms" }

[[step]]
id = "load"
needs = ["transform"]
run = 'echo loaded'

[[step]]
id = "report"
needs = ["load"]
run = 'echo "report: ok"'
"#;

/// Gated runs: a gate approved (with `--auto-approve`), so the audit chain has rows.
const GATED: &str = r#"name = "release"
description = "Build, approve, deploy"

[[step]]
id = "build"
run = 'echo built'

[[step]]
id = "deploy"
needs = ["build"]
run = 'echo deployed'
gate = { prompt = "Deploy?" }
"#;

/// Failed runs: a step fails and its dependant never runs.
const FAILED: &str = r#"name = "backup"
description = "A backup whose upload fails"

[[step]]
id = "snapshot"
run = 'echo snapshot taken'

[[step]]
id = "upload"
needs = ["snapshot"]
run = 'echo "connection refused" >&2; exit 3'

[[step]]
id = "prune"
needs = ["upload"]
run = 'echo pruned'
"#;

/// One template run, read back from the store it was recorded in.
pub(crate) struct Template {
    run: NewRun,
    events: Vec<Event>,
    logs: Vec<AttemptLog>,
}

/// Run each template workflow once with the real binary into `dir/templates.db`.
pub(crate) fn templates(baton: &Path, dir: &Path) -> Vec<Template> {
    let db = dir.join("templates.db");
    for (name, text, extra) in [
        ("plain", PLAIN, &[][..]),
        ("gated", GATED, &["--auto-approve"][..]),
        ("failed", FAILED, &[][..]),
    ] {
        let wf = dir.join(format!("{name}.toml"));
        std::fs::write(&wf, text).expect("write template workflow");
        let status = Command::new(baton)
            .arg("run")
            .arg(&wf)
            .arg("--headless")
            .args(extra)
            .env("BATON_DB", &db)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run baton");
        // The failed template exits non-zero by design.
        assert!(
            name == "failed" || status.success(),
            "template {name}: {status}"
        );
    }
    let store = Store::open_existing(&db).expect("open templates");
    let mut out = Vec::new();
    for summary in store.list_runs().expect("list templates") {
        let r = store.run(&summary.id).expect("template run");
        let events = store.events(&summary.id).expect("template events");
        let steps: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.kind {
                baton::model::EventKind::StepStateChanged { step, .. } => Some(step.clone()),
                _ => None,
            })
            .fold(Vec::new(), |mut v, s| {
                if !v.contains(&s) {
                    v.push(s);
                }
                v
            });
        let mut logs = Vec::new();
        for step in &steps {
            for (attempt, path) in store.attempt_logs(&summary.id, step).expect("logs") {
                logs.push(AttemptLog {
                    step_id: step.clone(),
                    attempt,
                    path,
                    tail: format!("{step} attempt {attempt}\n"),
                });
            }
        }
        out.push(Template {
            run: NewRun {
                id: r.id,
                workflow: r.workflow,
                source_path: r.source_path,
                source_text: r.source_text,
                params_json: r.params_json,
                operator: r.operator,
                started_at: r.started_at,
                parent: None,
                steps,
            },
            events,
            logs,
        });
    }
    // Plain runs most often, then gated, then failed (templates come newest first).
    out.sort_by_key(|t| match t.run.workflow.as_str() {
        "nightly-etl" => 0,
        "release" => 1,
        _ => 2,
    });
    out
}

/// Write `n` finished runs into a new store at `db`, started over the last year (the
/// newest a minute ago), one in 20 gated and one in 10 failed. Returns the time taken.
pub(crate) fn generate(db: &Path, templates: &[Template], n: usize) -> std::time::Duration {
    let t0 = Instant::now();
    let mut store = Store::open(db).expect("open generated store");
    let now = Timestamp::now().0;
    let year_ms: i64 = 365 * 24 * 3600 * 1000;
    let holder = format!("pid {} on generator", std::process::id());
    for i in 0..n {
        let t = match i % 20 {
            0 => &templates[1],
            1 | 11 => &templates[2],
            _ => &templates[0],
        };
        // Run i of n starts (n - i) / n of a year ago, the last one a minute ago.
        let age = 60_000 + (year_ms * (n - 1 - i) as i64) / n.max(1) as i64;
        let started = now - age;
        let shift = started - t.run.started_at.0;
        let id = ulid::Ulid::from_parts(started as u64, u128::from(i as u64) << 40 | 0xbeef)
            .to_string()
            .to_lowercase();
        let events: Vec<Event> = t
            .events
            .iter()
            .map(|e| Event {
                seq: e.seq,
                at: Timestamp(e.at.0 + shift),
                kind: e.kind.clone(),
            })
            .collect();
        let run = NewRun {
            id: id.clone(),
            started_at: Timestamp(started),
            ..t.run.clone()
        };
        // The summaries an engine's core hands over with each commit.
        let mut fold = SummaryFold::new(run.steps.iter().map(String::as_str));
        fold.apply(&events[0]);
        store
            .create_started_run(&run, &holder, &events[..1], &fold.summary())
            .expect("create run");
        for l in &t.logs {
            fold.log(&l.step_id, l.attempt);
        }
        for e in &events[1..] {
            fold.apply(e);
        }
        store
            .commit_with_logs(&id, &events[1..], &t.logs, &fold.summary())
            .expect("commit run");
        store.release_lease(&id, &holder).expect("release lease");
    }
    t0.elapsed()
}

/// The store of `n` runs under `dir`, generated once. With `BATON_HISTORY_STORES=DIR`
/// a store generated by an earlier bench run is copied from there (and a new one kept
/// there), so that measuring a change on 50,000 runs need not wait for the generator;
/// the time reported is then the copy's.
pub(crate) fn store_of(
    dir: &Path,
    templates: &[Template],
    n: usize,
) -> (PathBuf, std::time::Duration) {
    let db = dir.join(format!("runs-{n}.db"));
    let kept = std::env::var_os("BATON_HISTORY_STORES")
        .map(|d| PathBuf::from(d).join(format!("runs-{n}.db")));
    if let Some(kept) = kept.as_ref().filter(|k| k.exists()) {
        let t0 = Instant::now();
        std::fs::copy(kept, &db).expect("copy the kept store");
        return (db, t0.elapsed());
    }
    let took = generate(&db, templates, n);
    if let Some(kept) = kept {
        // A closed store is one file (the WAL is checkpointed when the last connection closes).
        std::fs::create_dir_all(kept.parent().unwrap_or(dir)).expect("make the stores' directory");
        std::fs::copy(&db, &kept).expect("keep the generated store");
    }
    (db, took)
}
