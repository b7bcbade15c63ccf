//! Issue 60 point 3 over SSH (tests/ssh/hosts.sh): while a step's artifact comes back
//! from its host into the store, the same bytes go to the working directory of its
//! reader on the other host, which checks them by their digest before it puts them in
//! place; the reader's start holds that copy instead of writing it again. A copy
//! changed since its check is written again; one no reader takes is removed at the
//! run's end; kill -9 of the engine while the copy goes ahead leaves nothing a reader
//! would trust, and resume hands the file once, never running a step again.
use super::ssh::{executor, hosts, own_tmp};
use super::ssh_artifacts::{died_at, handed_once, ledger, resume, walk, workflow_with};
use crate::helpers::*;
use std::path::Path;
use std::process::Stdio;

fn run_ok(env: &Env, wf: &Path, tmp: &Path, failpoint: Option<&str>) -> String {
    let mut cmd = env.cmd();
    cmd.env("TMPDIR", tmp);
    if let Some(f) = failpoint {
        cmd.env("BATON_FAILPOINT", f);
    }
    let out = cmd
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
    run_id_of(&text(&out.stdout))
}

/// The reader is handed the copy sent ahead as it is: were it written again when the
/// reader starts, the failpoint there (`handing:eval`, half-way through that copy)
/// would kill the engine. It reads exactly the maker's bytes, and nothing is left.
#[test]
fn a_copy_sent_ahead_is_what_its_reader_holds_never_written_again() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow_with(&env, &config, "");
    let run = run_ok(&env, &wf, &tmp, Some("handing:eval"));
    handed_once(&env, &run);
}

/// A copy sent ahead, then changed on the host before its reader started (a step in
/// the same directory writes through it): not adopted; its digest checked, it is
/// written again, and the reader reads the maker's bytes.
#[test]
fn a_copy_sent_ahead_then_changed_is_checked_and_written_again() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let head = format!(
        "{}{}",
        executor("h2", "baton-h2", &config, &env, ""),
        executor("h3", "baton-h3", &config, &env, "")
    );
    let wf = env.workflow(
        "wf.toml",
        &format!(
            r#"name = "ssh-ahead-changed"
{head}
[[step]]
id = "train"
executor = "h2"
run = "mkdir -p out && head -c 3145728 /dev/urandom > out/m.ckpt && echo train >> ledger"
artifacts = {{ model = "out/*.ckpt" }}

[[step]]
id = "tamper"
executor = "h3"
needs = ["train"]
run = 'for f in .baton-artifacts/*/m.ckpt; do chmod u+w "$f" && printf x >> "$f" && echo "$f" >> tampered; done'

[[step]]
id = "eval"
executor = "h3"
needs = ["tamper"]
env = {{ MODEL = "${{{{ steps.train.artifacts.model }}}}" }}
run = 'sha256sum "$MODEL" | cut -d" " -f1 > got && echo "$MODEL" > where && echo eval >> ledger'
"#
        ),
    );
    let run = run_ok(&env, &wf, &tmp, None);
    let tampered = std::fs::read_to_string(env.path().join("tampered")).unwrap_or_default();
    assert!(
        tampered.trim().ends_with("/m.ckpt") && !tampered.contains('*'),
        "the copy sent ahead was there to change: {tampered:?}"
    );
    handed_once(&env, &run);
}

/// The reader never starts (another step it needs fails): the copy sent ahead for it,
/// there while the run went on, is removed when the run ends.
#[test]
fn a_copy_sent_ahead_that_no_reader_takes_is_removed_at_the_run_s_end() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let head = format!(
        "{}{}",
        executor("h2", "baton-h2", &config, &env, ""),
        executor("h3", "baton-h3", &config, &env, "")
    );
    let wf = env.workflow(
        "wf.toml",
        &format!(
            r#"name = "ssh-ahead-unused"
{head}
[[step]]
id = "train"
executor = "h2"
run = "mkdir -p out && head -c 1048576 /dev/urandom > out/m.ckpt"
artifacts = {{ model = "out/*.ckpt" }}

[[step]]
id = "check"
needs = ["train"]
run = 'ls .baton-artifacts/*/m.ckpt > seen; exit 1'

[[step]]
id = "eval"
executor = "h3"
needs = ["train", "check"]
uses_artifacts = ["train.model"]
run = "echo eval >> ledger"
"#
        ),
    );
    let out = env
        .cmd()
        .env("TMPDIR", &tmp)
        .args(["run", wf.to_str().expect("UTF-8"), "--headless"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let seen = std::fs::read_to_string(env.path().join("seen")).unwrap_or_default();
    assert!(
        seen.trim().ends_with("/m.ckpt"),
        "sent ahead before the reader's fate was known: {seen:?}"
    );
    assert_eq!(ledger(&env), "", "eval never started");
    let handed = env.path().join(".baton-artifacts");
    assert!(!handed.exists(), "left: {:?}", walk(&handed));
}

/// kill -9 of the engine while the file comes back and goes ahead (its first mebibyte
/// written): the host got no digest and keeps nothing (its partial copy removed, no
/// file at any name a reader is handed); resume copies again and hands it once.
#[test]
fn kill_dash_nine_while_a_copy_goes_ahead_leaves_nothing_a_reader_trusts() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow_with(&env, &config, "");
    let run = died_at(&env, &wf, &tmp, ("collecting", "train"));
    assert_eq!(ledger(&env), "train\n");
    let handed = env.path().join(".baton-artifacts");
    wait_until("the host removed the partial copy", secs(60), || {
        if handed.exists() {
            Err(format!("{:?}", walk(&handed)))
        } else {
            Ok(())
        }
    });
    resume(&env, &run, &tmp);
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    handed_once(&env, &run);
}

