//! `baton inbox --all-stores` (issue 59): what waits across every `[[store]]` of
//! config.toml, each row naming its store. A local store is read here; a remote one by
//! `baton inbox --json` on its host (`session::remote`), all at once. A store that does
//! not answer is named with why, and hides none of the others (exit 3 then).
use super::exit;
use super::inbox::{InboxArgs, json_rows};
use crate::config::{self, StoreEntry, StorePlace};
use crate::model::Timestamp;
use crate::model::time::human_duration;
use crate::session::{self, remote};
use serde_json::Value;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One store's rows, or why it gave none.
type Answer = Result<Vec<Value>, Unanswered>;

/// Why a store gave no rows: said after its name (`store NAME did not answer: …`),
/// each naming the side that failed (this machine, ssh, the baton on the host).
#[derive(Debug, thiserror::Error)]
enum Unanswered {
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Account(#[from] session::SessionError),
    #[error("no answer within {} s", STORE_DEADLINE.as_secs())]
    Deadline,
    #[error("its reader failed")]
    ReaderFailed,
    #[error("cannot run ssh: {0}")]
    NoSsh(std::io::Error),
    #[error("baton on {host} answered more than {} MiB, which no inbox is; stopped", ANSWER_CAP >> 20)]
    TooLong { host: String },
    #[error("ssh to {host}: no answer within {} s; stopped", STORE_DEADLINE.as_secs())]
    SshDeadline { host: String },
    #[error("ssh to {host}: {err}")]
    SshWait { host: String, err: std::io::Error },
    /// `who`: ssh to the host, or baton on it; `said`: its stderr's line.
    #[error("{who} failed: {said}")]
    Failed { who: String, said: String },
    #[error("baton on {host} printed no inbox ({err})")]
    NotAnInbox {
        host: String,
        err: serde_json::Error,
    },
}

pub(super) fn run(args: &InboxArgs) -> i32 {
    let stores = &config::get().stores;
    if stores.is_empty() {
        crate::stdio::errln!(
            "error: --all-stores reads the [[store]]s of config.toml, and it has none; add one per store (docs/configuration.md, \"Stores\")"
        );
        return exit::USAGE;
    }
    let answers = ask_all(stores, args.mine);
    let mut rows = Vec::new();
    let mut down = Vec::new();
    for (name, a) in answers {
        match a {
            Ok(rs) => rows.extend(rs.into_iter().map(|mut r| {
                r["store"] = Value::from(name.as_str());
                r
            })),
            Err(why) => down.push((name, why)),
        }
    }
    // Soonest deadline first, then the stores' order.
    rows.sort_by_key(|r| r["left_ms"].as_u64().unwrap_or(u64::MAX));
    if args.json {
        if let Err(e) = crate::stdio::out_json_line(&rows) {
            crate::stdio::errln!("error: {e}");
            return exit::FAILED;
        }
    } else {
        crate::stdio::out!("{}", crate::sanitize::for_terminal(&text(&rows, args.mine)));
    }
    for (name, why) in &down {
        crate::stdio::errln!("error: store `{name}` did not answer: {why}");
    }
    if down.is_empty() {
        exit::OK
    } else {
        exit::STORAGE
    }
}

/// How long one store has to answer (ssh's own `ConnectTimeout` is 10 s of it): one
/// that does not is named, and hides none of the others.
const STORE_DEADLINE: Duration = Duration::from_secs(20);

/// The most of a remote store's answer read: far above any inbox's rows, far below
/// what would take this process's memory.
const ANSWER_CAP: u64 = 16 << 20;

/// The most of ssh's stderr read (one line of it is said).
const SAID_CAP: u64 = 64 << 10;

/// Every store's answer, in the stores' order, asked all at once: a store whose reader
/// has not answered by the deadline is said so (its thread is left; this process ends).
fn ask_all(stores: &[StoreEntry], mine: bool) -> Vec<(String, Answer)> {
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, st) in stores.iter().enumerate() {
        let (tx, st) = (tx.clone(), st.clone());
        std::thread::spawn(move || {
            let _ = tx.send((i, read(&st, mine)));
        });
    }
    drop(tx);
    // A remote reader stops its ssh at the deadline; this grace is for a local one.
    let until = Instant::now() + STORE_DEADLINE + Duration::from_secs(2);
    let mut got: Vec<Option<Answer>> = stores.iter().map(|_| None).collect();
    // Every reader ended, one without an answer (it failed), or the deadline passed.
    let mut failed = false;
    while got.iter().any(Option::is_none) {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, a)) => got[i] = Some(a),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                failed = true;
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
        }
    }
    stores
        .iter()
        .zip(got)
        .map(|(st, a)| {
            let missing = || match failed {
                true => Unanswered::ReaderFailed,
                false => Unanswered::Deadline,
            };
            (st.name.clone(), a.unwrap_or_else(|| Err(missing())))
        })
        .collect()
}

