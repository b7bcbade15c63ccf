//! Issue 60 over SSH (tests/ssh/hosts.sh: two real sshd hosts): a step's artifact is
//! read back from its host over the executor's shared connection, kept in the store by
//! its SHA-256, and written into the working directory of a reader on the other host
//! (checked there by its digest) before it starts. kill -9 of the engine half-way
//! through either copy is resumed by copying again, never by running a step again,
//! and the reader never starts on part of the file. The README's worked example
//! (examples/ssh-artifacts.toml) runs on the two hosts.
use super::ssh::{executor, hosts, own_tmp};
use crate::helpers::*;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// `train` on one host makes a 3 MiB file (more than the copy's 1 MiB chunk, so a
/// failpoint fires half-way) and records that it ran; `eval` on the other host records
/// the digest of the file it is handed and where it found it.
fn workflow(env: &Env, config: &Path) -> PathBuf {
    workflow_with(env, config, "")
}

/// [`workflow`], `h3_extra` more fields of the reader's executor.
pub(super) fn workflow_with(env: &Env, config: &Path, h3_extra: &str) -> PathBuf {
    let head = format!(
        "{}{}{h3_extra}",
        executor("h2", "baton-h2", config, env, ""),
        executor("h3", "baton-h3", config, env, "")
    );
    env.workflow(
        "wf.toml",
        &format!(
            r#"name = "ssh-artifacts"
{head}
[[step]]
id = "train"
executor = "h2"
run = "mkdir -p out && head -c 3145728 /dev/urandom > out/m.ckpt && echo train >> ledger"
artifacts = {{ model = "out/*.ckpt" }}

[[step]]
id = "eval"
executor = "h3"
needs = ["train"]
env = {{ MODEL = "${{{{ steps.train.artifacts.model }}}}" }}
run = 'sha256sum "$MODEL" | cut -d" " -f1 > got && echo "$MODEL" > where && echo eval >> ledger'
"#
        ),
    )
}

pub(super) fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        std::fs::read(path).expect("the file to hash"),
    ))
}

pub(super) fn ledger(env: &Env) -> String {
    std::fs::read_to_string(env.path().join("ledger")).unwrap_or_default()
}

/// What holds after any good end: each step ran once; the reader on the other host
/// read the very file the maker made, at `.baton-artifacts/SHA/FILE` of its working
/// directory, and the record says which content, how big.
pub(super) fn handed_once(env: &Env, run: &str) {
    assert_eq!(ledger(env), "train\neval\n", "each step ran once");
    let made = sha256_of(&env.path().join("out/m.ckpt"));
    let got = std::fs::read_to_string(env.path().join("got")).expect("eval's digest");
    assert_eq!(got.trim(), made, "eval read the file train made");
    let rel = format!(".baton-artifacts/{made}/m.ckpt");
    let place = std::fs::read_to_string(env.path().join("where")).expect("eval's path");
    assert_eq!(place.trim(), rel);
    let show = env.show(run);
    let a = step(&show, "train")["artifacts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(a.len(), 1, "{show:#}");
    assert_eq!(a[0]["path"], "out/m.ckpt");
    assert_eq!(a[0]["sha256"], made.as_str());
    assert_eq!(a[0]["size"], 3_145_728);
    // The reader ended: its handed copy, its hold and any temporary copy are gone.
    let handed = env.path().join(".baton-artifacts");
    assert!(
        !handed.exists(),
        "left on the reader's host: {:?}",
        walk(&handed)
    );
}

pub(super) fn walk(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// `baton run` under the failpoint `point` on `step`: the engine kills itself
/// (SIGKILL) half-way through that copy. The run's id.
pub(super) fn died_at(env: &Env, wf: &Path, tmp: &Path, (point, step): (&str, &str)) -> String {
    let child = env
        .cmd()
        .env("TMPDIR", tmp)
        .env("BATON_FAILPOINT", format!("{point}:{step}"))
        .args(["run", wf.to_str().expect("UTF-8"), "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton");
    let out = wait_child(child, 120);
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the engine died at the failpoint: {:?}\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    env.wait_run_id()
}

pub(super) fn resume(env: &Env, run: &str, tmp: &Path) {
    let out = env
        .cmd()
        .env("TMPDIR", tmp)
        .args(["resume", run, "--headless"])
        .stdin(Stdio::null())
        .output()
        .expect("resume");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn an_artifact_moves_from_one_host_to_a_step_on_another() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow(&env, &config);
    let plan = text(&env.run(&["plan", wf.to_str().expect("UTF-8")]).stdout);
    assert!(
        plan.contains(
            "train.model: out/*.ckpt in train's directory (h2: host baton-h2, over ssh) -> store -> eval (h3: host baton-h3, over ssh)"
        ),
        "{plan}"
    );
    let out = env
        .cmd()
        .env("TMPDIR", &tmp)
        .args(["run", wf.to_str().expect("UTF-8"), "--headless"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    handed_once(&env, &run);
}

#[test]
fn kill_dash_nine_during_an_ssh_copy_back_copies_again_on_resume_never_the_step() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow(&env, &config);
    let run = died_at(&env, &wf, &tmp, ("collecting", "train"));
    assert_eq!(ledger(&env), "train\n");
    resume(&env, &run, &tmp);
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    handed_once(&env, &run);
}

#[test]
fn kill_dash_nine_during_an_ssh_copy_out_never_starts_the_reader_on_part_of_it() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    // The copy out written when the reader starts, not sent ahead (`ssh_ahead`).
    let wf = workflow_with(&env, &config, "send_ahead = false\n");
    let run = died_at(&env, &wf, &tmp, ("handing", "eval"));
    assert_eq!(ledger(&env), "train\n", "eval did not start");
    // What reached the host is no file under the name eval reads.
    let made = sha256_of(&env.path().join("out/m.ckpt"));
    assert!(
        !env.path()
            .join(format!(".baton-artifacts/{made}/m.ckpt"))
            .exists()
    );
    resume(&env, &run, &tmp);
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    handed_once(&env, &run);
}

#[test]
fn the_worked_example_runs_across_the_two_hosts() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ssh-artifacts.toml"),
    )
    .expect("the example");
    let on = |host: &str| format!("host = \"{host}\"\nssh_config = \"{}\"", config.display());
    let text_wf = example
        .replace("host = \"gpu1\"", &on("baton-h2"))
        .replace("host = \"cpu1\"", &on("baton-h3"))
        .replace(
            "workdir = \".baton/ssh\"",
            &format!("workdir = \"{}\"", env.path().join("remote").display()),
        );
    let wf = env.workflow("ssh-artifacts.toml", &text_wf);
    let out = env
        .cmd()
        .env("TMPDIR", &tmp)
        .args(["run", wf.to_str().expect("UTF-8"), "--headless"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let made = sha256_of(&env.path().join("out/model.ckpt"));
    let evaluated = std::fs::read_to_string(env.path().join("evaluated")).expect("evaluated");
    assert_eq!(evaluated.trim(), made);
    let run = run_id_of(&text(&out.stdout));
    let a = step(&env.show(&run), "train")["artifacts"].clone();
    assert_eq!(a[0]["sha256"], made.as_str(), "{a:#}");
}
