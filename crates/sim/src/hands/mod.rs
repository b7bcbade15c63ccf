//! `--mix hands` (issue 77 points 2 and 3): the newest hands on a run, played from one
//! seed against a real group store with the real core of every run. What the engine
//! decides of each hand is baton's own code (the core's child-run step and its
//! environment, the store's proof of a child link, the core's masking, the core's
//! choice of the path a reader is handed); what a process would do (the child's
//! engine reading its environment, a step writing its log, a member renaming a
//! directory) is played by the simulator. After every action the hands' promises are
//! checked ([`invariants`]). What is left to real-process tests: docs/simulator-hands.md.
mod artifacts;
mod bursts;
mod child_outputs;
mod children;
mod imports;
pub(crate) mod invariants;
mod links;
mod orphans;
mod pair_cancel;
mod pair_end;
mod pair_retry;
mod pairs;
mod passkeys;
mod retries;
mod triggers;

use crate::history::History;
use crate::{Config, Outcome, SimError, Violation};
use baton_model::Timestamp;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

/// The seed's stream of the hands (its own, so the other mixes draw what they drew).
const STREAM: u64 = 0x4a2d_5e11_0000_0000;

/// One scenario of `--mix hands`.
pub(crate) struct Hands {
    pub(crate) config: Config,
    pub(crate) rng: SmallRng,
    pub(crate) store: baton_store::Store,
    pub(crate) db: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) history: History,
    pub(crate) now: Timestamp,
    pub(crate) children: children::Children,
    pub(crate) child_outputs: child_outputs::ChildOutputs,
    pub(crate) artifacts: artifacts::Artifacts,
    pub(crate) imports: imports::Imports,
    pub(crate) orphans: orphans::Orphans,
    pub(crate) links: links::Links,
    pub(crate) triggers: triggers::Triggers,
    pub(crate) passkeys: passkeys::Passkeys,
    pub(crate) retries: retries::Retries,
    pub(crate) pairs: pairs::Pairs,
    pub(crate) pair_cancels: pair_cancel::PairCancels,
    pub(crate) pair_retries: pair_retry::PairRetries,
    pub(crate) pair_ends: pair_end::PairEnds,
    /// Every secret value a run of the scenario was given: none may leave the steps
    /// that name it (`invariants::no_secret_leaves_its_steps`).
    pub(crate) secrets: Vec<String>,
    /// The step logs the simulated drivers wrote, as they wrote them (masked by the
    /// core's masker, as the driver masks a step's output).
    pub(crate) logs: Vec<String>,
    pub(crate) steps: u64,
    actions_run: usize,
    violation: Option<Violation>,
    // Last: the directory outlives the store's connection.
    _tmp: tempfile::TempDir,
}

impl Hands {
    fn new(config: Config) -> Result<Hands, SimError> {
        let tmp = crate::world::scenario_dir()?;
        let dir = tmp.path().to_path_buf();
        let db = dir.join("store").join("baton.db");
        std::fs::create_dir_all(db.parent().unwrap_or(&dir)).map_err(|e| SimError::Io {
            path: dir.clone(),
            error: e,
        })?;
        let store = baton_store::Store::init_group(&db, &own_group()?)?;
        // This account's secret, from the scenario's directory (never the machine's).
        let key = baton_store::starter_seal::AccountKey::load_or_create(&dir.join("state-me"))?;
        if !store.use_account_key(key) {
            return Err(SimError::Accounts(
                "the hands' store read its account's secret before the simulator gave it one"
                    .into(),
            ));
        }
        let start = Timestamp(crate::world::T0);
        crate::faults::clock(Some(start));
        Ok(Hands {
            config,
            rng: SmallRng::seed_from_u64(config.seed ^ STREAM),
            children: children::Children::new(&dir)?,
            child_outputs: child_outputs::ChildOutputs::default(),
            artifacts: artifacts::Artifacts::new(&dir)?,
            imports: imports::Imports::new(),
            orphans: orphans::Orphans::default(),
            links: links::Links::new(&dir, config.seed)?,
            triggers: triggers::Triggers::new(&dir, config.seed)?,
            passkeys: passkeys::Passkeys::new(&dir, config.seed)?,
            retries: retries::Retries::default(),
            pairs: pairs::Pairs::new(&dir, config.seed)?,
            pair_cancels: pair_cancel::PairCancels::new(config.seed),
            pair_retries: pair_retry::PairRetries::new(config.seed),
            pair_ends: pair_end::PairEnds::new(config.seed),
            store,
            db,
            history: History::new(&dir),
            dir,
            now: start,
            secrets: Vec::new(),
            logs: Vec::new(),
            steps: 0,
            actions_run: 0,
            violation: None,
            _tmp: tmp,
        })
    }

