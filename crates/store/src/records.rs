//! The records the rooms pass between them: a new run as `create_run` writes it, a run
//! as recorded, an attempt's log. Plain data, below every room.
use baton_model::Timestamp;
use std::path::PathBuf;

/// Bytes of an attempt's output tail kept in the database.
pub const LOG_TAIL_MAX: usize = 8 * 1024;

/// What `create_run` records about a new run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub id: String,
    pub workflow: String,
    pub source_path: PathBuf,
    /// The workflow file as it was when the run started (resume re-plans from it).
    pub source_text: String,
    /// Param values as JSON, secrets already masked.
    pub params_json: String,
    pub operator: String,
    pub started_at: Timestamp,
    /// Every step id in plan order: they are listed (pending) from the start, so
    /// `show` and `runs` count the whole run, not just the steps that moved.
    pub steps: Vec<String>,
    /// The run and step whose child this run is (`workflow = "…"`): written with the
    /// run, in its creation's transaction (`read::children`).
    pub parent: Option<baton_model::view::ParentLink>,
}

#[cfg(test)]
impl NewRun {
    /// A run of a one-line workflow `w` by `ana`, no steps: what a store test needs.
    pub(crate) fn bare(id: &str) -> NewRun {
        NewRun {
            id: id.into(),
            workflow: "w".into(),
            source_path: "/w.toml".into(),
            source_text: "name = \"w\"\n".into(),
            params_json: "{}".into(),
            operator: "ana".into(),
            started_at: Timestamp(1),
            steps: Vec::new(),
            parent: None,
        }
    }
}

/// A run as recorded, with what resume needs to re-plan it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRecord {
    pub id: String,
    pub workflow: String,
    pub source_path: PathBuf,
    pub source_text: String,
    pub params_json: String,
    pub operator: String,
    /// As readers show it: the recorded state, or `Interrupted` when the run's engine
    /// is gone (see [`baton_model::liveness::liveness`]).
    pub state: baton_model::RunState,
    /// The live engine driving the run (its lease holder), if any.
    pub driven_by: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// The last event's sequence number (the next event is `last_seq + 1`).
    pub last_seq: u64,
}

impl RunRecord {
    pub fn liveness(&self) -> baton_model::liveness::Liveness {
        baton_model::liveness::Liveness {
            state: self.state,
            driven_by: self.driven_by.clone(),
        }
    }
}

/// Where an attempt's output went and its last lines, for [`Store::commit_with_logs`].
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    pub step_id: String,
    pub attempt: u32,
    pub path: PathBuf,
    pub tail: String,
}
