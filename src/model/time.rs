//! Time as plain milliseconds since the Unix epoch (UTC), so the core can run on a
//! fake clock and events serialise as integers.
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(chrono::Utc::now().timestamp_millis())
    }
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    /// Saturating: a huge timeout is "never", not an overflow.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(d.as_millis().min(i64::MAX as u128) as i64),
        )
    }
    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0).max(0) as u64)
    }
    /// RFC 3339 in UTC, millisecond precision.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            None => self.0.to_string(),
        }
    }
    /// `HH:MM:SS` in local time, for the headless printer and the console.
    pub fn clock(self) -> String {
        // Many events share a second, and the local-time conversion looks at the
        // time zone file each call: remember the last second's text.
        thread_local! {
            static LAST: std::cell::RefCell<(i64, String)> =
                const { std::cell::RefCell::new((i64::MIN, String::new())) };
        }
        let second = self.0.div_euclid(1000);
        LAST.with_borrow_mut(|(last, text)| {
            if *last != second {
                *text = match chrono::DateTime::from_timestamp_millis(self.0) {
                    Some(t) => t
                        .with_timezone(&chrono::Local)
                        .format("%H:%M:%S")
                        .to_string(),
                    None => "--:--:--".into(),
                };
                *last = second;
            }
            text.clone()
        })
    }
}

/// Short human duration: `850ms`, `12.3s`, `4m05s`, `2h03m`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}
