//! Under load (issue 16, point 6): 20 concurrent 10,000-step runs plus readers on one
//! store all finish, with no "database is locked" failure, and no run is left in
//! `pending`.
use crate::helpers::*;
use std::fmt::Write as _;
use std::process::Stdio;

/// A layered DAG of `layers × width` no-op steps, each needing one step of the layer
/// before.
fn dag(layers: usize, width: usize) -> String {
    let mut s = String::from("name = \"load\"\n");
    for l in 0..layers {
        for w in 0..width {
            let _ = write!(s, "[[step]]\nid = \"l{l}-n{w}\"\nuses = \"builtin.noop\"\n");
            if l > 0 {
                let _ = writeln!(s, "needs = [\"l{}-n{w}\"]", l - 1);
            }
        }
    }
    s
}

#[test]
fn twenty_concurrent_large_runs_and_readers_share_one_store() {
    let env = Env::new();
    let wf = env.workflow("load.toml", &dag(100, 100));
    let wf = wf.to_str().unwrap();
    let engines: Vec<_> = (0..20)
        .map(|_| {
            env.cmd()
                .args(["run", wf, "--headless"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn baton run")
        })
        .collect();
    // Readers start once the store exists (they never create one).
    let _ = env.wait_run_id_for(120);
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (db, dir) = (env.db(), env.path().to_path_buf());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..20 {
                    let o = crate::helpers::baton()
                        .args(["runs", "--json"])
                        .env("BATON_DB", &db)
                        .current_dir(&dir)
                        .output()
                        .expect("runs");
                    if !o.status.success() {
                        failures.push(text(&o.stderr));
                    }
                }
                failures
            })
        })
        .collect();
    let mut failed = Vec::new();
    for e in engines {
        let out = wait_child(e, 300);
        if out.status.code() != Some(0) {
            failed.push(text(&out.stderr));
        }
    }
    for r in readers {
        failed.extend(r.join().expect("reader"));
    }
    assert!(failed.is_empty(), "failures under load: {failed:#?}");
    let runs = env.runs();
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 20);
    assert!(
        runs.iter().all(|r| r["state"] == "succeeded"),
        "every run succeeded: {runs:#?}"
    );
}
