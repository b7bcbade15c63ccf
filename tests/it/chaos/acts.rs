//! The campaign's actions carried out, its console in tmux, and its end: every stop
//! continued, the schedule paused, every interrupted run resumed and every gate the
//! inbox lists decided, until every run has ended or the deadline.
use super::plan::{Action, Flow, Target};
use super::world::{Campaign, MAX_ENGINES, What};
use crate::console::tmux::{Tmux, shell_quote};
use crate::helpers::*;
use std::time::{Duration, Instant};

/// A console is closed (its terminal gone: it detaches) and another started once it
/// is this old, so that consoles keep coming.
const CONSOLE_LIFE: Duration = Duration::from_secs(20);

impl Campaign {
    pub(super) fn act(&mut self, action: Action) {
        match action {
            Action::Burst { flow, runs } => {
                if self.engines() + runs > MAX_ENGINES {
                    self.tally.bursts_held_back += 1;
                    return;
                }
                self.tally.bursts += 1;
                self.tally.runs_submitted += runs;
                if flow == Flow::Release {
                    self.hands.submitted += runs;
                    let args = self.hands.run_args();
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    for _ in 0..runs {
                        self.spawn(&args, What::Run);
                    }
                    return;
                }
                let wf = match flow {
                    Flow::Deploy => self.files.deploy.clone(),
                    Flow::Batch => self.files.batch.clone(),
                    Flow::Review | Flow::Release => self.files.review.clone(),
                };
                for _ in 0..runs {
                    self.spawn(&["run", &wf.to_string_lossy(), "--headless"], What::Run);
                }
            }
            Action::Decide { approve, pick } => {
                if self.team.is_some() && pick % 4 == 3 {
                    self.team_decide(approve, pick);
                    return;
                }
                let gates = self.inbox_gates();
                if gates.is_empty() {
                    self.tally.no_gate += 1;
                    return;
                }
                let (run, step) = &gates[pick % gates.len()];
                self.decide(run, step, approve);
            }
            Action::Signal {
                target,
                signal,
                pick,
            } => self.signal(target, signal, pick),
            Action::Console => self.console_action(),
            Action::Forge { forgery, pick } => self.forge(forgery, pick),
            Action::Hold {
                release,
                step,
                pick,
            } => self.hold(release, step, pick),
            Action::Fork { pick } => {
                if self.engines() >= MAX_ENGINES {
                    self.tally.bursts_held_back += 1;
                    return;
                }
                self.fork(pick);
            }
            Action::PushBack { pick } => self.push_back(pick),
            Action::Model { race } => self.model(race),
            Action::Trigger => {
                self.n += 1;
                self.tally.triggers += 1;
                let reason = format!("chaos-{}", self.n);
                self.spawn(
                    &["schedule", "trigger", "nightly", "--reason", &reason],
                    What::Cli,
                );
            }
        }
    }

    /// Whether a console of the campaign is alive (not counting one stopped).
    fn console_alive(&self) -> bool {
        super::procs::batons(&self.env.db())
            .iter()
            .any(|(role, _)| *role == Target::Console)
    }

    /// A console started if none is alive (or the last is old: its tmux server is
    /// closed, a lost terminal, and it detaches); else its Approvals tab approves.
    fn console_action(&mut self) {
        let young = self
            .console
            .as_ref()
            .is_some_and(|(_, since)| since.elapsed() < CONSOLE_LIFE);
        if young && self.console_alive() {
            self.approve_in_console();
            return;
        }
        if self.console.take().is_some() {
            *self
                .tally
                .signals
                .entry((Target::Console, "terminal closed"))
                .or_default() += 1;
        }
        self.start_console();
    }

    fn start_console(&mut self) {
        let q = |p: &std::path::Path| shell_quote(&p.to_string_lossy());
        let slurm = slurm_conf()
            .map(|c| format!("SLURM_CONF={} ", q(c)))
            .unwrap_or_default();
        let command = format!(
            "cd {} && {slurm}BATON_DB={} XDG_CONFIG_HOME={} XDG_STATE_HOME={} TMPDIR={} {} run {} ; sleep 30",
            q(self.env.path()),
            q(&self.env.db()),
            q(&self.env.config_home()),
            q(&self.env.path().join("xdg-state")),
            q(&self.env.path().join("tmp")),
            shell_quote(env!("CARGO_BIN_EXE_baton")),
            q(&self.files.desk),
        );
        self.tally.consoles_started += 1;
        self.console = Some((Tmux::new(&self.env, 120, 40, &command), Instant::now()));
    }

