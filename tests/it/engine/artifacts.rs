//! Issue 60: artifacts through the real binary on the local executor. A step's file is
//! kept in the store by its SHA-256 and handed to the step that reads it; a missing one
//! fails the step with a record that names it; kill -9 of the engine half-way through
//! a copy (the `collecting` and `handing` failpoints) is resumed by copying again,
//! never by running the step again, and no step starts on a partial file; a fork reuses
//! the kept file by digest; a cached step's hit restores them from the store;
//! `runs rm` removes what no kept run uses.
use crate::helpers::*;
use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;

/// `train` makes a 3 MiB file (bigger than the copy's 1 MiB chunk, so a failpoint
/// fires half-way) and records that it ran; `eval` records the digest of the file it
/// is handed, through the template and through `BATON_ARTIFACT_TRAIN_MODEL`.
const WF: &str = r#"name = "artifacts"

[[step]]
id = "train"
run = "mkdir -p out && head -c 3145728 /dev/urandom > out/m.ckpt && echo train >> ledger"
artifacts = { model = "out/*.ckpt" }

[[step]]
id = "eval"
needs = ["train"]
env = { MODEL = "${{ steps.train.artifacts.model }}" }
run = 'sha256sum "$MODEL" | cut -d" " -f1 > got && test "$MODEL" = "$BATON_ARTIFACT_TRAIN_MODEL" && echo eval >> ledger'
"#;

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn ledger(env: &Env) -> String {
    std::fs::read_to_string(env.path().join("ledger")).unwrap_or_default()
}

