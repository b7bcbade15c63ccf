//! Decisions recorded in the store while the console is open (issue 45 point 5): every
//! run's and the schedules', read after the last audit row seen whenever the store
//! changes. The console tells its own from others' (`console::app::notices`).
use baton_model::{AuditAction, same_actor};
use baton_store::Store;
use std::sync::Arc;
use tokio::sync::watch;

/// How many rows the feed keeps (the console keeps its own list of notices).
const KEEP: usize = 200;
/// How many rows one look reads at most.
const PAGE: usize = 500;

/// One audit row, as the console reads it (the link's type: the console is built
/// against `baton-link`, not this crate).
pub use baton_link::News;

pub(super) struct Feed {
    /// The session's operator: whose rows are the viewer's own.
    operator: String,
    after: i64,
    kept: Vec<News>,
    tx: watch::Sender<Arc<Vec<News>>>,
}

impl Feed {
    /// A feed of what is recorded from now on (what is on record already is not news).
    pub(super) fn new(store: &Store, operator: &str) -> (Feed, watch::Receiver<Arc<Vec<News>>>) {
        let after = store.audit_head_id().unwrap_or(0);
        let (tx, rx) = watch::channel(Arc::new(Vec::new()));
        let feed = Feed {
            operator: operator.to_string(),
            after,
            kept: Vec::new(),
            tx,
        };
        (feed, rx)
    }

    /// Read the rows recorded since the last look; sent when there are any.
    pub(super) fn refresh(&mut self, store: &Store) {
        let mut moved = false;
        // Busy and the like: the next look tries again from the same row.
        while let Ok(rows) = store.audit_after(self.after, PAGE) {
            let Some(last) = rows.last() else { break };
            self.after = last.id;
            let full = rows.len() == PAGE;
            self.kept.extend(rows.into_iter().filter_map(|r| {
                Some(News {
                    by_viewer: same_actor(&r.actor, &self.operator),
                    id: r.id,
                    action: AuditAction::parse(&r.action)?,
                    run_id: r.run_id,
                    at: r.at,
                    actor: r.actor,
                    step: r.step,
                    reason: r.reason,
                    details: r.details,
                })
            }));
            moved = true;
            if !full {
                break;
            }
        }
        if moved {
            let over = self.kept.len().saturating_sub(KEEP);
            self.kept.drain(..over);
            let _ = self.tx.send(Arc::new(self.kept.clone()));
        }
    }
}
