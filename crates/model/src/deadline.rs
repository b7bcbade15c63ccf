//! Deadline alerts (Airflow's Deadline Alerts, once SLA misses): a run or a step not
//! done by a time of day (`at`) or within a duration (`within`) is reported once, on
//! record (`deadline_missed`), and nothing is stopped. Pure: when a deadline falls, and
//! whether it is missed now, are decided here on the caller's clock.
use crate::time::Timestamp;
use chrono::{NaiveTime, TimeZone};

/// A wall-clock time of day, `HH:MM` or `HH:MM:SS` (24-hour; the hour may have one
/// digit, `6:00`, as cron and Airflow users write it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    hour: u32,
    minute: u32,
    second: u32,
}

impl TimeOfDay {
    /// `"06:00"`, `"6:00"`, `"23:59:30"`; `None` for anything else (`"6am"`, `"6:0"`,
    /// `"24:00"`): the hour has one or two digits, the minutes and seconds two.
    pub fn parse(text: &str) -> Option<TimeOfDay> {
        let parts: Vec<&str> = text.split(':').collect();
        let widths_hold = parts.first().is_some_and(|h| (1..=2).contains(&h.len()))
            && parts.iter().skip(1).all(|p| p.len() == 2);
        if !(2..=3).contains(&parts.len()) || !widths_hold {
            return None;
        }
        let num = |p: &str| {
            p.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| p.parse::<u32>().ok())
                .flatten()
        };
        let hour = num(parts[0]).filter(|&h| h < 24)?;
        let minute = num(parts[1]).filter(|&m| m < 60)?;
        let second = match parts.get(2) {
            Some(p) => num(p).filter(|&s| s < 60)?,
            None => 0,
        };
        Some(TimeOfDay {
            hour,
            minute,
            second,
        })
    }

    fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour, self.minute, self.second).unwrap_or(NaiveTime::MIN)
    }
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)?;
        if self.second > 0 {
            write!(f, ":{:02}", self.second)?;
        }
        Ok(())
    }
}

/// The first instant strictly after `from` at which the wall clock of `zone` reads
/// `t`. A time the zone skips that day (spring forward) falls at the end of the gap, a
/// time it repeats (fall back) at its first occurrence, as cron's slots do.
pub fn first_after(from: Timestamp, t: TimeOfDay, zone: chrono_tz::Tz) -> Timestamp {
    let Some(start) = chrono::DateTime::from_timestamp_millis(from.0) else {
        return from;
    };
    let mut day = start.with_timezone(&zone).date_naive();
    // Today's time may have passed; tomorrow's has not (a gap moves it by an hour at most).
    for _ in 0..3 {
        if let Some(at) = on_day(day, t, zone)
            && at > from
        {
            return at;
        }
        day = day.succ_opt().unwrap_or(day);
    }
    from
}

/// [`first_after`] in the zone named `zone` (an IANA name), UTC when it names none.
pub fn at_after(from: Timestamp, t: TimeOfDay, zone: Option<&str>) -> Timestamp {
    let tz = zone
        .and_then(|z| crate::schedule::parse_zone(z).ok())
        .unwrap_or(chrono_tz::UTC);
    first_after(from, t, tz)
}

/// The instant `t` names on `day` in `zone` (see [`first_after`] for gaps and repeats).
fn on_day(day: chrono::NaiveDate, t: TimeOfDay, zone: chrono_tz::Tz) -> Option<Timestamp> {
    let wall = day.and_time(t.naive());
    let local = match zone.from_local_datetime(&wall) {
        chrono::LocalResult::Single(d) => d,
        chrono::LocalResult::Ambiguous(first, _) => first,
        // In a gap: the first minute after it that exists.
        chrono::LocalResult::None => (1..=180).find_map(|m| {
            zone.from_local_datetime(&(wall + chrono::Duration::minutes(m)))
                .earliest()
        })?,
    };
    Some(Timestamp(local.timestamp_millis()))
}

/// What a reader says of a deadline whose time came while no engine drove the run
/// ([`DeadlineView::passed_unreported`]), after its due time.
pub const PASSED_UNREPORTED: &str = "passed while no engine ran: reported on resume";