/// The artifacts `show --json` lists for `step`.
fn kept(show: &Value, id: &str) -> Vec<Value> {
    step(show, id)["artifacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The contents kept (`objects/ab/abcd…`), by name.
fn objects(env: &Env) -> Vec<String> {
    let dir = env.db().parent().unwrap().join("artifacts/objects");
    let mut out = Vec::new();
    for fan in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(fan.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(f.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

/// Partial copies a killed engine left (`objects/.tmp-…`).
fn partial(env: &Env) -> usize {
    let dir = env.db().parent().unwrap().join("artifacts/objects");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().starts_with(".tmp-"))
        .count()
}

/// `baton run` with the failpoint `point` on `step`: the engine kills itself (SIGKILL)
/// half-way through that copy. The run's id.
fn died_at(env: &Env, wf: &Path, point: &str, step: &str) -> String {
    let child = env
        .cmd()
        .env("BATON_FAILPOINT", format!("{point}:{step}"))
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton");
    let out = wait_child(child, 60);
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the engine died at the failpoint: {:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    env.wait_run_id()
}

fn resume(env: &Env, run: &str) {
    let out = env.run(&["resume", run, "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// What holds after any good end: each step ran once, the reader got the very file
/// the maker made, and its record says which content, how big, made by which attempt.
fn handed_once(env: &Env, run: &str) -> Value {
    assert_eq!(ledger(env), "train\neval\n", "each step ran once");
    let made = sha256_of(&env.path().join("out/m.ckpt"));
    let got = std::fs::read_to_string(env.path().join("got")).unwrap();
    assert_eq!(got.trim(), made, "eval read the file train made");
    let show = env.show(run);
    let a = kept(&show, "train");
    assert_eq!(a.len(), 1, "{show:#}");
    assert_eq!(a[0]["name"], "model");
    assert_eq!(a[0]["path"], "out/m.ckpt");
    assert_eq!(a[0]["sha256"], made.as_str());
    assert_eq!(a[0]["size"], 3_145_728);
    assert_eq!(a[0]["run"], run);
    assert_eq!(a[0]["attempt"], 1);
    assert_eq!(objects(env), [made], "kept once, by digest");
    show
}

#[test]
fn a_steps_file_is_kept_by_digest_and_handed_to_its_reader() {
    let env = Env::new();
    let wf = env.workflow("wf.toml", WF);
    let plan = text(&env.run(&["plan", wf.to_str().unwrap()]).stdout);
    assert!(plan.contains("train  [run, artifacts model]"), "{plan}");
    assert!(plan.contains("eval  [run, uses train.model]"), "{plan}");
    assert!(
        plan.contains(
            "train.model: out/*.ckpt in train's directory (local) -> store -> eval (local)"
        ),
        "{plan}"
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    assert!(
        text(&out.stdout)
            .contains("train kept artifacts: model = out/m.ckpt (3145728 bytes, sha256 "),
        "{}",
        text(&out.stdout)
    );
    handed_once(&env, &run);
    let shown = text(&env.run(&["show", &run]).stdout);
    assert!(
        shown.contains("artifact of train: model = out/m.ckpt, 3145728 bytes, sha256 "),
        "{shown}"
    );
}

#[test]
fn kill_dash_nine_while_a_file_is_kept_copies_it_again_on_resume_never_the_step() {
    let env = Env::new();
    let wf = env.workflow("wf.toml", WF);
    let run = died_at(&env, &wf, "collecting", "train");
    assert_eq!(ledger(&env), "train\n");
    assert!(
        kept(&env.show(&run), "train").is_empty(),
        "nothing on record yet"
    );
    assert!(objects(&env).is_empty(), "no content kept yet");
    assert_eq!(partial(&env), 1, "a partial copy was left");
    resume(&env, &run);
    handed_once(&env, &run);
    // What the killed engine left goes with the next collection (no run is driven).
    let rm = env.run(&["runs", "rm", &run, "--yes"]);
    assert_eq!(rm.status.code(), Some(0), "{}", text(&rm.stderr));
    assert_eq!(partial(&env), 0);
    assert!(objects(&env).is_empty());
}

#[test]
fn kill_dash_nine_while_a_file_is_handed_never_starts_the_reader_on_part_of_it() {
    let env = Env::new();
    let wf = env.workflow("wf.toml", WF);
    let run = died_at(&env, &wf, "handing", "eval");
    assert_eq!(ledger(&env), "train\n", "eval did not start");
    assert_eq!(kept(&env.show(&run), "train").len(), 1);
    // Half a copy lies beside where eval finds it, never under its name.
    let stage = env
        .db()
        .parent()
        .unwrap()
        .join("artifacts/stage")
        .join(&run);
    let names: Vec<String> = walk(&stage);
    assert!(
        names.iter().any(|n| n.starts_with(".tmp-")) && !names.iter().any(|n| n == "m.ckpt"),
        "{names:?}"
    );
    resume(&env, &run);
    handed_once(&env, &run);
}

#[test]
fn a_missing_file_fails_its_step_with_a_record_that_names_it() {
    let env = Env::new();
    let wf = env.workflow(
        "wf.toml",
        &WF.replace("head -c 3145728 /dev/urandom > out/m.ckpt", "true"),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_ne!(out.status.code(), Some(0));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "train").as_deref(), Some("failed"));
    assert_eq!(
        step_state(&show, "eval").as_deref(),
        Some("upstream_failed")
    );
    let errors = show["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["step"] == "train"
            && e["kind"] == "output_invalid"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("artifact `model`: `out/*.ckpt` matched no file")),
        "{show:#}"
    );
}

#[test]
fn a_fork_reuses_the_kept_file_by_digest_and_runs_rm_removes_what_no_run_uses() {
    let env = Env::new();
    let wf = env.workflow("wf.toml", WF);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let old = run_id_of(&text(&out.stdout));
    let made = sha256_of(&env.path().join("out/m.ckpt"));
    // The maker's working copy changes: the fork's reader still gets what was kept.
    std::fs::write(env.path().join("out/m.ckpt"), b"changed since").unwrap();
    let out = env.run(&["fork", &old, "--from", "eval", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let fork = run_id_of(&text(&out.stdout));
    assert_eq!(
        ledger(&env),
        "train\neval\neval\n",
        "train was reused, not run"
    );
    let got = std::fs::read_to_string(env.path().join("got")).unwrap();
    assert_eq!(got.trim(), made);
    let a = kept(&env.show(&fork), "train");
    assert_eq!(a[0]["sha256"], made.as_str());
    assert_eq!(
        a[0]["run"],
        old.as_str(),
        "made by the run it was reused from"
    );
    // Deleting the old run keeps the content: the fork still uses it.
    let rm = env.run(&["runs", "rm", &old, "--yes"]);
    assert_eq!(rm.status.code(), Some(0), "{}", text(&rm.stderr));
    assert_eq!(objects(&env), [made]);
    let stage = env.db().parent().unwrap().join("artifacts/stage");
    assert!(
        !stage.join(&old).exists(),
        "the old run's handed copies went"
    );
    assert!(stage.join(&fork).exists());
    let rm = env.run(&["runs", "rm", &fork, "--yes"]);
    assert_eq!(rm.status.code(), Some(0), "{}", text(&rm.stderr));
    assert!(
        text(&rm.stdout).contains("removed 1 artifact content(s) no kept run uses (3145728 bytes)"),
        "{}",
        text(&rm.stdout)
    );
    assert!(objects(&env).is_empty(), "{:?}", objects(&env));
}

#[test]
fn a_cached_step_restores_its_artifacts_from_the_store() {
    let env = Env::new();
    let wf = env.workflow(
        "wf.toml",
        &WF.replace(
            "artifacts = { model = \"out/*.ckpt\" }",
            "artifacts = { model = \"out/*.ckpt\" }\ncache = true",
        ),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first = run_id_of(&text(&out.stdout));
    handed_once(&env, &first);
    let made = sha256_of(&env.path().join("out/m.ckpt"));
    // The maker's file is gone: a hit reads the store, not the step's directory.
    std::fs::remove_dir_all(env.path().join("out")).unwrap();
    std::fs::remove_file(env.path().join("got")).unwrap();
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let second = run_id_of(&text(&out.stdout));
    assert_eq!(
        ledger(&env),
        "train\neval\neval\n",
        "train was not run again"
    );
    let got = std::fs::read_to_string(env.path().join("got")).unwrap();
    assert_eq!(got.trim(), made, "eval read the content the first run kept");
    let a = kept(&env.show(&second), "train");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["sha256"], made.as_str());
    assert_eq!(a[0]["size"], 3_145_728);
    // The cached run's record gone: the hit cannot restore them, so the step runs.
    let rm = env.run(&["runs", "rm", &first, "--yes"]);
    assert_eq!(rm.status.code(), Some(0), "{}", text(&rm.stderr));
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ledger(&env), "train\neval\neval\ntrain\neval\n");
}

/// The names of the files under `dir`, at any depth.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}
