//! Artifacts in `--mix hands`: `train` keeps `model`, `evaluate` is handed it. The core
//! decides where the reader finds its copy (`Core::locate_stage`: on a group store, a
//! directory of the engine's account alone, as `store::account_stage` answers; the
//! simulator gives a directory of the scenario's, never the machine's state
//! directory); the simulated driver writes the checked copy there, a member of the
//! group may then rename the store's `artifacts/` whole and plant other bytes where the
//! store's own stage would be, and the reader opens the path it was handed.
use super::Hands;
use crate::{Bug, SimError};
use baton_core::{Core, Effect, Input, RunConfig};
use baton_model::{ArtifactRecord, StepOutcome, Usage};
use baton_store::NewRun;
use rand::Rng;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MODEL: &str = r#"name = "model"

[[step]]
id = "train"
run = "train --out out/"
idempotent = false
artifacts = { model = "out/model.ckpt" }

[[step]]
id = "evaluate"
needs = ["train"]
env = { MODEL = "${{ steps.train.artifacts.model }}" }
run = 'eval --model "$MODEL"'
"#;

pub(crate) struct Artifacts {
    plan: (Arc<baton_workflow::Plan>, PathBuf),
    /// What each reader opened: (run, the digest it was handed, the digest of what it
    /// read).
    pub(crate) reads: Vec<(String, String, String)>,
    /// The runs whose `train` was lost with its engine after it made its file, then
    /// marked succeeded by a person: each one's reader must be handed the file.
    pub(crate) marked: Vec<String>,
    made: u32,
}

