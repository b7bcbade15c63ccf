//! Issue 59 point 4, "never both": a decision sent over `baton link` carries a request
//! id the host keeps with its command row; the console's check after a drop asks by
//! that id and settles a request not handed in as not delivered, in one transaction.
//! The three holes the check by reason and time had, each with real `baton link`
//! processes on a real store and engine (no ssh: the protocol is the same on a pipe):
//! the same reason twice within 2 s, the hosts' clocks apart, a link process that goes
//! on after its connection was cut and comes late.
use crate::fleet::GATED;
use crate::helpers::*;
use baton::link::wire::{Found, Hello, Reply, Request, ToClient, ToServer};
use baton::model::{Command as Cmd, CommandOutcome, Refusal};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `baton link` on the env's store, spoken to over its stdin and stdout.
pub(crate) struct Link {
    pub(super) child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Link {
    /// A link with `env_vars` (a failpoint), past the hellos.
    pub(super) fn open(env: &Env, env_vars: &[(&str, &str)]) -> Link {
        Link::open_with(env, &[], env_vars)
    }

    /// [`Link::open`] of `baton link ARGS`.
    pub(super) fn open_with(env: &Env, args: &[&str], env_vars: &[(&str, &str)]) -> Link {
        let mut cmd = env.cmd();
        cmd.arg("link").args(args);
        for (k, v) in env_vars {
            cmd.env(k, v);
        }
        Link::over(cmd)
    }

    /// `cmd` (a `baton link`, as whichever account runs it), past the hellos.
    pub(crate) fn over(mut cmd: std::process::Command) -> Link {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn baton link");
        let stdout = child.stdout.take().expect("the link's stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let mut link = Link {
            stdin: child.stdin.take(),
            child,
            lines,
        };
        link.send(&ToServer::Hello(Hello::this(env!("CARGO_PKG_VERSION"))));
        link.next(|m| matches!(m, ToClient::Hello(_)).then_some(()));
        link
    }

    pub(super) fn send(&mut self, m: &ToServer) {
        let mut line = serde_json::to_vec(m).expect("JSON");
        line.push(b'\n');
        let stdin = self.stdin.as_mut().expect("the link's stdin is open");
        stdin.write_all(&line).expect("write to the link");
        stdin.flush().expect("flush");
    }

    /// The first message `pick` takes, within 60 s (frames and others pass).
    pub(super) fn next<T>(&mut self, mut pick: impl FnMut(ToClient) -> Option<T>) -> T {
        let until = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the link's answer within 60 s");
            if let Ok(m) = serde_json::from_str::<ToClient>(&line)
                && let Some(v) = pick(m)
            {
                return v;
            }
        }
    }

    pub(crate) fn decide(&mut self, id: u64, run: &str, command: Cmd, request: &str) {
        self.send(&ToServer::Request {
            id,
            request: Request::Command {
                run_id: Some(run.to_string()),
                command,
                request: Some(request.to_string()),
            },
        });
    }

    pub(crate) fn outcome(&mut self, want: u64) -> CommandOutcome {
        self.next(|m| match m {
            ToClient::Reply {
                id,
                reply: Reply::Outcome(o),
            } if id == want => Some(o),
            _ => None,
        })
    }

    /// What the store holds of `request` (the console's check after a drop).
    pub(super) fn found(&mut self, id: u64, run: &str, request: &str) -> Found {
        self.send(&ToServer::Recorded {
            id,
            run_id: run.to_string(),
            request: request.to_string(),
        });
        self.next(|m| match m {
            ToClient::Recorded { id: i, found } if i == id => Some(found),
            _ => None,
        })
        .expect("the store read")
    }

    /// The connection cut: its stdin closed, its process left to go on.
    pub(super) fn cut(&mut self) {
        drop(self.stdin.take());
    }