/// A remote store's `baton inbox --json` through ssh, bounded: its exit status, stdout
/// and stderr, or why not (ssh not run, no answer by the deadline, an answer past the
/// cap: ssh is stopped then).
fn remote_output(
    mut cmd: Command,
    host: &str,
) -> Result<(ExitStatus, Vec<u8>, Vec<u8>), Unanswered> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Unanswered::NoSsh)?;
    let (tx, rx) = std::sync::mpsc::channel();
    read_capped(child.stdout.take(), (true, ANSWER_CAP), tx.clone());
    read_capped(child.stderr.take(), (false, SAID_CAP), tx.clone());
    drop(tx);
    let until = Instant::now() + STORE_DEADLINE;
    let (mut stdout, mut stderr) = (None, None);
    while stdout.is_none() || stderr.is_none() {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok((true, b)) if b.len() as u64 > ANSWER_CAP => {
                return stop(
                    &mut child,
                    Unanswered::TooLong {
                        host: host.to_owned(),
                    },
                );
            }
            Ok((true, b)) => stdout = Some(b),
            Ok((false, b)) => stderr = Some(b),
            Err(_) => break,
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) if stdout.is_some() => {
                return Ok((
                    status,
                    stdout.unwrap_or_default(),
                    stderr.unwrap_or_default(),
                ));
            }
            Ok(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Ok(_) => {
                return stop(
                    &mut child,
                    Unanswered::SshDeadline {
                        host: host.to_owned(),
                    },
                );
            }
            Err(err) => {
                let host = host.to_owned();
                return stop(&mut child, Unanswered::SshWait { host, err });
            }
        }
    }
}

/// Read `pipe` to its end or one byte past `cap` (which tells an answer too long from
/// one just long) on a thread of its own, sent as `(out, bytes)`.
fn read_capped(
    pipe: Option<impl Read + Send + 'static>,
    (out, cap): (bool, u64),
    tx: std::sync::mpsc::Sender<(bool, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(p) = pipe {
            let _ = p.take(cap + 1).read_to_end(&mut bytes);
        }
        let _ = tx.send((out, bytes));
    });
}

/// `ssh` stopped, and why.
fn stop(child: &mut Child, why: Unanswered) -> Result<(ExitStatus, Vec<u8>, Vec<u8>), Unanswered> {
    let _ = child.kill();
    let _ = child.wait();
    Err(why)
}

/// One store's rows, as `baton inbox --json` prints them.
fn read(store: &StoreEntry, mine: bool) -> Answer {
    match &store.place {
        StorePlace::Local(path) => {
            let s = crate::store::Store::open_existing(path)?;
            let me = session::os_account()?;
            let now = Timestamp::now();
            let mut items = session::read_inbox(&s, &me, now)?;
            if mine {
                items.retain(|w| w.mine);
            }
            // The runs with notes marked as one store's inbox marks them (a remote
            // store's `baton inbox --json` gives them so).
            let ids: Vec<&str> = items.iter().map(|w| w.run_id.as_str()).collect();
            let noted = s.note_counts(&ids).unwrap_or_default();
            let mut rows = json_rows(&items, now);
            super::inbox::with_notes(&mut rows, &items, &noted);
            Ok(rows)
        }
        StorePlace::Ssh(r) => {
            let mut args = vec!["inbox".to_string(), "--json".to_string()];
            if mine {
                args.push("--mine".into());
            }
            let cmd = remote::command(r, &args, remote::Prompts::Never);
            let (status, stdout, stderr) = remote_output(cmd, &r.host)?;
            let said = crate::sanitize::one_line(&String::from_utf8_lossy(&stderr));
            if !status.success() {
                let who = if remote::ssh_failed(status.code()) {
                    format!("ssh to {}", r.host)
                } else {
                    format!("baton on {}", r.host)
                };
                let said = said.trim().to_owned();
                return Err(Unanswered::Failed { who, said });
            }
            serde_json::from_slice(&stdout).map_err(|err| Unanswered::NotAnInbox {
                host: r.host.clone(),
                err,
            })
        }
    }
}

