//! The console end to end (issue 5 point 10): the real binary in tmux, driven with
//! send-keys, read with capture-pane. This module holds the tmux harness; the tests are
//! in its modules by what they exercise.
use crate::helpers::*;
use std::process::Command;
use std::time::Duration;

mod actions;
mod all_logs;
mod approve;
mod ask;
mod completion;
mod deadline;
mod decide;
mod desk;
mod detach_alive;
mod edit;
mod edit_big;
mod fanned;
mod filters;
mod fleet;
mod fleet_desk;
mod fleet_notes;
mod fork;
mod fork_params;
mod history;
mod hold;
mod hostile;
mod inputs;
mod keys;
mod labels;
mod live_usage;
mod news;
mod notes;
mod pasted;
mod policy;
mod push_back;
mod quit_ended;
mod retry_failed;
mod run_form;
mod runs_tab;
mod schedules_tab;
mod shift;
mod terminal;
mod terms;
mod timeline;
mod triggers;

/// A tmux server of the test's own (its socket named after this process and the test's
/// directory), killed on drop, and also when this process dies without dropping it (a
/// SIGKILL, an abort): a watchdog reads a pipe that only this process writes to and
/// kills the server at its end of file.
pub(crate) struct Tmux {
    socket: String,
    watchdog: std::process::Child,
    lifeline: Option<std::io::PipeWriter>,
}

impl Tmux {
    /// `baton run WF` in the console (as `tester`, on the env's store, from its
    /// directory), the pane kept 30 s after it ends so its last screen can be read.
    pub(crate) fn running(env: &Env, wf: &std::path::Path, cols: u16, rows: u16) -> Tmux {
        let command = format!(
            "cd {} && BATON_DB={} USER=tester {} run {} ; sleep 30",
            shell_quote(&env.path().to_string_lossy()),
            shell_quote(&env.db().to_string_lossy()),
            shell_quote(env!("CARGO_BIN_EXE_baton")),
            shell_quote(&wf.to_string_lossy()),
        );
        Tmux::new(env, cols, rows, &command)
    }

    /// `baton tui` on the env's store and its configuration, from its directory; the
    /// pane kept 30 s after it ends, its exit status printed (`TUI-EXIT=N`).
    pub(crate) fn tui(env: &Env, cols: u16, rows: u16) -> Tmux {
        let command = format!(
            "cd {} && BATON_DB={} XDG_CONFIG_HOME={} {} tui ; echo TUI-EXIT=$? ; sleep 30",
            shell_quote(&env.path().to_string_lossy()),
            shell_quote(&env.db().to_string_lossy()),
            shell_quote(&env.config_home().to_string_lossy()),
            shell_quote(env!("CARGO_BIN_EXE_baton")),
        );
        Tmux::new(env, cols, rows, &command)
    }

