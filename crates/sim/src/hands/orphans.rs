//! A child engine that dies in `--mix hands`: the parent's `deploy` (a child-run step,
//! its environment the parent's core decided) is run by the real local executor
//! (`baton_exec::spawn`), its process standing in for `baton run --parent`: it names
//! its child in `$BATON_OUTPUT`, starts the child's steps in process groups of their
//! own (their `BATON_RUN_ID` the child's), and is killed (`kill -9`). What stops them
//! is the executor's own (`child_leftovers`: found in `/proc` by the child's id), so
//! these are real processes. The parent's step end is decided by its core when the
//! executor gives it: the moment its run lets go of its group, its pool slots and its
//! lease. Checked: no step of the child runs then.
use super::Hands;
use crate::{Bug, SimError};
use baton_core::{Input, StepExit};
use baton_model::mask::Masker;
use rand::Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// The stand-in for the child's engine: its id first in `$BATON_OUTPUT` (as
/// `baton run --parent` writes it), its steps each a group of its own that runs until
/// stopped (their output their own logs', here nowhere), and its own death once they
/// all run.
pub(super) const ENGINE: &str = r#"printf 'child_run=%s\n' "$SIM_KID" >> "$BATON_OUTPUT"
i=0
while [ "$i" -lt "$SIM_STEPS" ]; do
  BATON_RUN_ID=$SIM_KID setsid sh -c 'echo "$$" > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep 300' sh "$SIM_DIR/step-$i.pid" </dev/null >/dev/null 2>&1 &
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$SIM_STEPS" ]; do
  if [ -s "$SIM_DIR/step-$i.pid" ]; then i=$((i + 1)); else sleep 0.01; fi
done
kill -9 $$
"#;

#[derive(Default)]
pub(crate) struct Orphans {
    /// Each parent whose child engine died: (parent, child, the child's step
    /// processes still running when the parent's step end was decided).
    pub(crate) ends: Vec<(String, String, Vec<i32>)>,
    made: u32,
}

impl Hands {
    /// A parent run whose child engine is killed with one to three of its child's
    /// steps running; the parent's step ended as the executor and its core decide.
    pub(super) fn orphan_hand(&mut self) -> Result<(), SimError> {
        let n = self.orphans.made;
        self.orphans.made += 1;
        let parent_id = format!("o{n:03}");
        // The child's id, which the executor seeks in `/proc`: the scenario's own, so a
        // scenario of another thread is never taken for it (the history says k000…).
        let scenario = scenario_tag(&self.dir);
        let kid = format!("k{n:03}-{scenario}");
        let dir = self.dir.join("orphans").join(&parent_id);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let engine = dir.join("engine.sh");
        std::fs::write(&engine, ENGINE).map_err(|e| io(&engine, e))?;
        let token = format!("tok{:016x}", self.rng.random::<u64>());
        self.secrets.push(token.clone());
        let params = BTreeMap::from([("token".to_string(), token.clone())]);
        let plan = self.children.parent_plan();
        let (mut parent, spawns) = self.start(&parent_id, &plan, params, vec![token], None)?;
        let Some(step) = spawns
            .into_iter()
            .find(|s| s.step_id == super::children::STEP)
        else {
            return Err(SimError::Workflow(
                "the parent's child-run step did not start".into(),
            ));
        };
        let steps = self.rng.random_range(1..4);
        let mut env = step.env.clone();
        if self.config.bug == Some(Bug::KilledChildFreesGroup) {
            // The step not known for a child-run step: its child's leftovers not sought.
            env.retain(|(k, _)| k != "BATON_CHILD_WORKFLOW");
        }
        env.extend([
            ("SIM_KID".to_string(), kid.clone()),
            ("SIM_STEPS".to_string(), steps.to_string()),
            ("SIM_DIR".to_string(), dir.display().to_string()),
        ]);
        let job = baton_exec::ShellJob {
            run_id: parent_id.clone(),
            step_id: step.step_id.clone(),
            attempt: step.attempt,
            command: format!("sh {}", engine.display()),
            dir: step.dir.clone(),
            env,
            local_env: step.local_env.clone(),
            withheld: plan.0.withheld_of(step.step),
            log_dir: dir.join("logs"),
            masker: Masker::new(parent.masked_values().to_vec()),
            files_dir: None,
            start_here: true,
        };
        let rt = baton_session::runtime()?;
        let done = rt
            .block_on(async {
                Ok::<_, baton_exec::ExecError>(baton_exec::spawn(job).await?.wait().await)
            })
            .map_err(|e| io(&dir, std::io::Error::other(e.to_string())))?;
        // The moment the executor gives the step's end: what of the child still runs.
        let running = running_steps(&dir, steps);
        self.history.push(format!(
            "  {parent_id}/deploy: child engine of k{n:03} killed with {steps} step(s) running; {} still ran at the step's end",
            running.len()
        ));
        self.orphans
            .ends
            .push((parent_id.clone(), format!("k{n:03}"), running.clone()));
        kill_groups(&running);
        let exit = StepExit {
            step: step.step,
            attempt: step.attempt,
            outcome: done.outcome,
            duration_ms: 100,
            outputs: done.outputs,
            usage: done.usage,
            stderr_tail: done.stderr_tail,
        };
        self.feed(&parent_id, &mut parent, Input::StepExited(exit))
    }
}

/// The scenario's own tag for the run ids a hand's processes carry, so a scenario of
/// another thread is never taken for it.
pub(super) fn scenario_tag(dir: &Path) -> String {
    (dir.file_name().unwrap_or_default().to_string_lossy())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect()
}

/// The process groups `pgids` killed (what a hand's check found still running).
pub(super) fn kill_groups(pgids: &[i32]) {
    for &pgid in pgids {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The child's step groups (each its leader's pid, `setsid`) that still run.
pub(super) fn running_steps(dir: &Path, steps: u32) -> Vec<i32> {
    (0..steps)
        .filter_map(|i| {
            let text = std::fs::read_to_string(dir.join(format!("step-{i}.pid"))).ok()?;
            text.trim().parse::<i32>().ok()
        })
        .filter(|&pgid| pgid > 1 && baton_exec::group::group_alive(pgid))
        .collect()
}

pub(super) fn io(path: &Path, error: std::io::Error) -> SimError {
    SimError::Io {
        path: path.to_path_buf(),
        error,
    }
}
