//! The schedules `baton serve` serves, as listed: one listing (`Board`, each row's
//! columns `Listed::cells`) for `baton schedules` and the console's Schedules tab,
//! and the decisions both make on one (`Act`). `session::schedules` reads the board
//! from the store and records the decisions.
use baton_model::Timestamp;
use baton_model::schedule::ScheduleRow;

/// What the listing shows: every schedule served, and the workflow files that do not
/// load and serve no schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Board {
    pub rows: Vec<Listed>,
    /// `(file, error)` of a file that does not load and has no schedule served (it never
    /// loaded, or its last good version has none): its error has no schedule's row.
    pub broken: Vec<(String, String)>,
}

/// One schedule as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    /// `WORKFLOW#N`.
    pub name: String,
    pub row: ScheduleRow,
    /// Its next slot (`model::schedule::next_slot`).
    pub next: Option<Timestamp>,
    /// Its file no longer loads (`FILE:LINE:COL: error: …`): the version it was loaded
    /// from keeps serving until the file loads again.
    pub error: Option<String>,
    /// Its row says paused, but the audit chain holds no such decision with a proof by
    /// the account the row names: why (a serve that proved the schedule's last decision
    /// refuses it and goes by that; one with no record of the schedule holds it paused,
    /// failing safe, until a proved resume).
    pub unproven: Option<String>,
    /// Its row says not paused, but the audit chain's latest decision on it is a pause
    /// (`row.paused` then holds that pause): the row was cleared without a decision, and
    /// every serve holds the pause until a proved resume.
    pub cleared: bool,
}

/// The listing's column titles, in the order of [`Listed::cells`].
pub const COLUMNS: [&str; 5] = ["SCHEDULE", "CRON", "NEXT", "LAST RUN", "PAUSED"];

impl Listed {
    /// The row's columns as shown, sanitised for a terminal: the schedule, its cron and
    /// zone, its next slot on the wall clock in `offset` and relative to `now`, its last
    /// run with the run's state, paused (by whom, why) or `no`.
    pub fn cells(&self, now: Timestamp, offset: chrono::FixedOffset) -> [String; 5] {
        let clean = baton_model::sanitize::for_terminal;
        // A pause holds every slot: no next time (issue 58 point 4). A row's pause
        // that is unproven may not hold: its next slot is still shown.
        let held = self.row.paused.is_some() && self.unproven.is_none();
        let next = match self.next {
            _ if held => "- (paused)".into(),
            Some(t) => format!(
                "{} (in {})",
                t.wall(now, offset),
                // Whole seconds, rounded up: slots are whole seconds.
                baton_model::time::human_duration(std::time::Duration::from_secs(
                    t.since(now).as_millis().div_ceil(1000) as u64
                ))
            ),
            None => "-".into(),
        };
        let last = match &self.row.last_run {
            Some(l) => format!("{} {}", &l.run_id[..l.run_id.len().min(10)], l.state),
            None => "-".into(),
        };
        let paused = match &self.row.paused {
            Some(p) => match &self.unproven {
                None if self.cleared => format!(
                    "paused by {}: {} (its row was cleared without a decision; the audit chain's pause holds until a proved resume)",
                    p.by, p.reason
                ),
                None => format!("paused by {}: {}", p.by, p.reason),
                Some(why) => format!(
                    "unproven: the row says paused by {} ({}), but {why}; the serve goes by the decision it proved last (with no record of the schedule, it holds the pause)",
                    p.by, p.reason
                ),
            },
            None => "no".into(),
        };
        [
            clean(&self.name),
            format!("{} {}", clean(&self.row.cron), self.row.timezone),
            next,
            clean(&last),
            clean(&paused),
        ]
    }

    /// The row for `baton schedules --json`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "workflow": self.row.workflow,
            "schedule": self.name,
            "index": self.row.index,
            "file": self.row.file,
            "cron": self.row.cron,
            "timezone": self.row.timezone,
            "catch_up": self.row.catch_up,
            "overlap": self.row.overlap,
            "next": self.next.map(Timestamp::to_rfc3339),
            "paused": self.row.paused.as_ref().map(|p| serde_json::json!({
                "by": p.by, "reason": p.reason, "at": p.at.to_rfc3339(),
                "unproven": self.unproven,
                "row_cleared": self.cleared,
            })),
            "last_run": self.row.last_run.as_ref().map(|l| serde_json::json!({
                "id": l.run_id, "state": l.state.as_str(), "slot": l.slot_at.to_rfc3339(),
            })),
            "error": self.error,
        })
    }
}

/// An operator's decision on a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Act {
    Pause,
    Resume,
    /// A run of the workflow now, started by the serve.
    Trigger,
}

impl Act {
    pub fn verb(self) -> &'static str {
        match self {
            Act::Pause => "pause",
            Act::Resume => "resume",
            Act::Trigger => "trigger",
        }
    }
}