    pub(crate) fn new(env: &Env, cols: u16, rows: u16, command: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let socket = format!(
            "baton-test-{}-{}-{}",
            std::process::id(),
            env.path().file_name().unwrap().to_string_lossy(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (reader, lifeline) = std::io::pipe().expect("a pipe");
        let watchdog = Command::new("sh")
            .args([
                "-c",
                "cat >/dev/null; exec tmux -L \"$1\" kill-server",
                "sh",
            ])
            .arg(&socket)
            .stdin(reader)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the tmux server's watchdog");
        let t = Tmux {
            socket,
            watchdog,
            lifeline: Some(lifeline),
        };
        // A `TMPDIR` of the test's own: a console's SSH connections (`ControlMaster`,
        // whose process works in the directory of the test that started it) are never
        // another test's, which that test's end would cut.
        let tmp = env.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("the test's TMPDIR");
        // The server's environment is this command's: what every window starts with.
        let status = test_env(&mut Command::new("tmux"))
            .env("XDG_RUNTIME_DIR", env.runtime_dir())
            .env("TMPDIR", &tmp)
            // The account's own state (the secret a console's engine seals runs with)
            // stays in the test's directory, as for every baton of `Env::cmd`.
            .env("XDG_STATE_HOME", env.path().join("xdg-state"))
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
                // A UTF-8 locale unless a test sets another: the console draws ASCII
                // only in a non-UTF-8 one, whatever the environment running the tests.
                "-e",
                "LANG=C.UTF-8",
            ])
            .arg(command)
            .status()
            .expect("tmux must be installed (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        t
    }
    pub(crate) fn keys(&self, keys: &[&str]) {
        // An Escape read in one piece with the key after it is Alt+that key (as in every
        // terminal), so after an Escape the next keys wait until the console has drawn
        // what it did; a screen that does not change lets them go at the deadline.
        let before = keys.contains(&"Escape").then(|| self.screen());
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(st.success());
        if let Some(before) = before {
            let _ = poll(Duration::from_secs(3), || self.screen() != before);
        }
    }
    pub(crate) fn literal(&self, text: &str) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main", "-l", text])
            .status()
            .expect("send-keys");
        assert!(st.success());
    }
    pub(crate) fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        text(&out.stdout)
    }
    /// The terminal gone: the server killed, every pane's pseudo-terminal closed.
    pub(crate) fn kill_server(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
    pub(crate) fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "main"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool, secs: u64) -> String {
        wait_until(what, Duration::from_secs(secs), || {
            let s = self.screen();
            if pred(&s) {
                Ok(s)
            } else {
                Err(format!("screen:\n{s}"))
            }
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        // The watchdog's end of file: it ends (its kill-server finds none) and is reaped.
        drop(self.lifeline.take());
        let _ = self.watchdog.wait();
    }
}

/// The start of run `id` the screen shows: the console shows the shortest prefix no
/// other run shares, at least 8 characters, and runs made within the same quarter of a
/// second share their first 8, so a test never assumes `id[..8]`.
pub(crate) fn shown_id<'a>(screen: &str, id: &'a str) -> &'a str {
    (8..=id.len())
        .rev()
        .map(|n| &id[..n])
        .find(|p| screen.contains(p))
        .unwrap_or(&id[..8])
}

pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `baton run` of `wf` with its console, in the test's directory.
fn console_run(env: &Env, wf: &std::path::Path) -> String {
    format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} run {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy())
    )
}

/// SIGHUP (a lost terminal) to the baton whose command line contains `needle`.
fn hang_up(needle: &str) {
    let pid = pid_of(needle).expect("baton's pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .expect("SIGHUP to baton");
}

/// The pid of the process whose command line contains `needle` (and is not tmux/sh):
/// a needle of this test's own (its workflow's or store's path), as other tests' consoles
/// run at once.
fn pid_of(needle: &str) -> Option<i32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a.ends_with("/baton"))
            && args.iter().any(|a| a.contains(needle))
        {
            return Some(pid);
        }
    }
    None
}

impl Tmux {
    fn title(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display",
                "-p",
                "-t",
                "main",
                "#{pane_title}",
            ])
            .output()
            .expect("display");
        text(&out.stdout).trim().to_string()
    }
}

impl Tmux {
    fn option(&self, args: &[&str]) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "set-option"])
            .args(args)
            .status()
            .expect("set-option");
        assert!(st.success());
    }
    /// Wait until tmux's newest paste buffer satisfies `pred`.
    fn wait_for_buffer(&self, what: &str, pred: impl Fn(&str) -> bool, secs: u64) {
        let what = format!("{what} in tmux's buffer");
        wait_until(&what, Duration::from_secs(secs), || {
            let out = Command::new("tmux")
                .args(["-L", &self.socket, "show-buffer"])
                .output()
                .expect("show-buffer");
            let b = text(&out.stdout);
            if out.status.success() && pred(&b) {
                Ok(())
            } else {
                Err(format!("{b:?}"))
            }
        })
    }
}
