//! The minimal durable executor with baton's promises (issue 79 point 1's "why"): the
//! executor of `min_durable.rs` with what baton must do for a step on top of its two
//! rows, and nothing of baton's own making (no runtime, no threads, no projection, no
//! attempt's directory): the floor a durable executor keeping baton's promises sits on.
//!
//! A step's record is baton's five events (`queued`, `running`, `step_process`,
//! `step_finished`, `succeeded`, JSON as baton writes them) in a table shaped as baton's
//! `events`, each chained to the one before by SHA-256 (the audit chain), committed as
//! baton commits them: a wake-up's ends and the starts they free in one transaction
//! before any of those processes exists, a start's process group with the next commit.
//! A step's process is followed as baton follows it: its own process group (the group
//! a kill signals), its output through two pipes read to their end (written to a log
//! file when there is any), and its end by its pidfd (`waitid(P_PIDFD)`, never a pid
//! that may be reused). One thread, one `poll` over every running step's descriptors.
//!
//! Run by `benches/user_way.rs` as `<bench> --min-promises dag.needs`, with the store at
//! `$HOME/min-promises.db`.
use super::min_durable::{self, Dag};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// `waitid`'s id type for a pidfd (Linux 5.4).
const P_PIDFD: libc::idtype_t = 3;
const RUN: &str = "01kbpromisesfloor000000000";

/// A running step: its process's pidfd and output pipes, until all three have ended.
struct Running {
    step: usize,
    pgid: u32,
    pidfd: OwnedFd,
    out: Option<File>,
    err: Option<File>,
    reaped: Option<i32>,
    log: Option<File>,
}

impl Running {
    fn done(&self) -> bool {
        self.reaped.is_some() && self.out.is_none() && self.err.is_none()
    }
}

/// The store and the events' chain.
struct Log {
    db: rusqlite::Connection,
    seq: i64,
    head: [u8; 32],
    pending: Vec<(String, Option<usize>, String)>,
}

