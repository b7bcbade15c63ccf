//! Decisions recorded in the store while the console is open, as the console reads
//! them (`session::news` reads them from the store).
use baton_model::{AuditAction, Timestamp};

/// One audit row, as the console reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct News {
    /// The audit row's id: rows are news once, in this order.
    pub id: i64,
    /// The run, or `schedules` for a schedule's pause, resume or trigger.
    pub run_id: String,
    pub at: Timestamp,
    pub actor: String,
    pub action: AuditAction,
    pub step: Option<String>,
    pub reason: Option<String>,
    /// The row's details (JSON text): a schedule's name, a raise's amounts.
    pub details: String,
    /// Whether `actor` is the account of the session that read the row: over a link,
    /// the host's account the link runs as, which the console cannot know from here
    /// (a console of `root` deciding through `askann`'s link is recorded as `askann`).
    #[serde(default)]
    pub by_viewer: bool,
}

impl News {
    /// What a row names beyond its step: a schedule's pause or resume its schedules,
    /// a trigger its workflow, a raise its amounts (`cost +5`).
    pub fn subject(&self) -> String {
        let details: serde_json::Value = serde_json::from_str(&self.details).unwrap_or_default();
        match self.action {
            AuditAction::SchedulePaused | AuditAction::ScheduleResumed => details["schedules"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            AuditAction::ScheduleTriggered => {
                details["workflow"].as_str().unwrap_or("").to_string()
            }
            AuditAction::BudgetRaised => ["cost", "calls", "tokens"]
                .iter()
                .filter_map(|d| {
                    let v = &details[d];
                    (!v.is_null()).then(|| format!("{d} +{v}"))
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    }
}
