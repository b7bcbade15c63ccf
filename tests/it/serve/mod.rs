//! `baton serve` (issue 27): slots fired once across kill -9, one serve per store,
//! shutdown and resume, reload, health endpoints, and the operators' commands.
mod approval_page;
mod backfill;
mod browser;
mod bursts;
mod escalation;
mod escalation_readback;
mod escalation_waits;
mod follow_ups;
mod hostile;
mod labels;
mod lifecycle;
mod listener;
mod one_name;
mod operators;
mod overlap;
mod passkey_enrol;
mod paused;
mod receiver;
mod reload;
mod slots;
mod starter;
mod triggers;
mod webhook;

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// A served directory in an env, and the serve's stderr in a file per start.
pub(crate) struct Served {
    pub env: Env,
    pub dir: PathBuf,
    starts: usize,
    /// Every serve started: one a failed test left running is killed on drop.
    pids: Vec<u32>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let dir = self.dir.to_string_lossy().into_owned();
        for pid in &self.pids {
            // Only if the pid is still that serve (not reused by another process).
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmd).contains(&dir) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

impl Served {
    pub(crate) fn new() -> Served {
        let env = Env::new();
        let dir = env.path().join("workflows");
        std::fs::create_dir_all(&dir).unwrap();
        Served {
            env,
            dir,
            starts: 0,
            pids: Vec::new(),
        }
    }

    /// A whole workflow file, renamed into place: a serve watching the directory loads
    /// it at its next scan; one starting after it, once it is a few seconds old (the
    /// serve did not see it arrive).
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        self.write_dated(name, text, std::time::SystemTime::now())
    }

    /// Written whole elsewhere, dated `mtime`, then renamed into the directory: the
    /// watcher never reads half a file.
    pub(crate) fn write_dated(
        &self,
        name: &str,
        text: &str,
        mtime: std::time::SystemTime,
    ) -> PathBuf {
        let p = self.dir.join(name);
        let tmp = self.env.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        let f = std::fs::File::options().write(true).open(&tmp).unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        std::fs::rename(&tmp, &p).unwrap();
        p
    }

    /// Start `baton serve` (extra args after); its stderr goes to the returned file.
    pub(crate) fn start(&mut self, extra: &[&str]) -> (Child, PathBuf) {
        self.starts += 1;
        let log = self.env.path().join(format!("serve.{}.log", self.starts));
        let err = std::fs::File::create(&log).unwrap();
        let child = self
            .env
            .cmd()
            .args(["serve", "--workflows", self.dir.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn baton serve");
        self.pids.push(child.id());
        (child, log)
    }

    /// Start `baton serve --listen 127.0.0.1:0` and wait until it says where it
    /// listens: the child, its stderr's file and the address (`127.0.0.1:PORT`).
    pub(crate) fn start_listening(&mut self) -> (Child, PathBuf, String) {
        let (child, log) = self.start(&["--listen", "127.0.0.1:0"]);
        let served = wait_log(&log, "metrics: serving http://", 30);
        let addr = served
            .lines()
            .find_map(|l| l.strip_prefix("metrics: serving http://"))
            .unwrap()
            .trim_end_matches("/metrics")
            .to_string();
        (child, log, addr)
    }

    pub(crate) fn schedules(&self) -> serde_json::Value {
        let out = self.env.run(&["schedules", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub(crate) fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.env.db()).unwrap()
    }
}

/// Wait until the file holds `needle`; its text.
pub(crate) fn wait_log(log: &Path, needle: &str, deadline: u64) -> String {
    wait_until(
        &format!("the serve to print {needle}"),
        secs(deadline),
        || {
            let t = std::fs::read_to_string(log).unwrap_or_default();
            if t.contains(needle) { Ok(t) } else { Err(t) }
        },
    )
}

pub(crate) fn kill9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

pub(crate) fn term(child: Child) -> std::process::Output {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_child(child, 60)
}
