//! The campaign's world: its store and workflows, the processes it started, its
//! console, its serve and the SSH hosts' listeners; what is done between actions
//! (continue what is due, reap, keep a serve, resume what reads interrupted) and the
//! settling at the end.
use super::plan::{Sig, Target};
use super::procs::{self, Proc};
use super::report::{Decision, Tally};
use super::workflows::{self, Files, Remotes};
use crate::console::tmux::Tmux;
use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// At most this many engines of the campaign alive at once (the machine has two
/// cores, shared): a burst past it is held back.
pub(super) const MAX_ENGINES: usize = 8;
/// How often the runs are looked at for one to resume.
const SWEEP: Duration = Duration::from_secs(1);
/// How soon a run is resumed again after a resume of it ended (refused: its group was
/// held, another engine took it first).
const RESUME_AGAIN: Duration = Duration::from_secs(3);

/// What a process the campaign started is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum What {
    Run,
    Resume(String),
    /// The index of its decision in `Campaign::decisions`.
    Decide(usize),
    Serve,
    /// A command that decides nothing of a run (`schedule trigger`).
    Cli,
    /// `hold`, `release` or `push-back`: it may take the run over and drive it.
    Op,
}

pub(super) struct Kid {
    pub child: Child,
    pub what: What,
    /// Its stdout's file (its stderr's: the same with `.err`).
    pub out: PathBuf,
    /// The team's run it resumes or decides, at the end (`team.rs`).
    pub team_run: Option<String>,
}

pub(super) struct Campaign {
    pub env: Env,
    /// Where the steps write their stamps.
    pub stamps: PathBuf,
    /// Where the steps that ask write the answer they took.
    pub answers: PathBuf,
    /// The directory `baton serve` serves.
    served: PathBuf,
    /// Every baton's `TMPDIR`: its SSH control sockets stay the campaign's own.
    tmp: PathBuf,
    pub files: Files,
    /// The Grid Engine cell's variables, for every baton (its executor's commands).
    vars: Vec<(String, String)>,
    /// Whether the Slurm cluster is up (its `SLURM_CONF` goes to every baton through
    /// `Env::cmd`).
    slurm: bool,
    /// The sshd listeners (never signalled; their sessions are).
    pub listeners: Vec<i32>,
    pub kids: Vec<Kid>,
    spawned: usize,
    pub console: Option<(Tmux, Instant)>,
    /// Processes stopped, and when each is continued.
    pub stopped: Vec<(Proc, Instant)>,
    pub tally: Tally,
    pub decisions: Vec<Decision>,
    /// Numbers the reasons (`chaos-N`, `console-N`).
    pub n: usize,
    resumed_at: BTreeMap<String, Instant>,
    last_sweep: Option<Instant>,
    last_serve: Option<Instant>,
    /// Once set, no serve is started again.
    pub serve_stopped: bool,
    /// What the inbox missed (`facts::sample_inbox`), each once.
    pub misses: Vec<String>,
    pub missed: std::collections::BTreeSet<(String, String, String)>,
    pub inbox_samples: usize,
    /// What `facts::sample_pending` found over `max_pending`, and its samples.
    pub over_pending: Vec<String>,
    pub pending_samples: usize,
    /// The rows forged and what came of them (`forge.rs`).
    pub forged: super::forge::Forged,
    /// Holds, forks and push-backs made (`ops.rs`).
    pub ops: super::ops::Ops,
    /// The group store other OS accounts act on (`team.rs`), or what is missing for it.
    pub team: Option<super::team::Team>,
    pub team_missing: Option<String>,
    /// `release`, its secrets and its child runs (`hands.rs`).
    pub hands: super::hands::Hands,
    /// The runs of `model` on the group store and `gmbob`'s races (`team_artifacts.rs`).
    pub models: Option<super::team_artifacts::Models>,
}

