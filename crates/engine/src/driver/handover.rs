//! Detach (issue 55 point 3): this engine goes, the run's work stays. The core froze
//! each running local attempt under a hold that lapses as soon as the next engine has
//! adopted it (`core::decide::detach`); here each such attempt is let go alive, and
//! this engine waits until it is: its log holds what its pipes held, its group is
//! stopped with its anchor in it. Remote attempts need nothing: they run on where they
//! are and the next engine re-attaches to their jobs.
use super::{Driver, Input};
use std::time::{Duration, Instant};

/// How long the hand-over of the frozen attempts may take before this engine goes
/// anyway (a freeze is a signal; an anchor joins its group within milliseconds).
const HANDOVER_WAIT: Duration = Duration::from_secs(5);

/// How the engine is asked to stop (`Driver::run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stop {
    /// The exit code of the signal that stopped it, if one did.
    pub signal: Option<i32>,
    /// Hand the run to the next engine with its running steps alive instead of
    /// stopping them (`Input::Detach`).
    pub detach: bool,
    /// Cancel the run instead of interrupting it: a child run whose parent was
    /// cancelled (`session::child`), stopped by the parent's kill of its step.
    pub cancel: bool,
}

impl From<Option<i32>> for Stop {
    fn from(signal: Option<i32>) -> Stop {
        Stop {
            signal,
            detach: false,
            cancel: false,
        }
    }
}

impl Driver {
    /// Let each frozen local attempt go to the next engine alive, and wait (bounded)
    /// until each one is handed over.
    pub(super) async fn hand_over_live(&mut self) {
        let handed: Vec<_> = self
            .live
            .values()
            .filter(|l| l.frozen == Some(true))
            .filter_map(|l| l.kill.clone())
            .filter(|k| k.hand_over())
            .collect();
        let deadline = Instant::now() + HANDOVER_WAIT;
        while !handed.iter().all(|k| k.handed_over()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What the core hears of a stop: an interrupt, a hand-over, or a child run's cancel.
/// Public for the simulator (crates/sim), which plays a child's engine stopped by its
/// parent's cancel.
pub fn stop_input(stop: &Stop, operator: &str) -> Input {
    if stop.cancel {
        // The parent's cancel, recorded under the run's starter, who started the parent.
        return Input::Command {
            id: None,
            command: baton_model::Command::Cancel {
                operator: operator.to_string(),
                reason: Some("its parent run was cancelled".into()),
            },
        };
    }
    match (stop.signal, stop.detach) {
        (Some(code), true) => Input::Detach {
            reason: format!("signal (exit {code}): handed to a background engine"),
        },
        (None, true) => Input::Detach {
            reason: "detached: handed to a background engine".into(),
        },
        (Some(code), false) => Input::Shutdown {
            reason: format!("signal (exit {code})"),
        },
        (None, false) => Input::Shutdown {
            reason: "operator quit".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Driver, Msg, Sinks};
    use super::Stop;
    use baton_core::{Core, RunConfig};
    use baton_model::{EventKind, RunState, StepState, Timestamp};
    use tokio::sync::mpsc;

    fn driver(store: baton_store::Store, core: Core) -> Driver {
        Driver::new(core, store, "r1".into(), "tester".into(), Sinks::default())
    }

    /// A stop (SIGTERM) that comes while a step's exit already waits in the inbox is
    /// decided after that exit: the step is recorded succeeded, not interrupted, and
    /// the run resumed does not run it again (`wake::brought`).
    #[test]
    fn an_exit_already_in_is_decided_before_the_stop_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let (counter, go) = (dir.path().join("counter"), dir.path().join("go"));
        let toml = format!(
            "name = \"t\"\n[[step]]\nid = \"a\"\nrun = \"echo a >> {}\"\n\
             [[step]]\nid = \"b\"\nrun = \"[ -e {} ] || sleep 60\"\n",
            counter.display(),
            go.display()
        );
        let (store, plan) = crate::held_run::held_run(dir.path(), &toml);
        let cfg = RunConfig {
            run_id: "r1".into(),
            operator: "tester".into(),
            store: Some(store.path().to_path_buf()),
            ..RunConfig::default()
        };
        let mut core = Core::new(plan.clone(), cfg.clone());
        let initial = core.start(Timestamp::now());
        let mut first = driver(store, core);
        // The steps' news passes through this relay: `a`'s exit is put in the inbox in
        // the same poll that hands in the stop, so the loop's select takes the stop
        // with the exit already waiting.
        let (relay, inbox) = mpsc::unbounded_channel();
        let mut from_steps = std::mem::replace(&mut first.inbox_rx, inbox);
        let shutdown = async move {
            while let Some(msg) = from_steps.recv().await {
                let a_ended = matches!(&msg, Msg::Exited { key: (0, _), .. });
                let _ = relay.send(msg);
                if a_ended {
                    break;
                }
            }
            tokio::spawn(async move {
                while let Some(msg) = from_steps.recv().await {
                    let _ = relay.send(msg);
                }
            });
            Stop::from(Some(143))
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(first.run(initial, shutdown)).unwrap();
        assert_eq!(out.state, RunState::Interrupted, "b was running");
        let mut store = baton_store::Store::open(&dir.path().join("b.db")).unwrap();
        let events = store.events("r1").unwrap();
        let ended = |step: &str| {
            (events.iter()).find_map(|e| match &e.kind {
                EventKind::StepStateChanged { step: s, state, .. }
                    if s == step && (state.is_final() || *state == StepState::Interrupted) =>
                {
                    Some(*state)
                }
                _ => None,
            })
        };
        assert_eq!(ended("a"), Some(StepState::Succeeded), "{events:#?}");
        // Resumed: `b` runs again to its end; `a`, which finished, does not.
        std::fs::write(&go, "").unwrap();
        (store.acquire_lease("r1", "tester", Timestamp::now(), baton_model::LEASE_STALE)).unwrap();
        let mut core = Core::replay(plan, cfg, &events).unwrap();
        let initial = core.resume("tester", Timestamp::now());
        let out = rt
            .block_on(driver(store, core).run(initial, std::future::pending()))
            .unwrap();
        assert_eq!(out.state, RunState::Succeeded);
        assert_eq!(std::fs::read_to_string(&counter).unwrap(), "a\n");
    }
}
