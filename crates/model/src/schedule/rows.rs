//! A schedule as the store keeps it and readers show it (`baton schedules`, the
//! console's Schedules tab): plain rows, so a front end reads them without the store.
use crate::RunState;
use crate::Timestamp;

/// A schedule as served (what `baton schedules` lists).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduleRow {
    pub file: String,
    pub index: u32,
    pub workflow: String,
    pub cron: String,
    pub timezone: String,
    pub catch_up: String,
    pub overlap: String,
    pub since: Timestamp,
    pub paused: Option<Paused>,
    /// The latest slot recorded, its fate and run.
    pub last: Option<SlotRow>,
    /// The latest slot that made a run, and that run as readers show it now.
    pub last_run: Option<LastRun>,
}

/// A schedule's latest run: its slot, its id and its state read through its lease (a
/// run whose engine is gone reads `interrupted`, as in `baton runs`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastRun {
    pub slot_at: Timestamp,
    pub run_id: String,
    pub state: RunState,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Paused {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlotRow {
    pub slot_at: Timestamp,
    pub fate: String,
}
