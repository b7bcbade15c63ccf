//! Webhook deliveries `baton serve` refused (issue 81 point 5): one row per workflow,
//! trigger and reason, its count and the last refusal's words and delivery id, so that
//! a flood of bad requests grows a count, never the store. A delivery naming no
//! trigger served is counted under the empty workflow and trigger, whatever it named.
//! Nothing here holds a secret: the serve's words for a refusal never do.
use super::{Store, StoreError};
use baton_model::Timestamp;
use rusqlite::params;

/// The most of a refusal's words kept (a param's problem quotes its value).
const MAX_WHY: usize = 512;

/// One refused delivery, as the serve records it.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryRefused<'a> {
    pub workflow: &'a str,
    pub trigger: &'a str,
    /// `baton_trigger_refusals_total`'s `reason` label.
    pub reason: &'a str,
    pub why: &'a str,
    pub delivery: Option<&'a str>,
    pub at: Timestamp,
}

/// A row of refusals: workflow, trigger, reason, count, last at, last words, last
/// delivery id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCount {
    pub workflow: String,
    pub trigger: String,
    pub reason: String,
    pub count: u64,
    pub last_at: Timestamp,
    pub last_why: String,
    pub last_delivery: Option<String>,
}

impl Store {
    /// Count `r`, keeping its words (bounded) as the last of its kind.
    pub fn record_delivery_refused(&mut self, r: &DeliveryRefused<'_>) -> Result<(), StoreError> {
        let why: String = r.why.chars().take(MAX_WHY).collect();
        let delivery: Option<String> = r.delivery.map(|d| d.chars().take(MAX_WHY).collect());
        let done = self
            .conn
            .execute(
                "INSERT INTO trigger_refusals
                    (workflow, trigger, reason, count, last_at, last_why, last_delivery)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)
                 ON CONFLICT (workflow, trigger, reason) DO UPDATE SET
                    count = count + 1, last_at = excluded.last_at,
                    last_why = excluded.last_why, last_delivery = excluded.last_delivery",
                params![r.workflow, r.trigger, r.reason, r.at.0, why, delivery],
            )
            .map(|_| ())
            .map_err(StoreError::from);
        self.ctx(done)
    }

    /// Every count of refused deliveries, by workflow, trigger and reason.
    pub fn delivery_refusals(&self) -> Result<Vec<RefusalCount>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT workflow, trigger, reason, count, last_at, last_why, last_delivery
                 FROM trigger_refusals ORDER BY workflow, trigger, reason",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(RefusalCount {
                        workflow: r.get(0)?,
                        trigger: r.get(1)?,
                        reason: r.get(2)?,
                        count: r.get::<_, i64>(3)?.max(0) as u64,
                        last_at: Timestamp(r.get(4)?),
                        last_why: r.get(5)?,
                        last_delivery: r.get(6)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })();
        self.ctx(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_per_kind_and_keep_the_last_words() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("b.db")).unwrap();
        fn r<'a>(reason: &'a str, why: &'a str, at: i64) -> DeliveryRefused<'a> {
            DeliveryRefused {
                workflow: "deploy",
                trigger: "push",
                reason,
                why,
                delivery: Some("d-1"),
                at: Timestamp(at),
            }
        }
        let long = "x".repeat(2000);
        s.record_delivery_refused(&r("bad_signature", "first", 1))
            .unwrap();
        s.record_delivery_refused(&r("bad_signature", &long, 2))
            .unwrap();
        s.record_delivery_refused(&r("too_large", "big", 3))
            .unwrap();
        let rows = s.delivery_refusals().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].reason.as_str(), rows[0].count),
            ("bad_signature", 2)
        );
        assert_eq!(rows[0].last_why.len(), MAX_WHY);
        assert_eq!(rows[0].last_at, Timestamp(2));
        assert_eq!((rows[1].reason.as_str(), rows[1].count), ("too_large", 1));
    }
}