/// What a `deadline_missed` says, as the headless line, `baton events` and the console
/// write it: `run deadline missed: not done within 2.0s; nothing is stopped`.
pub fn missed_text(step: Option<&str>, rule: &str) -> String {
    let whose = step.unwrap_or("run");
    format!("{whose} deadline missed: not done {rule}; nothing is stopped")
}

/// A run's or a step's deadline as readers show it (`RunView::deadlines`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeadlineView {
    /// The step it is of; `None`: the run's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// When it falls (the earlier clause), once known: a step's `within` counts from
    /// when it became ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// `at` as written (`06:00`), and the zone it is read in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `within`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
    /// When its `deadline_missed` was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<Timestamp>,
    /// Done in time: it will never be reported.
    #[serde(default)]
    pub met: bool,
}

impl DeadlineView {
    /// Its clauses as written: `at 06:00 (Europe/Paris) or within 2.0s of ready`.
    pub fn rule(&self) -> String {
        let at = self.at.as_ref().map(|t| match &self.zone {
            Some(z) => format!("at {t} ({z})"),
            None => format!("at {t}"),
        });
        let within = self.within_ms.map(|ms| {
            let d = crate::time::human_duration(std::time::Duration::from_millis(ms));
            let from = if self.step.is_some() { " of ready" } else { "" };
            format!("within {d}{from}")
        });
        at.into_iter()
            .chain(within)
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// Where it stands, times written by `time`: `MISSED (due …, reported …)`, `met`,
    /// `due …`, or not started (a step's `within` counts from when it is ready).
    pub fn status(&self, time: impl Fn(Timestamp) -> String) -> String {
        match (self.missed, self.due) {
            (Some(m), Some(d)) => format!("MISSED (due {}, reported {})", time(d), time(m)),
            (Some(m), None) => format!("MISSED (reported {})", time(m)),
            (None, _) if self.met => "met".to_string(),
            (None, Some(d)) => format!("due {}", time(d)),
            (None, None) => "not started: counts from when the step is ready".to_string(),
        }
    }

    /// Its time came on the wall clock `wall` while no engine drove the run (`gone`:
    /// the engine's last sign of life, [`crate::RunView::engine_gone_at`]), so nobody
    /// reported it yet: its `due`. The engine that takes the run up reports it then,
    /// once, with this `due`. `None` while an engine drives the run, before its time,
    /// or once it is met or on record.
    pub fn passed_unreported(&self, wall: Timestamp, gone: Option<Timestamp>) -> Option<Timestamp> {
        let due = self.due?;
        (gone.is_some() && self.missed.is_none() && !self.met && due <= wall).then_some(due)
    }

    /// `run: within 2.0s; MISSED (due …, reported …)`, times in RFC 3339 (`baton show`).
    /// `wall` and `gone` as [`Self::passed_unreported`] takes them: a time that
    /// passed while no engine ran says so, not only `due …`.
    pub fn describe(&self, wall: Timestamp, gone: Option<Timestamp>) -> String {
        let status = match self.passed_unreported(wall, gone) {
            Some(due) => format!("due {} · {PASSED_UNREPORTED}", due.to_rfc3339()),
            None => self.status(Timestamp::to_rfc3339),
        };
        format!(
            "{}: {}; {status}",
            self.step.as_deref().unwrap_or("run"),
            self.rule(),
        )
    }
}

/// One deadline of a run or a step, as the run's history sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watch {
    /// `at`'s instant (from the run's start).
    pub at: Option<Timestamp>,
    /// `within`'s instant: from the run's start, or from when the step became ready
    /// (`None` until then).
    pub within: Option<Timestamp>,
    /// When the run or step was first done (a later reopening does not count).
    pub done: Option<Timestamp>,
    /// When its `deadline_missed` was recorded.
    pub missed: Option<Timestamp>,
}

/// Which of a deadline's clauses fell first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    At,
    Within,
}

impl Watch {
    /// When it falls: the earlier of `at` and `within` (as far as either is known).
    pub fn due(&self) -> Option<(Timestamp, Clause)> {
        match (self.at, self.within) {
            (Some(a), Some(w)) if w < a => Some((w, Clause::Within)),
            (Some(a), _) => Some((a, Clause::At)),
            (None, Some(w)) => Some((w, Clause::Within)),
            (None, None) => None,
        }
    }