/// kill -9 of the engine once the copy went ahead and was checked, before its reader
/// started: the next engine did not send it, so it checks it by its digest as any copy
/// found there, hands it, and drops the hold the copy sent ahead had: nothing is left.
#[test]
fn kill_dash_nine_after_a_copy_went_ahead_resume_hands_it_once_and_removes_it() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let wf = workflow_with(&env, &config, "");
    let run = died_at(&env, &wf, &tmp, ("committed", "eval"));
    assert_eq!(ledger(&env), "train\n", "eval did not start");
    let held: Vec<_> = walk(&env.path().join(".baton-artifacts"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".ahead"))
        .collect();
    assert_eq!(held.len(), 1, "the copy sent ahead, held: {held:?}");
    resume(&env, &run, &tmp);
    crate::chaos::procs::kill_mentioning(&tmp.to_string_lossy());
    handed_once(&env, &run);
}

/// The same bytes sent ahead while another reader holds them at that name (two makers,
/// one content): the copy in place is left as it is, the second reader checks and
/// holds it too, and once that reader's hold is dropped the first still reads it
/// (replaced, its name would have gone with the second copy's last hold). The copy
/// not kept is said (`show` lists it), and fails nothing.
#[test]
fn a_copy_sent_ahead_where_another_reader_holds_the_same_bytes_leaves_it_in_place() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let tmp = own_tmp(&env);
    let head = format!(
        "{}{}",
        executor("h2", "baton-h2", &config, &env, ""),
        executor("h3", "baton-h3", &config, &env, "")
    );
    let same = "yes a | head -c 2097152";
    let wait = |file: &str| {
        format!("for i in $(seq 600); do [ -e {file} ] && break; sleep 0.1; done; [ -e {file} ]")
    };
    let wf = env.workflow(
        "wf.toml",
        &format!(
            r#"name = "ssh-ahead-held"
{head}
[[step]]
id = "train"
executor = "h2"
run = "mkdir -p a && {same} > a/m.ckpt"
artifacts = {{ model = "a/*.ckpt" }}

[[step]]
id = "eval1"
executor = "h3"
needs = ["train"]
env = {{ MODEL = "${{{{ steps.train.artifacts.model }}}}" }}
run = 'touch started1 && {done2} && for i in $(seq 600); do [ "$(ls "${{MODEL%/*}}"/.held-* | wc -l)" -eq 1 ] && break; sleep 0.1; done && sha256sum "$MODEL" | cut -d" " -f1 > got1'

[[step]]
id = "train2"
executor = "h2"
run = "{started1} && mkdir -p b && {same} > b/m.ckpt"
artifacts = {{ model = "b/*.ckpt" }}

[[step]]
id = "eval2"
executor = "h3"
needs = ["train2"]
env = {{ MODEL = "${{{{ steps.train2.artifacts.model }}}}" }}
run = 'sha256sum "$MODEL" | cut -d" " -f1 > got2'

[[step]]
id = "after2"
needs = ["eval2"]
run = "touch done2"
"#,
            done2 = wait("done2"),
            started1 = wait("started1"),
        ),
    );
    let run = run_ok(&env, &wf, &tmp, None);
    // The second copy sent ahead was not kept (exit 87): said where `show` lists it.
    let shown = env.show(&run);
    let said: Vec<&str> = shown["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        said.iter().any(|m| m
            .contains("artifact `train2.model` was not sent ahead to executor `h3`")
            && m.contains("in place already")),
        "{said:?}"
    );
    let read = |f: &str| std::fs::read_to_string(env.path().join(f)).unwrap_or_default();
    let want = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"a\n".repeat(1 << 20)))
    };
    assert_eq!(
        read("got2").trim(),
        want,
        "the second reader read the bytes"
    );
    assert_eq!(
        read("got1").trim(),
        want,
        "the first reader still read its copy once the second's hold was dropped"
    );
    let handed = env.path().join(".baton-artifacts");
    assert!(!handed.exists(), "left: {:?}", walk(&handed));
}
