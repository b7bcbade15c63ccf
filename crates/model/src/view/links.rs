//! A run's links to other runs: the fork it came from or made, the parent that made
//! it, and the trigger events on either end.
use serde::{Deserialize, Serialize};

/// One end of a fork's link: the other run, and the step the fork runs again from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkLink {
    pub run: String,
    pub step: String,
}

/// A child run's link to its parent (`workflow = "…"` on a step of the parent): the
/// parent run, the step and the step's attempt that made the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub run: String,
    pub step: String,
    pub attempt: u32,
}

/// Both ends of a run's trigger links (`[[trigger]]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerLinks {
    /// The event that started this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<TriggerLink>,
    /// The events this run's end was, each with the run it started (or why none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub started: Vec<TriggerLink>,
}

impl TriggerLinks {
    pub fn is_empty(&self) -> bool {
        self.started_by.is_none() && self.started.is_empty()
    }
}

/// One event a trigger decided: which trigger (`WORKFLOW#N` or `WORKFLOW#NAME`), what
/// the event was (`run R of build succeeded`, `file /in/a.csv`, `delivery D`), and the
/// run it made (`fate`: `started`, `queued`, `skipped`, `superseding`) or why none
/// (`refused`, `why`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerLink {
    pub trigger: String,
    pub kind: String,
    pub event: String,
    pub fate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Every event a coalesced run took (`coalesce = true`), oldest first, each as
    /// `event` says one (`event` is the first); empty for a run of one event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}