    pub(crate) fn end(mut self) -> Option<i32> {
        self.cut();
        wait_until("the link's end", Duration::from_secs(60), || {
            self.child.try_wait().ok().flatten().map(|s| s.code())
        })
    }
}

pub(super) fn approve(reason: &str) -> Cmd {
    Cmd::Approve {
        step: "deploy".into(),
        operator: "whoever".into(),
        reason: Some(reason.into()),
        signature: None,
        inputs: Default::default(),
    }
}

/// How many rows of `action` the store's audit chain has on `run`.
pub(super) fn rows(env: &Env, run: &str, action: &str) -> usize {
    let out = env.run(&["audit", run, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit --json");
    rows.as_array()
        .map(|r| r.iter().filter(|r| r["action"] == action).count())
        .unwrap_or(0)
}

/// A link that hands request `request` (`command` for `subject`, message 1) in at
/// failpoint `link-held:command` and waits there, its connection then cut (the process
/// goes on); `release` lets it go.
pub(super) struct HeldLink {
    pub link: Link,
    hold: std::path::PathBuf,
}

impl HeldLink {
    pub(super) fn hand_in(env: &Env, subject: &str, command: Cmd, request: &str) -> HeldLink {
        let hold = env.path().join("let-the-old-link-go");
        let hold_s = hold.to_string_lossy().to_string();
        let mut link = Link::open(
            env,
            &[
                ("BATON_FAILPOINT", "link-held:command"),
                ("BATON_FAILPOINT_HOLD", &hold_s),
            ],
        );
        link.decide(1, subject, command, request);
        let waiting = env.path().join("let-the-old-link-go.waiting");
        wait_until(
            "the old link holding what it hands in",
            Duration::from_secs(30),
            || waiting.exists().then_some(()),
        );
        // The drop: the console sees its connection go; the old process goes on.
        link.cut();
        HeldLink { link, hold }
    }

    /// Let it go after a check said not delivered: refused as settled, and it exits 0.
    pub(super) fn comes_late_and_is_refused(mut self) {
        std::fs::write(&self.hold, b"").expect("release the old link");
        let late = self.link.outcome(1);
        assert!(
            matches!(&late, CommandOutcome::Refused(r) if r.to_string().contains("settled as not delivered")),
            "{late:?}"
        );
        assert_eq!(self.link.end(), Some(0));
    }
}

/// A gate waiting on the env's store, its engine live: the engine and the run.
pub(super) fn gated(env: &Env) -> (Child, String) {
    let wf = env.workflow("w.toml", GATED);
    env.spawn_until(&wf, "deploy", "waiting_approval")
}

/// Hole 3: a link whose connection was cut goes on and hands the decision in after the
/// check said not delivered. Now the check settles the request first, and the late
/// link is refused: the record has no vote, as the console was told.
#[test]
fn a_link_that_comes_late_after_the_check_said_not_delivered_is_refused_and_records_nothing() {
    let env = Env::new();
    let (mut engine, run) = gated(&env);
    let old = HeldLink::hand_in(&env, &run, approve("late"), "req-late");
    let mut new = Link::open(&env, &[]);
    assert_eq!(new.found(7, &run, "req-late"), Found::NotDelivered);
    // The old link comes late: refused, the request settled.
    old.comes_late_and_is_refused();
    assert_eq!(
        rows(&env, &run, "approval_vote"),
        0,
        "said not delivered: none"
    );
    assert_eq!(
        step_state(&env.show(&run), "deploy").as_deref(),
        Some("waiting_approval")
    );
    // Asked again, the same word.
    assert_eq!(new.found(8, &run, "req-late"), Found::NotDelivered);
    new.end();
    let _ = engine.kill();
    let _ = engine.wait();
}

/// Hole 1: two decisions with the same reason within 2 s were one to the check. Now the
/// one recorded is found by its id, and the one a dead link never handed in is not.
#[test]
fn two_decisions_with_the_same_reason_are_told_apart_by_their_ids() {
    let env = Env::new();
    let (engine, run) = gated(&env);
    let mut first = Link::open(&env, &[]);
    first.decide(1, &run, approve("same words"), "req-one");
    assert!(first.outcome(1).is_accepted());
    first.end();
    // The second, with the same words, to a link that dies as it reads it.
    let mut dying = Link::open(&env, &[("BATON_FAILPOINT", "link-received:command")]);
    let cancel = Cmd::Cancel {
        operator: "whoever".into(),
        reason: Some("same words".into()),
    };
    dying.decide(1, &run, cancel, "req-two");
    let code = dying.end();
    assert_eq!(
        code, None,
        "killed at the failpoint (a signal, no exit code)"
    );
    let mut check = Link::open(&env, &[]);
    assert_eq!(check.found(1, &run, "req-two"), Found::NotDelivered);
    let Found::Delivered { what, outcome } = check.found(2, &run, "req-one") else {
        panic!("the first decision is on the record")
    };
    assert_eq!(what, "approve deploy: same words");
    assert!(outcome.is_some_and(|o| o.is_accepted()));
    assert_eq!(rows(&env, &run, "approval_vote"), 1);
    assert_eq!(rows(&env, &run, "cancel"), 0, "the second never reached it");
    check.end();
    let _ = wait_child(engine, 30);
}

/// Hole 2: hosts' clocks more than 2 s apart made a recorded decision read not
/// delivered (the check compared the console's clock with the host's). The check now
/// asks by id and reads no clock: a decision done as its link died (its answer lost)
/// is found on the record, with its verdict.
#[test]
fn a_decision_done_as_its_link_dies_is_found_by_its_id_without_any_clock() {
    let env = Env::new();
    let (engine, run) = gated(&env);
    let mut dying = Link::open(&env, &[("BATON_FAILPOINT", "link-answered:command")]);
    dying.decide(1, &run, approve("as it dies"), "req-done");
    assert_eq!(dying.end(), None, "killed at the failpoint");
    let mut check = Link::open(&env, &[]);
    let Found::Delivered { what, outcome } = check.found(1, &run, "req-done") else {
        panic!("done: on the record")
    };
    assert_eq!(what, "approve deploy: as it dies");
    assert!(outcome.is_some_and(|o| o.is_accepted()));
    assert_eq!(rows(&env, &run, "approval_vote"), 1, "on the record, once");
    // A link that comes with it again (a retry) is not settled over it: the id is the
    // command's.
    assert!(matches!(
        check.found(2, &run, "req-done"),
        Found::Delivered { .. }
    ));
    check.end();
    let _ = wait_child(engine, 30);
}

/// A read-only link (`baton link --readonly`) hands nothing in, so its check says not
/// delivered without writing to the host's store (it took the write lock before).
#[test]
fn a_read_only_links_check_says_not_delivered_and_writes_nothing() {
    let env = Env::new();
    let (mut engine, run) = gated(&env);
    let mut ro = Link::open_with(&env, &["--readonly"], &[]);
    ro.decide(1, &run, approve("read only"), "req-ro");
    assert_eq!(ro.outcome(1), CommandOutcome::Refused(Refusal::ReadOnly));
    assert_eq!(ro.found(2, &run, "req-ro"), Found::NotDelivered);
    assert_eq!(ro.end(), Some(0));
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    let kept: i64 = raw
        .query_row("SELECT count(*) FROM link_requests", [], |r| r.get(0))
        .expect("count");
    assert_eq!(kept, 0, "nothing written by the check");
    assert_eq!(rows(&env, &run, "approval_vote"), 0);
    let _ = engine.kill();
    let _ = engine.wait();
}

/// A decision handed in whose link was killed (kill -9) before any engine took it (the
/// run's engine stopped, SIGSTOP): the console's check, past the command's deadline,
/// refuses it as expired in its own transaction and says so, rather than calling it
/// accepted; the engine, going on, never applies it.
#[test]
fn a_decision_whose_submitter_died_before_an_engine_took_it_is_told_expired_and_never_applied() {
    let env = Env::new();
    let (mut engine, run) = gated(&env);
    let signal = |sig: &str, pid: u32| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid}");
    };
    signal("-STOP", engine.id());
    let mut dying = Link::open(&env, &[]);
    dying.decide(1, &run, approve("nobody took it"), "req-expired");
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    wait_until("the decision handed in", Duration::from_secs(30), || {
        raw.query_row(
            "SELECT count(*) FROM link_requests WHERE request = 'req-expired' AND command IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .filter(|n| *n == 1)
    });
    let _ = dying.child.kill();
    let _ = dying.child.wait();
    let mut check = Link::open(&env, &[]);
    let found = check.found(1, &run, "req-expired");
    assert_eq!(
        found,
        Found::Delivered {
            what: "approve deploy: nobody took it".into(),
            outcome: Some(CommandOutcome::Refused(Refusal::Expired)),
        }
    );
    signal("-CONT", engine.id());
    // The engine goes on: the command is refused on record, never applied.
    assert_eq!(check.found(2, &run, "req-expired"), found);
    check.end();
    assert_eq!(
        rows(&env, &run, "approval_vote"),
        0,
        "told expired: no vote"
    );
    assert_eq!(
        step_state(&env.show(&run), "deploy").as_deref(),
        Some("waiting_approval")
    );
    let _ = engine.kill();
    let _ = engine.wait();
}

/// A decision no engine took (its engine stopped, then killed) is withdrawn by its
/// link, which would hand it in again now the run is undriven. A check in between reads
/// the withdrawal (not taken) and tells the console so; the second hand-in is then
/// refused, so the record never has the decision the console was told was not taken.
#[test]
fn a_decision_withdrawn_and_read_by_a_check_is_never_handed_in_again() {
    let env = Env::new();
    let (mut engine, run) = gated(&env);
    let hold = env.path().join("let-the-retry-go");
    let hold_s = hold.to_string_lossy().to_string();
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &engine.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(stopped, "SIGSTOP the engine");
    let mut link = Link::open(
        &env,
        &[
            ("BATON_FAILPOINT", "link-retry:command"),
            ("BATON_FAILPOINT_HOLD", &hold_s),
        ],
    );
    link.decide(1, &run, approve("twice"), "req-twice");
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    wait_until("the decision handed in", Duration::from_secs(30), || {
        raw.query_row(
            "SELECT count(*) FROM link_requests WHERE request = 'req-twice' AND command IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .filter(|n| *n == 1)
    });
    // The engine dies without taking it: the link withdraws it and would try again.
    let _ = engine.kill();
    let _ = engine.wait();
    let waiting = env.path().join("let-the-retry-go.waiting");
    wait_until(
        "the link about to try again",
        Duration::from_secs(60),
        || waiting.exists().then_some(()),
    );
    let mut check = Link::open(&env, &[]);
    let Found::Delivered { what, outcome } = check.found(1, &run, "req-twice") else {
        panic!("handed in: found")
    };
    assert_eq!(what, "approve deploy: twice");
    assert!(
        matches!(
            &outcome,
            Some(CommandOutcome::Refused(Refusal::NotTaken { .. }))
        ),
        "{outcome:?}"
    );
    std::fs::write(&hold, b"").expect("let the retry go");
    let retried = link.outcome(1);
    assert!(
        matches!(&retried, CommandOutcome::Refused(r) if r.to_string().contains("has read it since")),
        "{retried:?}"
    );
    assert_eq!(link.end(), Some(0));
    assert_eq!(
        rows(&env, &run, "approval_vote"),
        0,
        "told not taken: no vote"
    );
    assert_eq!(
        check.found(2, &run, "req-twice"),
        Found::Delivered { what, outcome }
    );
    check.end();
}
