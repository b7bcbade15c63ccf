//! The campaign's schedule of actions, drawn from one seed (pure): the same seed gives
//! the same actions in the same order, each with the pause before it. What an action
//! reaches (which engine, which gate) is a number taken modulo what exists when it
//! is carried out, so real timing decides the target, never the schedule.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// The workflows a burst starts (`workflows.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// In the concurrency group `chaos-deploy` (queue, `max_pending` 2), gated.
    Deploy,
    /// No group, gated, a step on each remote executor.
    Batch,
    /// No group: a step that asks (`baton ask`) and a gate that can be pushed back.
    Review,
    /// In the concurrency group `chaos-release`: a secret param, secrets from a file
    /// and a command, and a step that runs a child workflow handed the secret
    /// (`hands.rs`).
    Release,
}

/// A row written straight into the store's SQLite file, without proof (`forge.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forgery {
    /// An `approve` of a gate the inbox lists, a row of `commands` with no proof.
    Approve,
    /// A `schedule trigger` of the served workflow, a row of `schedule_slots`.
    Trigger,
    /// An open ask of a step decided in `asks` and `ask_votes`.
    Answer,
    /// A finished run's text on the group store rewritten by another member, then
    /// forked (`rewrite.rs`).
    Rewrite,
}

/// The processes a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    /// `baton run --headless`, `baton resume`, and an `approve`/`reject` that took an
    /// undriven run over, including the background engines a console's detach starts.
    Engine,
    /// `baton run` with its console, in tmux.
    Console,
    /// `baton serve`.
    Serve,
    /// An sshd session process (a child of one of the two hosts' listeners) carrying
    /// this campaign's remote steps; never a listener.
    SshSession,
    /// A child run's engine (`baton run --parent`): its parent's step process.
    ChildEngine,
}

impl Target {
    pub(crate) const ALL: [Target; 5] = [
        Target::Engine,
        Target::Console,
        Target::Serve,
        Target::SshSession,
        Target::ChildEngine,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Engine => "engine",
            Target::Console => "console",
            Target::Serve => "serve",
            Target::SshSession => "sshd session",
            Target::ChildEngine => "child engine",
        }
    }
}

/// What a process is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sig {
    /// SIGKILL.
    Kill,
    /// SIGHUP (a lost terminal for a console: it detaches).
    Hup,
    /// SIGSTOP, then SIGCONT after this long (past the 15 s lease, sometimes).
    Stop(Duration),
}

impl Sig {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Sig::Kill => "kill -9",
            Sig::Hup => "HUP",
            Sig::Stop(_) => "STOP/CONT",
        }
    }
}

/// One action of the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `runs` processes of `baton run FLOW --headless` at once.
    Burst { flow: Flow, runs: usize },
    /// `baton approve` (or `reject`) of the `pick`-th gate `baton inbox` lists.
    Decide { approve: bool, pick: usize },
    /// `signal` to the `pick`-th process of `target` found alive.
    Signal {
        target: Target,
        signal: Sig,
        pick: usize,
    },
    /// A console in tmux: started if none is alive, else its Approvals tab approves
    /// the gate it has selected.
    Console,
    /// `baton schedule trigger` of the served workflow.
    Trigger,
    /// A forged row (`forge.rs`); `pick` chooses its subject.
    Forge { forgery: Forgery, pick: usize },
    /// `baton hold` of the `pick`-th unfinished run (a step of it, or the run), or
    /// `baton release` of the `pick`-th held one.
    Hold {
        release: bool,
        step: bool,
        pick: usize,
    },
    /// `baton fork` of the `pick`-th ended run from one of its steps.
    Fork { pick: usize },
    /// `baton push-back` of the `pick`-th open `review` gate.
    PushBack { pick: usize },
    /// A run of `model` on the group store as `gmalice` (its artifact kept, then read
    /// by the next step), `gmbob` racing the store's artifact directory when `race`
    /// (`team_artifacts.rs`).
    Model { race: bool },
}

/// The seeded schedule.
pub(crate) struct Plan {
    rng: StdRng,
}