    /// `2` (Approvals), `a`, a reason `console-N`, Enter: the gate it has selected is
    /// approved under this process's OS account. Nothing is typed unless the approve
    /// dialog opened (the console may be stopped, or show no gate); the screen after
    /// the Enter is kept in `out/console-N.screen`.
    fn approve_in_console(&mut self) {
        let Some((tmux, _)) = &self.console else {
            return;
        };
        tmux.keys(&["2"]);
        tmux.keys(&["a"]);
        if poll(secs(3), || tmux.screen().contains(" Approve ")).is_err() {
            return;
        }
        self.n += 1;
        tmux.literal(&format!("console-{}", self.n));
        tmux.keys(&["Enter"]);
        let _ = poll(secs(3), || !tmux.screen().contains(" Approve "));
        let screen = self
            .env
            .path()
            .join("out")
            .join(format!("console-{}.screen", self.n));
        let _ = std::fs::write(screen, tmux.screen());
        self.tally.console_approvals_typed += 1;
    }

    /// The chaos's end: every stopped process continued, the schedule paused, then
    /// every interrupted run resumed and every gate the inbox lists approved until
    /// every run has ended or `deadline` passed; then the serve stopped (SIGTERM) and
    /// the console closed. Whether every run ended.
    pub(super) fn settle(&mut self, deadline: Duration) -> bool {
        self.continue_due(true);
        let pause = self.ask(&[
            "schedule",
            "pause",
            "nightly",
            "--reason",
            "chaos: the campaign ends",
        ]);
        assert!(
            pause.status.success(),
            "schedule pause: {}",
            text(&pause.stderr)
        );
        let end = Instant::now() + deadline;
        let mut ended = false;
        while Instant::now() < end {
            self.tend();
            for (run, step) in self.inbox_gates() {
                let deciding = self.kids.iter().any(|k| match k.what {
                    What::Decide(d) => {
                        self.decisions[d].run == run && self.decisions[d].step == step
                    }
                    _ => false,
                });
                if !deciding {
                    self.decide(&run, &step, true);
                }
            }
            self.release_held();
            self.cancel_orphans();
            let team_open = self.team_settle();
            let runs = self.rows(&["runs", "--json"]);
            let open = team_open + runs.iter().filter(|r| !final_state(&r["state"])).count();
            if open == 0 && !runs.is_empty() {
                if self.serve_stopped {
                    ended = true;
                    break;
                }
                // Every run ended: stop the serve (nothing of its own is left), and look
                // once more (a slot may have fired before the pause took effect).
                self.stop_serve();
            }
            self.pace(Duration::from_millis(300));
        }
        self.stop_serve();
        self.console = None;
        self.wait_kids(secs(30));
        ended
    }

    /// At the end, `baton release` of every run the inbox lists a held step of (once
    /// a few seconds: a release that takes the run over drives it).
    fn release_held(&mut self) {
        let mut runs: Vec<String> = self
            .inbox(&["held"])
            .into_iter()
            .map(|(r, _, _)| r)
            .collect();
        runs.dedup();
        for run in runs {
            let releasing = self.kids.iter().any(|k| k.what == What::Op);
            if releasing {
                return;
            }
            self.n += 1;
            let reason = format!("chaos-{}: the campaign ends", self.n);
            self.spawn(&["release", &run, "--reason", &reason], What::Op);
        }
    }

    /// SIGTERM to the serve, and its end.
    fn stop_serve(&mut self) {
        if self.serve_stopped {
            return;
        }
        self.serve_stopped = true;
        for k in self.kids.iter_mut().filter(|k| k.what == What::Serve) {
            let pid = nix::unistd::Pid::from_raw(k.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = poll(secs(30), || matches!(k.child.try_wait(), Ok(Some(_))));
        }
    }

    /// The campaign's processes to their ends (killed past `deadline`).
    fn wait_kids(&mut self, deadline: Duration) {
        let _ = poll(deadline, || {
            self.continue_due(true);
            self.reap();
            self.kids.is_empty()
        });
        for k in &mut self.kids {
            let _ = k.child.kill();
            let _ = k.child.wait();
        }
        self.reap();
    }
}

/// A run state a reader shows that is final.
pub(super) fn final_state(s: &serde_json::Value) -> bool {
    matches!(
        s.as_str(),
        Some("succeeded" | "failed" | "cancelled" | "skipped")
    )
}