/// The human listing: a table with each row's store, then how to decide each (the
/// commands with `--store NAME`, so they run where the row waits).
fn text(rows: &[Value], mine: bool) -> String {
    if rows.is_empty() {
        return if mine {
            "nothing waits on you in any store\n".into()
        } else {
            "nothing waits on anyone in any store\n".into()
        };
    }
    let s = |v: &Value, k: &str| crate::sanitize::one_line(v[k].as_str().unwrap_or("-"));
    // `✎` before the workflow of a run someone wrote a note on, as one store's inbox.
    let workflow = |v: &Value| match v["notes"].as_u64() {
        Some(n) if n > 0 => format!("✎ {}", s(v, "workflow")),
        _ => s(v, "workflow"),
    };
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                s(r, "store"),
                left(&r["left_ms"]),
                s(r, "run_id").chars().take(8).collect(),
                workflow(r),
                s(r, "step"),
                s(r, "kind"),
                if r["mine"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
                s(r, "prompt"),
            ]
        })
        .collect();
    let mut out = super::table::render(
        &[
            "STORE", "DEADLINE", "RUN", "WORKFLOW", "STEP", "WAITS", "YOU", "PROMPT",
        ],
        &table,
    );
    out.push_str("\nto decide:\n");
    for r in rows {
        let store = s(r, "store");
        out.push_str(&format!(
            "  {store}: {} {} ({}):\n",
            workflow(r),
            s(r, "step"),
            s(r, "run_state")
        ));
        if let Some(why) = r["why_not"].as_str() {
            out.push_str(&format!(
                "    not you: {}\n",
                crate::sanitize::one_line(why)
            ));
        }
        for c in r["commands"].as_array().into_iter().flatten() {
            if let Some(c) = c.as_str() {
                out.push_str(&format!(
                    "    {}\n",
                    with_store(&crate::sanitize::one_line(c), &store)
                ));
            }
        }
    }
    out
}

/// `baton approve RUN …` as `baton approve --store NAME RUN …`.
fn with_store(command: &str, store: &str) -> String {
    let mut words = command.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("baton"), Some(sub), Some(rest)) => format!("baton {sub} --store {store} {rest}"),
        (Some("baton"), Some(sub), None) => format!("baton {sub} --store {store}"),
        _ => command.to_string(),
    }
}

fn left(v: &Value) -> String {
    match v.as_u64() {
        Some(0) => "overdue".into(),
        Some(ms) => format!(
            "in {}",
            human_duration(std::time::Duration::from_millis(ms))
        ),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_row_names_its_store_and_its_commands_go_there() {
        let rows = vec![json!({
            "store": "gpu", "left_ms": 90_000, "run_id": "01jd4abcdefg", "workflow": "w",
            "step": "deploy", "kind": "gate", "mine": true, "prompt": "ship?",
            "run_state": "waiting", "why_not": null,
            "commands": ["baton approve 01jd4abcdefg deploy --reason …"]
        })];
        let t = text(&rows, false);
        assert!(t.starts_with("STORE"), "{t}");
        assert!(t.contains("gpu    in 1m30s"), "{t}");
        assert!(
            t.contains("baton approve --store gpu 01jd4abcdefg deploy --reason …"),
            "{t}"
        );
        assert_eq!(left(&json!(null)), "-");
        assert_eq!(left(&json!(0)), "overdue");
        assert_eq!(text(&[], true), "nothing waits on you in any store\n");
    }
}