    /// Missed now and not yet on record: its time has come (`now` at or after it) and
    /// the run or step was not done before it. Once recorded it is never missed again,
    /// so an engine that resumes after it reports it once, and one that resumes again
    /// does not report it twice.
    pub fn missed_now(&self, now: Timestamp) -> Option<(Timestamp, Clause)> {
        let (due, clause) = self.due()?;
        let done_in_time = self.done.is_some_and(|d| d <= due);
        (self.missed.is_none() && !done_in_time && now >= due).then_some((due, clause))
    }

    /// The run or step is done at `at`: only the first time counts.
    pub fn done_at(&mut self, at: Timestamp) {
        self.done.get_or_insert(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn utc(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn zone(name: &str) -> chrono_tz::Tz {
        name.parse().unwrap()
    }

    #[test]
    fn a_time_of_day_is_hours_and_minutes_and_maybe_seconds() {
        let t = TimeOfDay::parse("06:00").unwrap();
        assert_eq!(t.to_string(), "06:00");
        assert_eq!(
            TimeOfDay::parse("23:59:30").unwrap().to_string(),
            "23:59:30"
        );
        for bad in [
            "6:0",
            "6:60",
            "6:00:0",
            "24:00",
            "006:00",
            ":00",
            "06:60",
            "06",
            "06:00:00:00",
            "ab:cd",
            "+6:00",
            "",
        ] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_one_digit_hour_is_the_same_time_as_two() {
        for (one, two) in [("6:00", "06:00"), ("6:05", "06:05"), ("0:00", "00:00")] {
            assert_eq!(TimeOfDay::parse(one), TimeOfDay::parse(two), "{one}");
            assert!(TimeOfDay::parse(one).is_some(), "{one}");
        }
        assert_eq!(TimeOfDay::parse("9:30:15").unwrap().to_string(), "09:30:15");
    }

    #[test]
    fn at_is_the_first_such_time_after_the_start() {
        let six = TimeOfDay::parse("06:00").unwrap();
        let utc0 = zone("UTC");
        // Started before six: today's.
        assert_eq!(
            first_after(utc("2026-11-26T05:00:00Z"), six, utc0),
            utc("2026-11-26T06:00:00Z")
        );
        // Started after six (or at it): tomorrow's.
        assert_eq!(
            first_after(utc("2026-11-26T07:00:00Z"), six, utc0),
            utc("2026-11-27T06:00:00Z")
        );
        assert_eq!(
            first_after(utc("2026-11-26T06:00:00Z"), six, utc0),
            utc("2026-11-27T06:00:00Z")
        );
        // In the run's zone: 06:00 in Paris is 05:00 UTC in winter.
        assert_eq!(
            first_after(utc("2026-11-26T04:00:00Z"), six, zone("Europe/Paris")),
            utc("2026-11-26T05:00:00Z")
        );
    }

    #[test]
    fn a_skipped_time_falls_after_the_gap_and_a_repeated_one_at_its_first() {
        let ny = zone("America/New_York");
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
        let t = TimeOfDay::parse("02:30").unwrap();
        assert_eq!(
            first_after(utc("2026-03-08T05:00:00Z"), t, ny),
            utc("2026-03-08T07:00:00Z"),
            "03:00 EDT, the end of the gap"
        );
        // 2026-11-01: 01:30 comes twice (EDT, then EST): the first.
        let t = TimeOfDay::parse("01:30").unwrap();
        assert_eq!(
            first_after(utc("2026-11-01T04:00:00Z"), t, ny),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn the_notice_says_whose_deadline_and_which_clause() {
        assert_eq!(
            missed_text(None, "within 2.0s"),
            "run deadline missed: not done within 2.0s; nothing is stopped"
        );
        assert_eq!(
            missed_text(Some("load"), "at 06:00 (Europe/Paris)"),
            "load deadline missed: not done at 06:00 (Europe/Paris); nothing is stopped"
        );
    }

    #[test]
    fn a_view_says_its_rule_and_where_it_stands() {
        let mut v = DeadlineView {
            step: None,
            due: Some(Timestamp(2_000)),
            at: Some("06:00".into()),
            zone: Some("UTC".into()),
            within_ms: Some(2_000),
            missed: None,
            met: false,
        };
        let t = |t: Timestamp| t.0.to_string();
        assert_eq!(v.rule(), "at 06:00 (UTC) or within 2.0s");
        assert_eq!(v.status(t), "due 2000");
        v.missed = Some(Timestamp(2_100));
        assert_eq!(v.status(t), "MISSED (due 2000, reported 2100)");
        v.missed = None;
        v.met = true;
        assert_eq!(v.status(t), "met");
        let step = DeadlineView {
            step: Some("load".into()),
            due: None,
            at: None,
            zone: None,
            within_ms: Some(3_600_000),
            missed: None,
            met: false,
        };
        assert_eq!(
            step.describe(Timestamp(0), None),
            "load: within 1h00m of ready; not started: counts from when the step is ready"
        );
    }

    #[test]
    fn a_time_passed_while_no_engine_ran_is_unreported_until_a_resume() {
        let v = DeadlineView {
            step: Some("load".into()),
            due: Some(Timestamp(2_000)),
            at: None,
            zone: None,
            within_ms: Some(2_000),
            missed: None,
            met: false,
        };
        let gone = Some(Timestamp(1_000));
        assert_eq!(v.passed_unreported(Timestamp(1_999), gone), None, "not yet");
        assert_eq!(
            v.passed_unreported(Timestamp(2_000), gone),
            Some(Timestamp(2_000))
        );
        assert_eq!(
            v.passed_unreported(Timestamp(9_000), None),
            None,
            "an engine drives it"
        );
        let on_record = DeadlineView {
            missed: Some(Timestamp(2_000)),
            ..v.clone()
        };
        assert_eq!(on_record.passed_unreported(Timestamp(9_000), gone), None);
        let met = DeadlineView {
            met: true,
            ..v.clone()
        };
        assert_eq!(met.passed_unreported(Timestamp(9_000), gone), None);
        assert_eq!(
            v.describe(Timestamp(9_000), gone),
            format!(
                "load: within 2.0s of ready; due {} · {PASSED_UNREPORTED}",
                Timestamp(2_000).to_rfc3339()
            ),
            "`show` says it passed, not only when it was due"
        );
        assert!(
            v.describe(Timestamp(9_000), None)
                .ends_with(&format!("; due {}", Timestamp(2_000).to_rfc3339()))
        );
        let unknown = DeadlineView { due: None, ..v };
        assert_eq!(unknown.passed_unreported(Timestamp(9_000), gone), None);
    }

    #[test]
    fn the_earlier_clause_wins() {
        let start = Timestamp(0);
        let w = Watch {
            at: Some(start.add(Duration::from_secs(3600))),
            within: Some(start.add(Duration::from_secs(60))),
            ..Watch::default()
        };
        assert_eq!(w.due(), Some((Timestamp(60_000), Clause::Within)));
        let w = Watch {
            within: Some(start.add(Duration::from_secs(7200))),
            ..w
        };
        assert_eq!(w.due(), Some((Timestamp(3_600_000), Clause::At)));
        assert_eq!(Watch::default().due(), None);
    }

    #[test]
    fn missed_once_its_time_came_unless_done_before_or_on_record() {
        let due = Timestamp(10_000);
        let w = Watch {
            within: Some(due),
            ..Watch::default()
        };
        assert_eq!(w.missed_now(Timestamp(9_999)), None, "not yet");
        assert_eq!(w.missed_now(due), Some((due, Clause::Within)));
        // An engine down at the deadline reports it when it resumes, long after.
        assert_eq!(w.missed_now(Timestamp(99_000)), Some((due, Clause::Within)));
        // On record: never again.
        let recorded = Watch {
            missed: Some(Timestamp(10_500)),
            ..w
        };
        assert_eq!(recorded.missed_now(Timestamp(99_000)), None);
        // Done before it (or at it): never, even if reopened later.
        let mut done = w;
        done.done_at(Timestamp(9_000));
        done.done_at(Timestamp(50_000));
        assert_eq!(done.done, Some(Timestamp(9_000)), "the first time counts");
        assert_eq!(done.missed_now(Timestamp(99_000)), None);
        // Done after it: it was missed all the same.
        let mut late = w;
        late.done_at(Timestamp(11_000));
        assert_eq!(
            late.missed_now(Timestamp(11_000)),
            Some((due, Clause::Within))
        );
    }
}