impl Artifacts {
    pub(crate) fn new(dir: &Path) -> Result<Artifacts, SimError> {
        let path = dir.join("model.toml");
        std::fs::write(&path, MODEL).map_err(|e| io(&path, e))?;
        let plan = baton_workflow::load_str(MODEL, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        Ok(Artifacts {
            plan: (Arc::new(plan), path),
            reads: Vec::new(),
            marked: Vec::new(),
            made: 0,
        })
    }
}

fn io(path: &Path, error: std::io::Error) -> SimError {
    SimError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

impl Hands {
    /// A run of `model`: `train` keeps its file, `evaluate` is handed a checked copy
    /// at the path the core gives it, a member may race the store's directory, and
    /// the reader opens that path.
    pub(super) fn artifact_hand(&mut self) -> Result<(), SimError> {
        let n = self.artifacts.made;
        self.artifacts.made += 1;
        let run = format!("m{n:03}");
        let (plan, path) = self.artifacts.plan.clone();
        let cfg = RunConfig {
            run_id: run.clone(),
            operator: "sim".into(),
            seed: self.config.seed,
            store: Some(self.db.clone()),
            ..RunConfig::default()
        };
        let mut core = Core::new(plan.clone(), cfg);
        if self.config.bug != Some(Bug::SharedStage) {
            core.locate_stage(self.dir.join("state-me").join("stage").join("k"));
        }
        let (events, rest) = crate::world::runs::split(core.start(self.now));
        let new_run = NewRun {
            id: run.clone(),
            workflow: plan.name.clone(),
            source_path: path.clone(),
            source_text: MODEL.into(),
            params_json: "{}".into(),
            operator: "sim".into(),
            started_at: self.now,
            parent: None,
            steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
        };
        self.store.create_started_run(
            &new_run,
            "pid 300 on sim-hands",
            &events,
            &core.state_summary(),
        )?;
        let bytes = format!("MODEL {run} {:08x}", self.rng.random::<u32>()).into_bytes();
        // One time in four `train` is lost with its engine (kill -9) once it made its
        // file: not idempotent, it waits for a person, who marks it succeeded.
        let lost = self.rng.random_bool(0.25);
        self.drive(&run, &mut core, rest, (&bytes, lost, false))?;
        if lost {
            let mark = baton_model::Command::Mark {
                step: "train".into(),
                state: baton_model::StepState::Succeeded,
                operator: "sim".into(),
                reason: "op: the model was made before the crash".into(),
                outputs: Default::default(),
                artifacts: Vec::new(),
            };
            self.history
                .push(format!("  {run}/train lost, marked succeeded"));
            self.artifacts.marked.push(run.clone());
            let (events, rest) = crate::world::runs::split(core.handle(
                Input::Command {
                    id: None,
                    command: mark,
                },
                self.now,
            ));
            self.store.commit(&run, &events)?;
            self.drive(&run, &mut core, rest, (&bytes, false, true))?;
        }
        Ok(())
    }

    /// Each effect acted on as a driver does (`how`: the file's bytes, whether `train`
    /// is lost, whether a mark asked what comes), and what the core decides in answer,
    /// until nothing more comes (the reader handed its copy, or held).
    fn drive(
        &mut self,
        run: &str,
        core: &mut Core,
        mut fx: Vec<Effect>,
        how: (&[u8], bool, bool),
    ) -> Result<(), SimError> {
        for _ in 0..8 {
            let mut next = Vec::new();
            for e in fx {
                next.extend(self.act(run, core, e, how)?);
            }
            if next.is_empty() {
                break;
            }
            fx = next;
        }
        Ok(())
    }

    /// One effect of the model run acted on; what the core decided in answer.
    fn act(
        &mut self,
        run: &str,
        core: &mut Core,
        e: Effect,
        (bytes, lost, marked): (&[u8], bool, bool),
    ) -> Result<Vec<Effect>, SimError> {
        let outcome = match lost {
            true => StepOutcome::Lost {
                reason: "its engine was killed (kill -9)".into(),
            },
            false => StepOutcome::Exited { exit_code: 0 },
        };
        let input = match e {
            // What the mark asks to collect is not collected (the bug).
            Effect::Collect(_) if marked && self.config.bug == Some(Bug::MarkLosesArtifacts) => {
                return Ok(Vec::new());
            }
            Effect::Spawn(s) if s.step_id == "train" => Input::StepExited(baton_core::StepExit {
                step: s.step,
                attempt: s.attempt,
                outcome,
                duration_ms: 800,
                outputs: Vec::new(),
                usage: Usage::default(),
                stderr_tail: String::new(),
            }),
            Effect::Collect(req) => Input::ArtifactsCollected {
                step: req.step,
                attempt: req.attempt,
                result: Ok(vec![ArtifactRecord {
                    name: "model".into(),
                    path: "out/model.ckpt".into(),
                    sha256: sha(bytes),
                    size: bytes.len() as u64,
                }]),
            },
            Effect::Spawn(s) => {
                for h in &s.artifacts {
                    self.hand_and_read(run, h, bytes)?;
                }
                return Ok(Vec::new());
            }
            _ => return Ok(Vec::new()),
        };
        let (events, rest) = crate::world::runs::split(core.handle(input, self.now));
        self.store.commit(run, &events)?;
        self.children.events += events.len() as u64;
        Ok(rest)
    }

    /// The driver writes the checked copy at `h.dest`; a member may race the store's
    /// directory; the reader opens `h.dest`.
    fn hand_and_read(
        &mut self,
        run: &str,
        h: &baton_core::Handed,
        bytes: &[u8],
    ) -> Result<(), SimError> {
        let dest = &h.dest;
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
        }
        std::fs::write(dest, bytes).map_err(|e| io(dest, e))?;
        let checked = sha(bytes);
        if checked != h.sha256 {
            return Err(SimError::Workflow(format!(
                "{run}: the copy's digest is not the record's"
            )));
        }
        if self.rng.random_bool(0.5) {
            self.member_swaps(run, h)?;
        }
        let read = std::fs::read(dest).map_err(|e| io(dest, e))?;
        let got = sha(&read);
        self.history.push(format!(
            "  {run}/evaluate handed {} at {}, read {}",
            &h.sha256[..12],
            self.shown(dest),
            &got[..12]
        ));
        self.artifacts
            .reads
            .push((run.into(), h.sha256.clone(), got));
        Ok(())
    }

    /// A member renames the store's `artifacts/` away whole and plants its own bytes
    /// where the store's stage keeps `run`'s copy: what any member of the group can do
    /// in the store's directory, which the group writes.
    fn member_swaps(&mut self, run: &str, h: &baton_core::Handed) -> Result<(), SimError> {
        let artifacts = baton_model::artifact_paths::artifacts_dir(&self.db);
        if artifacts.exists() {
            let away = artifacts.with_file_name(format!("artifacts.away.{run}"));
            std::fs::rename(&artifacts, &away).map_err(|e| io(&artifacts, e))?;
        }
        let file = h.dest.file_name().unwrap_or_default();
        let sha = h
            .dest
            .parent()
            .and_then(Path::file_name)
            .unwrap_or_default();
        let planted = baton_model::artifact_paths::stage_dir(&self.db, run)
            .join(sha)
            .join(file);
        if let Some(d) = planted.parent() {
            std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
        }
        std::fs::write(&planted, b"EVIL MODEL").map_err(|e| io(&planted, e))?;
        self.history
            .push(format!("  a member planted {}", self.shown(&planted)));
        Ok(())
    }
}