impl Log {
    fn open(path: &Path) -> Self {
        let _ = std::fs::remove_file(path);
        let db = rusqlite::Connection::open(path).expect("open the store");
        db.pragma_update(None, "journal_mode", "WAL").expect("WAL");
        db.pragma_update(None, "synchronous", "NORMAL")
            .expect("synchronous");
        db.execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL,
                 at INTEGER NOT NULL, type TEXT NOT NULL, step TEXT, json TEXT NOT NULL, hash BLOB);",
        )
        .expect("create the table");
        Log {
            db,
            seq: 0,
            head: [0; 32],
            pending: Vec::new(),
        }
    }

    /// An event to go with the next commit.
    fn add(&mut self, kind: &str, step: Option<usize>, body: String) {
        self.pending.push((kind.to_string(), step, body));
    }

    /// Commit every pending event, each chained to the one before.
    fn commit(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let tx = self.db.transaction().expect("begin");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (id, run_id, seq, at, type, step, json, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .expect("prepare");
            for (kind, step, body) in self.pending.drain(..) {
                self.seq += 1;
                let step = step.map(|s| format!("s{s}"));
                let json = match &step {
                    Some(s) => format!(
                        r#"{{"seq":{},"at":{at},"type":"{kind}","step":"{s}",{body}}}"#,
                        self.seq
                    ),
                    None => format!(r#"{{"seq":{},"at":{at},"type":"{kind}",{body}}}"#, self.seq),
                };
                let mut h = Sha256::new();
                h.update(self.head);
                h.update(json.as_bytes());
                self.head = h.finalize().into();
                insert
                    .execute(rusqlite::params![
                        self.seq,
                        RUN,
                        self.seq,
                        at,
                        kind,
                        step,
                        json,
                        &self.head[..]
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
}

/// Run the DAG in `needs_file` at `jobs` at once; the store and the logs in `$HOME`.
pub(crate) fn run(needs_file: &Path, jobs: usize) {
    let needs = min_durable::read_needs(needs_file);
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let logs = home.join("min-promises-logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).expect("make the logs' directory");
    let mut log = Log::open(&home.join("min-promises.db"));
    let mut dag = Dag::new(&needs);
    let mut running: Vec<Running> = Vec::new();
    while !dag.all_done() {
        // Starts: their events committed with the ends before them, then spawned.
        let mut starting = Vec::new();
        while running.len() + starting.len() < jobs {
            match dag.ready.pop() {
                Some(s) => starting.push(s),
                None => break,
            }
        }
        for &s in &starting {
            let body = r#""state":"queued","attempt":0,"reason":null"#;
            log.add("step_state_changed", Some(s), body.to_string());
            let body = r#""state":"running","attempt":1,"reason":null"#;
            log.add("step_state_changed", Some(s), body.to_string());
        }
        log.commit();
        for s in starting {
            running.push(spawn(s));
            let pgid = running.last().map(|r| r.pgid).unwrap_or_default();
            log.add(
                "step_process",
                Some(s),
                format!(r#""attempt":1,"pgid":{pgid},"output":null"#),
            );
        }
        // Follow: one poll over every running step's pidfd and pipes.
        follow(&mut running, &logs);
        let mut ended = Vec::new();
        running.retain(|r| {
            if r.done() {
                ended.push((r.step, r.reaped.unwrap_or(-1)));
            }
            !r.done()
        });
        for &(s, code) in &ended {
            let body = format!(
                r#""attempt":1,"outcome":{{"outcome":"exited","exit_code":{code}}},"duration_ms":0,"outputs":{{}},"usage":{{"cost":0.0,"tokens":0,"calls":0}}"#
            );
            log.add("step_finished", Some(s), body);
            let body = r#""state":"succeeded","attempt":1,"reason":null"#;
            log.add("step_state_changed", Some(s), body.to_string());
        }
        // Committed with the starts they free (the next turn), before those spawn.
        for (s, _) in ended {
            dag.done(s);
        }
    }
    log.commit();
}

/// Start step `s`'s `true` in a process group of its own (baton's start,
/// `support/start.rs`), its output in two pipes, followed by the pidfd its start gave.
fn spawn(s: usize) -> Running {
    let (out, out_w) = pipe();
    let (err, err_w) = pipe();
    let (pid, pidfd) = super::start::start_true(out_w.as_raw_fd(), err_w.as_raw_fd());
    // The child has its copies; ours go, or the reads never see their end.
    drop((out_w, err_w));
    Running {
        step: s,
        pgid: pid as u32,
        pidfd: pidfd.expect("a pidfd from the start (Linux 5.2)"),
        out: Some(File::from(out)),
        err: Some(File::from(err)),
        reaped: None,
        log: None,
    }
}

/// A pipe, both ends close-on-exec (the child gets its copy by `dup2`): (read, write).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two fds into a local array of two.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2 failed");
    // SAFETY: two fds pipe2 just made, owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Wait until something of a running step is ready, and take it: output read (to a log
/// file made on its first byte), a pipe's end, a process's end reaped by its pidfd.
fn follow(running: &mut [Running], logs: &Path) {
    let mut fds = Vec::new();
    let mut whose = Vec::new();
    for (i, r) in running.iter().enumerate() {
        if r.reaped.is_none() {
            fds.push(pollfd(r.pidfd.as_raw_fd()));
            whose.push((i, 0));
        }
        if let Some(o) = &r.out {
            fds.push(pollfd(o.as_raw_fd()));
            whose.push((i, 1));
        }
        if let Some(e) = &r.err {
            fds.push(pollfd(e.as_raw_fd()));
            whose.push((i, 2));
        }
    }
    if fds.is_empty() {
        return;
    }
    // SAFETY: poll over a local array of pollfds, its length given.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
    assert!(n >= 0, "poll failed");
    let mut buf = [0u8; 8192];
    for (fd, (i, what)) in fds.iter().zip(whose) {
        if fd.revents == 0 {
            continue;
        }
        let r = &mut running[i];
        match what {
            0 => r.reaped = Some(reap(&r.pidfd)),
            _ => {
                let read = if what == 1 {
                    r.out.as_mut().map(|p| p.read(&mut buf))
                } else {
                    r.err.as_mut().map(|p| p.read(&mut buf))
                };
                match read {
                    Some(Ok(0)) | Some(Err(_)) | None => {
                        if what == 1 {
                            r.out = None;
                        } else {
                            r.err = None;
                        }
                    }
                    Some(Ok(k)) => {
                        let file = r.log.get_or_insert_with(|| {
                            File::create(logs.join(format!("s{}.1.log", r.step)))
                                .expect("make a log file")
                        });
                        file.write_all(&buf[..k]).expect("write the log");
                    }
                }
            }
        }
    }
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Reap the process behind `pidfd`: its exit code.
fn reap(pidfd: &OwnedFd) -> i32 {
    // SAFETY: waitid on our own child's pidfd, writing into a local.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED,
        );
        assert!(r == 0, "waitid failed");
        info.si_status()
    }
}
