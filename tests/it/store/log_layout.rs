//! Issue 29 point 2: an ended run's logs are a file per attempt that wrote output, its
//! time records on the attempts' rows (while it runs, in one index per run,
//! `model::logtimes::INDEX`), read as before: `baton logs` byte for byte (interleaved
//! streams, partial lines, invalid UTF-8, escape sequences, masked secrets), after the
//! engine was killed mid-write, an old run's sidecars, and `gc`.
use crate::helpers::*;
use baton::model::logtimes::{self, INDEX};
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "s3cr3t-token-4a7c";

fn log_dir(env: &Env, run: &str) -> PathBuf {
    env.db().parent().unwrap().join("logs").join(run)
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

fn run_to_end(env: &Env, wf: &Path) -> String {
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    run_id_of(&text(&out.stdout))
}

fn logs_raw(env: &Env, run: &str, step: &str) -> Vec<u8> {
    let out = env.run(&["logs", run, step, "--raw"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    out.stdout
}

#[test]
fn an_ended_run_keeps_one_file_per_attempt_that_wrote_and_its_times_in_the_store() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "three"
[[step]]
id = "a"
run = "echo out-a; echo err-a >&2"
[[step]]
id = "b"
needs = ["a"]
run = "echo out-b"
[[step]]
id = "quiet"
needs = ["a"]
run = "true"
"#,
    );
    let run = run_to_end(&env, &wf);
    let dir = log_dir(&env, &run);
    assert_eq!(names(&dir), ["a.1.log", "b.1.log"]);
    let store = baton::store::Store::open_read_only(&env.db()).unwrap();
    for step in ["a", "b"] {
        let records = store.log_times(&run, step, 1).unwrap();
        assert_eq!(records.first().map(|r| r.0), Some(0), "{step}: {records:?}");
    }
    assert_eq!(store.log_times(&run, "quiet", 1).unwrap(), []);
    assert_eq!(logs_raw(&env, &run, "a"), b"out-a\nerr-a\n");
    // The console's reader finds them there once the index is gone.
    let f = baton::console::LogFile::open(&dir.join("a.1.log"))
        .unwrap()
        .or_stored(|| store.log_times(&run, "a", 1).unwrap());
    assert!(
        f.times(0..2).iter().all(Option::is_some),
        "{:?}",
        f.times(0..2)
    );
}

#[test]
fn logs_prints_interleaved_partial_binary_and_escaped_output_byte_for_byte() {
    let env = Env::new();
    // Each piece waits until the one before is in the log: the order of two pipes is
    // then the order written.
    let logs = env.db().parent().unwrap().join("logs");
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"
name = "mix"
[[step]]
id = "mix"
env = {{ LOGS = "{}" }}
run = '''
seen() {{ until grep -qF -- "$1" "$LOGS"/*/mix.1.log 2>/dev/null; do sleep 0.01; done; }}
printf 'out 1\n'; seen 'out 1'
printf 'err 1\n' >&2; seen 'err 1'
printf 'part'; seen 'part'
printf 'ial\n' >&2; seen 'partial'
printf '\377\376 bad utf-8\n'; seen 'bad utf-8'
printf '\033[31mred\033[0m \033]0;title\007 end\n' >&2
'''
"#,
            logs.display()
        ),
    );
    let run = run_to_end(&env, &wf);
    let want: &[u8] =
        b"out 1\nerr 1\npartial\n\xff\xfe bad utf-8\n\x1b[31mred\x1b[0m \x1b]0;title\x07 end\n";
    assert_eq!(
        std::fs::read(log_dir(&env, &run).join("mix.1.log")).unwrap(),
        want
    );
    assert_eq!(logs_raw(&env, &run, "mix"), want);
    // To a pipe without --raw: the same bytes.
    let out = env.run(&["logs", &run, "mix"]);
    assert_eq!(out.stdout, want);
    // To a terminal: colours pass, the title sequence does not.
    let shown = test_env(&mut Command::new("script"))
        .args(["-qec"])
        .arg(format!("{} logs {run} mix", env!("CARGO_BIN_EXE_baton")))
        .arg("/dev/null")
        .env("BATON_DB", env.db())
        .env("XDG_CONFIG_HOME", env.config_home())
        .env("USER", "tester")
        .env_remove("NO_COLOR")
        .current_dir(env.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains("out 1") && shown.contains("partial"),
        "{shown:?}"
    );
    // (the sanitiser writes the colour again, from its own state: `ESC[0;31m`)
    assert!(shown.contains("31mred\x1b[0m"), "{shown:?}");
    assert!(
        shown.contains("red\x1b[0m  end") && !shown.contains("title"),
        "{shown:?}"
    );
}