impl Campaign {
    /// The campaign's directory, its workflows and its serve, with the SSH hosts and
    /// the Grid Engine cell where they can run here.
    pub(super) fn new() -> Campaign {
        let env = Env::new();
        let dir = |name: &str| {
            let p = env.path().join(name);
            std::fs::create_dir_all(&p).expect("a directory of the campaign");
            p
        };
        let (stamps, served, tmp) = (dir("stamps"), dir("served"), dir("tmp"));
        let answers = dir("answers");
        dir("out");
        let remotes = Remotes {
            ssh: crate::exec::ssh::hosts(),
            sge: crate::exec::batch::sge(),
            slurm: crate::exec::slurm::cluster(),
        };
        let listeners = remotes
            .ssh
            .as_deref()
            .and_then(Path::parent)
            .map(|d| {
                ["h2", "h3"]
                    .iter()
                    .filter_map(|h| procs::pid_file(&d.join(h).join("sshd.pid")))
                    .collect()
            })
            .unwrap_or_default();
        let slurm = remotes.slurm;
        let files = workflows::write(
            &env,
            &remotes,
            &workflows::Dirs {
                stamps: &stamps,
                answers: &answers,
                served: &served,
            },
        );
        let hands = super::hands::Hands::new(env.path(), &stamps);
        let vars = remotes
            .sge
            .as_ref()
            .map(|s| s.vars.clone())
            .unwrap_or_default();
        Campaign {
            env,
            stamps,
            answers,
            served,
            tmp,
            files,
            vars,
            slurm,
            listeners,
            kids: Vec::new(),
            spawned: 0,
            console: None,
            stopped: Vec::new(),
            tally: Tally::default(),
            decisions: Vec::new(),
            n: 0,
            resumed_at: BTreeMap::new(),
            last_sweep: None,
            last_serve: None,
            serve_stopped: false,
            misses: Vec::new(),
            missed: Default::default(),
            inbox_samples: 0,
            over_pending: Vec::new(),
            pending_samples: 0,
            forged: Default::default(),
            ops: Default::default(),
            team: None,
            team_missing: None,
            hands,
            models: None,
        }
        .with_team()
    }

    /// The team's group store where the accounts exist; else what is missing, said.
    fn with_team(mut self) -> Campaign {
        let missing = super::team::missing();
        if !missing.is_empty() {
            self.team_missing = Some(missing.join(", "));
            return self;
        }
        match super::team::Team::new(self.env.path()) {
            Ok(t) => self.team = Some(t),
            Err(e) => self.team_missing = Some(format!("group store ({e})")),
        }
        self
    }

    /// The campaign's directory, kept after the test (for a broken promise's evidence).
    pub(super) fn keep(&mut self) -> &Path {
        self.env.dir.disable_cleanup(true);
        self.env.path()
    }

    /// Which executors run here, for the report's header.
    pub(super) fn remotes_said(&self) -> String {
        let ssh = if self.listeners.is_empty() {
            "no SSH hosts"
        } else {
            "2 SSH hosts"
        };
        let sge = if self.vars.is_empty() {
            "no Grid Engine cell"
        } else {
            "a Grid Engine cell"
        };
        let slurm = if self.slurm {
            "a Slurm cluster"
        } else {
            "no Slurm cluster"
        };
        let accounts = match &self.team_missing {
            Some(m) => format!("decisions as this account only: no {m} here"),
            None => format!(
                "a group store of {} decided as {} and {}",
                super::team::GROUP,
                super::team::ALICE,
                super::team::BOB
            ),
        };
        format!("{ssh}, {sge}, {slurm}; {accounts}")
    }

