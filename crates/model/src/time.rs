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
    /// The time now, as this thread's world says it (`faults`: the wall clock in
    /// production, the seed's in the simulator).
    pub fn now() -> Self {
        crate::faults::now()
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
    /// A time written in RFC 3339 (`2026-11-26T08:00:00Z`, any offset).
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp(t.timestamp_millis()))
    }
    /// RFC 3339 in UTC, millisecond precision.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            None => self.0.to_string(),
        }
    }
    /// A schedule's slot as `${{ run.slot }}` and `$BATON_SLOT` give it: RFC 3339 in
    /// UTC, whole seconds unless it has a fraction (a trigger's time).
    pub fn slot_text(self) -> String {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            None => self.0.to_string(),
        }
    }
    /// Wall-clock text at `offset` from UTC: `14:03:22` on the same day as `now`, else
    /// `2026-11-20 14:03:22`, so an incident review can line things up with other logs.
    pub fn wall(self, now: Timestamp, offset: chrono::FixedOffset) -> String {
        let at = |t: Timestamp| {
            chrono::DateTime::from_timestamp_millis(t.0).map(|d| d.with_timezone(&offset))
        };
        match (at(self), at(now)) {
            (Some(t), Some(n)) if t.date_naive() == n.date_naive() => {
                t.format("%H:%M:%S").to_string()
            }
            (Some(t), _) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => self.to_rfc3339(),
        }
    }

    /// The local time zone's offset from UTC at this instant.
    pub fn local_offset(self) -> chrono::FixedOffset {
        use chrono::Offset;
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => t.with_timezone(&chrono::Local).offset().fix(),
            None => chrono::Utc.fix(),
        }
    }

    /// `HH:MM:SS` in local time, for the headless printer and the console.
    pub fn clock(self) -> String {
        self.clock_text().to_string()
    }

    /// [`Timestamp::clock`] as it is written into a line (`{}`), without a `String`
    /// of its own: the headless printer writes one per event.
    pub fn clock_text(self) -> Clock {
        Clock(self)
    }
}

/// A time written as `HH:MM:SS` in local time ([`Timestamp::clock_text`]).
#[derive(Debug, Clone, Copy)]
pub struct Clock(Timestamp);

impl std::fmt::Display for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Many events share a second, and the local-time conversion looks at the
        // time zone file each call: remember the last second's text.
        thread_local! {
            static LAST: std::cell::RefCell<(i64, String)> =
                const { std::cell::RefCell::new((i64::MIN, String::new())) };
        }
        let ms = self.0.0;
        let second = ms.div_euclid(1000);
        LAST.with_borrow_mut(|(last, text)| {
            if *last != second {
                *text = match chrono::DateTime::from_timestamp_millis(ms) {
                    Some(t) => t
                        .with_timezone(&chrono::Local)
                        .format("%H:%M:%S")
                        .to_string(),
                    None => "--:--:--".into(),
                };
                *last = second;
            }
            f.write_str(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(hours: i32) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(hours * 3600).unwrap()
    }

    #[test]
    fn wall_clock_shows_the_date_only_for_another_day() {
        // 2026-11-22 13:05:09 UTC.
        let t = Timestamp(1_795_352_709_000);
        let later = t.add(Duration::from_secs(3600));
        assert_eq!(t.wall(later, offset(0)), "13:05:09");
        assert_eq!(t.wall(later, offset(2)), "15:05:09");
        // Yesterday, seen a day later.
        let next_day = t.add(Duration::from_secs(86_400));
        assert_eq!(t.wall(next_day, offset(0)), "2026-11-22 13:05:09");
        // "Another day" is decided in the viewer's zone: 11 hours on is the next day in
        // UTC, still the same day two hours west.
        let evening = t.add(Duration::from_secs(11 * 3600));
        assert_eq!(t.wall(evening, offset(0)), "2026-11-22 13:05:09");
        assert_eq!(t.wall(evening, offset(-2)), "11:05:09");
    }
}