impl Plan {
    pub(crate) fn new(seed: u64) -> Plan {
        Plan {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next action and the pause before it.
    pub(crate) fn next_action(&mut self) -> (Duration, Action) {
        let pause = Duration::from_millis(self.rng.random_range(150..1200));
        let pick = self.rng.random_range(0..1000);
        let action = match self.rng.random_range(0..100) {
            0..20 => Action::Burst {
                flow: match self.rng.random_range(0..5) {
                    0 | 1 => Flow::Deploy,
                    2 => Flow::Batch,
                    3 => Flow::Review,
                    _ => Flow::Release,
                },
                runs: self.rng.random_range(1..=3),
            },
            20..38 => Action::Decide {
                approve: self.rng.random_bool(0.8),
                pick,
            },
            38..43 => Action::Console,
            43..46 => Action::Trigger,
            46..52 => Action::Forge {
                forgery: match self.rng.random_range(0..100) {
                    0..30 => Forgery::Approve,
                    30..55 => Forgery::Trigger,
                    55..75 => Forgery::Answer,
                    _ => Forgery::Rewrite,
                },
                pick,
            },
            52..56 => Action::Hold {
                release: self.rng.random_bool(0.5),
                step: self.rng.random_bool(0.5),
                pick,
            },
            56..59 => Action::Fork { pick },
            59..64 => Action::PushBack { pick },
            64..68 => Action::Model {
                race: self.rng.random_bool(0.6),
            },
            _ => Action::Signal {
                target: self.target(),
                signal: self.signal(),
                pick,
            },
        };
        (pause, action)
    }

    fn target(&mut self) -> Target {
        match self.rng.random_range(0..100) {
            0..38 => Target::Engine,
            38..52 => Target::Console,
            52..66 => Target::Serve,
            66..85 => Target::SshSession,
            _ => Target::ChildEngine,
        }
    }

    fn signal(&mut self) -> Sig {
        match self.rng.random_range(0..100) {
            0..45 => Sig::Kill,
            45..70 => Sig::Hup,
            // Mostly short; one in four past the lease's 15 s, so the run reads
            // interrupted and is taken over while its engine is stopped.
            _ if self.rng.random_bool(0.25) => {
                Sig::Stop(Duration::from_millis(self.rng.random_range(16_000..22_000)))
            }
            _ => Sig::Stop(Duration::from_millis(self.rng.random_range(300..6_000))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(seed: u64, n: usize) -> Vec<(Duration, Action)> {
        let mut p = Plan::new(seed);
        (0..n).map(|_| p.next_action()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        assert_eq!(first(61, 300), first(61, 300));
        assert_ne!(first(61, 300), first(62, 300));
    }

    #[test]
    fn a_schedule_holds_every_kind_of_action_and_signal() {
        let actions = first(61, 400);
        let has = |f: &dyn Fn(&Action) -> bool| actions.iter().any(|(_, a)| f(a));
        assert!(has(&|a| matches!(
            a,
            Action::Burst {
                flow: Flow::Deploy,
                ..
            }
        )));
        assert!(has(&|a| matches!(
            a,
            Action::Burst {
                flow: Flow::Batch,
                ..
            }
        )));
        assert!(has(&|a| matches!(a, Action::Decide { approve: false, .. })));
        assert!(has(&|a| matches!(a, Action::Console)));
        assert!(has(&|a| matches!(a, Action::Trigger)));
        for f in [
            Forgery::Approve,
            Forgery::Trigger,
            Forgery::Answer,
            Forgery::Rewrite,
        ] {
            assert!(
                has(&|a| matches!(a, Action::Forge { forgery, .. } if *forgery == f)),
                "{f:?}"
            );
        }
        for r in [false, true] {
            assert!(has(
                &|a| matches!(a, Action::Hold { release, .. } if *release == r)
            ));
        }
        assert!(has(&|a| matches!(a, Action::Fork { .. })));
        assert!(has(&|a| matches!(a, Action::PushBack { .. })));
        for r in [false, true] {
            assert!(has(&|a| matches!(a, Action::Model { race } if *race == r)));
        }
        assert!(has(&|a| matches!(
            a,
            Action::Burst {
                flow: Flow::Release,
                ..
            }
        )));
        assert!(has(&|a| matches!(
            a,
            Action::Burst {
                flow: Flow::Review,
                ..
            }
        )));
        for t in Target::ALL {
            for s in [Sig::Kill, Sig::Hup] {
                assert!(
                    has(
                        &|a| matches!(a, Action::Signal { target, signal, .. } if *target == t && *signal == s)
                    ),
                    "{t:?} {s:?}"
                );
            }
        }
        assert!(has(
            &|a| matches!(a, Action::Signal { signal: Sig::Stop(d), .. } if d.as_secs() > 15)
        ));
    }
}