#[test]
fn secrets_are_masked_before_the_log_and_the_index_are_written() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "masked"
secrets = ["API_TOKEN"]
[[step]]
id = "leak"
run = 'echo "token=$API_TOKEN"; echo "again $API_TOKEN" >&2'
"#,
    );
    let out = env
        .cmd()
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("API_TOKEN", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    let dir = log_dir(&env, &run);
    for name in names(&dir) {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{name} keeps the secret"
        );
    }
    let raw = String::from_utf8(logs_raw(&env, &run, "leak")).unwrap();
    assert!(
        raw.contains("token=***\n") && raw.contains("again ***\n"),
        "{raw}"
    );
    assert_eq!(
        raw.as_bytes(),
        std::fs::read(dir.join("leak.1.log")).unwrap()
    );
}

#[test]
fn a_log_stays_readable_after_the_engine_is_killed_mid_write() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "spin"
[[step]]
id = "spin"
run = 'i=0; while :; do i=$((i+1)); echo "line $i"; done'
"#,
    );
    let mut child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let log = log_dir(&env, &run).join("spin.1.log");
    wait_until("the step to have written", secs(20), || {
        std::fs::metadata(&log).is_ok_and(|m| m.len() > 100_000)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // Every whole line is there in order; a last one may be cut where the kill fell.
    let raw = logs_raw(&env, &run, "spin");
    let text = String::from_utf8(raw.clone()).unwrap();
    let mut lines: Vec<&str> = text.split('\n').collect();
    let last = lines.pop().unwrap();
    assert!(lines.len() > 1000, "{} lines", lines.len());
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(*l, format!("line {}", i + 1));
    }
    assert!(
        format!("line {}", lines.len() + 1).starts_with(last),
        "{last:?}"
    );
    // The bytes are the file's up to where `logs` read (the step may outlive the engine
    // by one write: it dies of SIGPIPE).
    assert!(std::fs::read(&log).unwrap().starts_with(&raw));
    let index = std::fs::read(log_dir(&env, &run).join(INDEX)).unwrap();
    let (records, _) = logtimes::parse_index(&index, "spin.1.log");
    assert!(records.first().is_some_and(|r| r.0 == 0), "{records:?}");
    assert!(records.iter().all(|r| r.0 <= raw.len() as u64));
}

/// A record torn by a crash is ended before the next writer's, which parses whole.
#[tokio::test]
async fn a_torn_record_in_the_index_is_ended_before_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let j = job(tmp.path(), "next", "echo hi");
    baton::own_files::make_dir(&j.log_dir).unwrap();
    let index = j.log_dir.join(INDEX);
    std::fs::write(&index, "gone.1.log 0 1000\ngone.1.log 7").unwrap();
    let f = baton::exec::spawn(j).await.unwrap().wait().await;
    assert_eq!(log_text(f.log_path.as_ref().unwrap()), "hi\n");
    let text = std::fs::read(&index).unwrap();
    assert!(
        String::from_utf8_lossy(&text)
            .starts_with("gone.1.log 0 1000\ngone.1.log 7 torn\nnext.1.log 0 "),
        "{}",
        String::from_utf8_lossy(&text)
    );
    let (gone, used) = logtimes::parse_index(&text, "gone.1.log");
    assert_eq!(gone.len(), 1);
    assert_eq!(used, text.len());
    let (next, _) = logtimes::parse_index(&text, "next.1.log");
    assert_eq!(next.iter().map(|r| r.0).collect::<Vec<_>>(), [0]);
}

#[test]
fn an_old_runs_log_and_sidecar_still_read() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"old\"\n[[step]]\nid = \"a\"\nrun = \"echo one; echo two\"\n",
    );
    let run = run_to_end(&env, &wf);
    let dir = log_dir(&env, &run);
    // The layout before issue 29: no times in the store, a `<log>.times` sidecar beside
    // the log.
    let c = rusqlite::Connection::open(env.db()).unwrap();
    c.execute("UPDATE attempts SET log_times = NULL", [])
        .unwrap();
    let log = dir.join("a.1.log");
    let (t1, t2) = (
        baton::model::Timestamp::from_millis(1_000),
        baton::model::Timestamp::from_millis(9_000),
    );
    std::fs::write(
        logtimes::sidecar_path(&log),
        logtimes::record(0, t1) + &logtimes::record(4, t2),
    )
    .unwrap();
    assert_eq!(logs_raw(&env, &run, "a"), b"one\ntwo\n");
    let f = baton::console::LogFile::open(&log).unwrap();
    assert_eq!(f.times(0..2), [Some(t1), Some(t2)]);
    let out = env.run(&["show", &run]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn gc_removes_a_runs_logs_with_it() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"gone\"\n[[step]]\nid = \"a\"\nrun = \"echo bye\"\n",
    );
    let run = run_to_end(&env, &wf);
    let dir = log_dir(&env, &run);
    assert_eq!(names(&dir), ["a.1.log"]);
    let c = rusqlite::Connection::open(env.db()).unwrap();
    c.execute(
        "UPDATE runs SET finished_at = finished_at - 3 * 86400000 WHERE id = ?1",
        [&run],
    )
    .unwrap();
    let out = env.run(&["gc", "--older-than", "2d", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!dir.exists(), "{:?}", names(&dir));
}