    /// A baton on the campaign's store, in its environment.
    pub(super) fn baton(&self) -> Command {
        let mut c = self.env.cmd();
        c.env("TMPDIR", &self.tmp)
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    /// A baton that answers at once (a read): its output.
    pub(super) fn ask(&self, args: &[&str]) -> std::process::Output {
        self.baton()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run baton")
    }

    /// `baton ARGS --json`'s rows (none if it failed: a store busy for a moment).
    pub(super) fn rows(&self, args: &[&str]) -> Vec<Value> {
        let out = self.ask(args);
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// Start a baton in the background, its output in files of the campaign's `out/`.
    pub(super) fn spawn(&mut self, args: &[&str], what: What) {
        let mut c = self.baton();
        c.args(args).stdin(Stdio::null());
        self.spawn_cmd(c, what);
    }

    /// Start `c` in the background, its output in files of the campaign's `out/`.
    pub(super) fn spawn_cmd(&mut self, mut c: Command, what: What) {
        self.spawned += 1;
        let out = self
            .env
            .path()
            .join("out")
            .join(format!("{}.out", self.spawned));
        let err = out.with_extension("err");
        let file = |p: &Path| std::fs::File::create(p).expect("an output file");
        let child = c
            .stdout(Stdio::from(file(&out)))
            .stderr(Stdio::from(file(&err)))
            .spawn()
            .expect("spawn baton");
        self.kids.push(Kid {
            child,
            what,
            out,
            team_run: None,
        });
    }

    /// The engines the campaign started that are still alive.
    pub(super) fn engines(&self) -> usize {
        self.kids
            .iter()
            .filter(|k| {
                matches!(
                    k.what,
                    What::Run | What::Resume(_) | What::Decide(_) | What::Op
                )
            })
            .count()
    }

    /// What is done between actions.
    pub(super) fn tend(&mut self) {
        self.continue_due(false);
        self.reap();
        self.keep_serve();
        if self.last_sweep.is_none_or(|t| t.elapsed() >= SWEEP) {
            self.last_sweep = Some(Instant::now());
            self.resume_interrupted();
        }
    }

    /// Wait `pause`, tending meanwhile.
    pub(super) fn pace(&mut self, pause: Duration) {
        let end = Instant::now() + pause;
        loop {
            self.tend();
            let now = Instant::now();
            if now >= end {
                return;
            }
            // The chaos's own moment, not a wait for a condition.
            std::thread::sleep((end - now).min(Duration::from_millis(100)));
        }
    }

    /// SIGCONT to the stopped processes whose time came (`all`: every one).
    pub(super) fn continue_due(&mut self, all: bool) {
        let now = Instant::now();
        self.stopped.retain(|(p, due)| {
            if all || *due <= now {
                procs::cont(p);
                false
            } else {
                true
            }
        });
    }

    /// The processes that ended: a decision's verdict read from its output.
    pub(super) fn reap(&mut self) {
        let mut i = 0;
        while i < self.kids.len() {
            if !matches!(self.kids[i].child.try_wait(), Ok(Some(_))) {
                i += 1;
                continue;
            }
            let kid = self.kids.swap_remove(i);
            match kid.what {
                What::Decide(d) => {
                    let text = std::fs::read_to_string(&kid.out).unwrap_or_default();
                    self.decisions[d].verdict = text
                        .lines()
                        .next()
                        .filter(|l| l.starts_with('{'))
                        .map(str::to_string);
                }
                What::Resume(run) => {
                    self.resumed_at.insert(run, Instant::now());
                }
                _ => {}
            }
        }
    }

    /// A serve, always (it is killed too): started again once the last one ended.
    fn keep_serve(&mut self) {
        let running = self.kids.iter().any(|k| k.what == What::Serve);
        let soon = self
            .last_serve
            .is_some_and(|t| t.elapsed() < Duration::from_secs(2));
        if running || soon || self.serve_stopped {
            return;
        }
        self.last_serve = Some(Instant::now());
        self.tally.serves_started += 1;
        let served = self.served.to_string_lossy().into_owned();
        self.spawn(&["serve", "--workflows", &served], What::Serve);
    }

    /// `baton resume` of every run that reads interrupted and is not being resumed.
    fn resume_interrupted(&mut self) {
        for r in self.rows(&["runs", "--json"]) {
            let Some(id) = r["id"].as_str() else { continue };
            let workflow = r["workflow"].as_str().unwrap_or_default();
            if r["state"] != "interrupted"
                || self.engines() >= MAX_ENGINES
                || super::hands::driven_by_parent(workflow)
            {
                continue;
            }
            let resuming = self.kids.iter().any(|k| k.what == What::Resume(id.into()));
            let lately = self
                .resumed_at
                .get(id)
                .is_some_and(|t| t.elapsed() < RESUME_AGAIN);
            if !resuming && !lately {
                self.tally.resumes += 1;
                let id = id.to_string();
                // A secret param is given again (never stored).
                let params = self.hands.params_for(workflow);
                self.hands.resumed += usize::from(!params.is_empty());
                let mut args = vec!["resume", &id, "--headless"];
                args.extend(params.iter().map(String::as_str));
                self.spawn(&args, What::Resume(id.clone()));
            }
        }
    }

    /// What `baton inbox` lists of the `kinds` given: (run, step, kind).
    pub(super) fn inbox(&self, kinds: &[&str]) -> Vec<(String, String, String)> {
        self.rows(&["inbox", "--json"])
            .iter()
            .filter_map(|w| {
                let kind = w["kind"].as_str()?;
                kinds.contains(&kind).then_some(())?;
                Some((
                    w["run_id"].as_str()?.into(),
                    w["step"].as_str()?.into(),
                    kind.into(),
                ))
            })
            .collect()
    }

    /// The open gates and asks of steps `baton inbox` lists: (run, step).
    pub(super) fn inbox_gates(&self) -> Vec<(String, String)> {
        self.inbox(&["gate", "ask"])
            .into_iter()
            .map(|(run, step, _)| (run, step))
            .collect()
    }

    /// `baton approve|reject RUN STEP --reason chaos-N --json` in the background.
    pub(super) fn decide(&mut self, run: &str, step: &str, approve: bool) {
        self.decide_as(run, step, approve, None);
    }

    /// As `decide`, on the team's store as `account` (`team.rs`) when one is given.
    pub(super) fn decide_as(
        &mut self,
        run: &str,
        step: &str,
        approve: bool,
        account: Option<&'static str>,
    ) {
        self.n += 1;
        let reason = format!("chaos-{}", self.n);
        let verb = if approve { "approve" } else { "reject" };
        self.decisions.push(Decision {
            run: run.into(),
            step: step.into(),
            approve,
            reason: reason.clone(),
            verdict: None,
            account,
        });
        let d = self.decisions.len() - 1;
        let args = [verb, run, step, "--reason", &reason, "--json"];
        match (account, &self.team) {
            (Some(user), Some(t)) => {
                let c = t.cmd(user, &args);
                self.spawn_cmd(c, What::Decide(d));
            }
            _ => self.spawn(&args, What::Decide(d)),
        }
    }

    /// `sig` to a process of `target` (the `pick`-th alive, not stopped already).
    pub(super) fn signal(&mut self, target: Target, sig: Sig, pick: usize) {
        let mut found: Vec<Proc> = match target {
            Target::SshSession => {
                procs::ssh_sessions(&self.listeners, &self.env.path().to_string_lossy())
            }
            _ => procs::batons(&self.env.db())
                .into_iter()
                .chain(
                    self.team
                        .as_ref()
                        .map(|t| procs::batons(&t.db))
                        .unwrap_or_default(),
                )
                .filter(|(role, _)| *role == target)
                .map(|(_, p)| p)
                .collect(),
        };
        found.retain(|p| !self.stopped.iter().any(|(s, _)| s == p));
        if found.is_empty() {
            self.tally.no_target += 1;
            return;
        }
        let p = found.swap_remove(pick % found.len());
        if !procs::signal(&p, sig) {
            self.tally.no_target += 1;
            return;
        }
        *self.tally.signals.entry((target, sig.name())).or_default() += 1;
        if let Sig::Stop(d) = sig {
            self.stopped.push((p, Instant::now() + d));
        }
    }
}

impl Drop for Campaign {
    /// Nothing of the campaign outlives it, however the test ends: its processes,
    /// its console's tmux server, and the SSH control masters in its `TMPDIR`.
    fn drop(&mut self) {
        self.continue_due(true);
        for k in &mut self.kids {
            let _ = k.child.kill();
            let _ = k.child.wait();
        }
        self.console = None;
        for (_, p) in procs::batons(&self.env.db()) {
            procs::signal(&p, Sig::Kill);
        }
        procs::kill_mentioning(&self.env.path().to_string_lossy());
    }
}