    fn play(&mut self) -> Result<(), SimError> {
        for action in 1..=self.config.actions {
            self.actions_run = action;
            self.now = Timestamp(self.now.0 + self.rng.random_range(0..2_500));
            crate::faults::clock(Some(self.now));
            self.history.push(format!("action {action}"));
            match self.rng.random_range(0..100) {
                0..32 => self.child_pair()?,
                32..54 => self.forge_link()?,
                54..77 => self.artifact_hand()?,
                77..86 => self.trigger_hand()?,
                86..93 => self.passkey_hand()?,
                // Real processes (the carry is shell, the stop reads `/proc`): fewer.
                93..97 => self.import_hand()?,
                _ => self.orphan_hand()?,
            }
            // Link requests, from a stream of their own (the draws above unchanged).
            if self.links.plays() {
                self.link_hand()?;
            }
            // Retry rules, from a stream of their own (the draws above unchanged).
            if self.retries.plays(self.config.seed) {
                self.retry_hand()?;
            }
            // A parent and its child engine killed together, from a stream of their own.
            if self.pairs.plays() {
                self.killed_pair_hand()?;
            }
            // A parent's cancel across its child, from a stream of its own.
            if self.pair_cancels.plays() {
                self.pair_cancel_hand()?;
            }
            // A child-run step retried across its child, from a stream of its own.
            if self.pair_retries.plays() {
                self.pair_retry_hand()?;
            }
            // A parent's step ended while its child's engine lives, from a stream of its own.
            if self.pair_ends.plays() {
                self.pair_end_hand()?;
            }
            self.steps += 1;
            if let Some(v) = invariants::check(self, action)? {
                self.history.push(format!(
                    "broke `{}` after action {action}: {}",
                    v.invariant, v.detail
                ));
                self.violation = Some(v);
                break;
            }
        }
        Ok(())
    }

    fn outcome(&self) -> Outcome {
        Outcome {
            config: self.config,
            digest: self.history.digest(),
            actions: self.actions_run,
            steps: self.steps,
            events: self.children.events,
            history: self.history.lines().to_vec(),
            violation: self.violation.clone(),
            workflows: Vec::new(),
        }
    }

    /// A path in the scenario's directory as the history writes it.
    pub(crate) fn shown(&self, p: &Path) -> String {
        p.display()
            .to_string()
            .replace(&self.dir.display().to_string(), "$DIR")
    }
}

/// This process's own group: the group store's (a member of it without root).
fn own_group() -> Result<String, SimError> {
    let gid = nix::unistd::getgid();
    match nix::unistd::Group::from_gid(gid) {
        Ok(Some(g)) => Ok(g.name),
        _ => Err(SimError::Accounts(format!(
            "--mix hands makes a group store of this process's group, and gid {gid} has no name"
        ))),
    }
}

/// Run one scenario of `--mix hands`.
pub(crate) fn run(config: Config) -> Result<Outcome, SimError> {
    let mut hands = Hands::new(config)?;
    let result = hands.play();
    crate::faults::clock(None);
    result?;
    let mut outcome = hands.outcome();
    outcome.workflows = crate::workflows::written(&hands.dir)?;
    Ok(outcome)
}
