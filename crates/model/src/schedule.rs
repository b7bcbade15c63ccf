//! Schedules (`[[schedule]]`): when a slot is due and what becomes of it. Pure: the
//! clock and what the store knows are passed in, so every decision is tested on a fake
//! clock (`tests.rs` beside this file).
//!
//! A slot is one time the cron expression names, in the schedule's time zone. Cron is
//! parsed and searched by `croner`, which follows Vixie cron across daylight-saving
//! changes: in a gap (spring forward) a fixed-time job (`30 2 * * *`) runs at the first
//! valid time after the gap, the same day, and so does any job whose hour field names
//! hours (a list, a range, a step: `gaps`), while interval jobs (`*/15 * * * *`) skip the
//! times that do not exist; in a repeat (fall back) a job whose hour field names hours
//! runs each local time once, at its first occurrence (croner does so for a single
//! hour; `repeats` for a list, a range or a step), and interval jobs run at each
//! wall-clock match in both passes. The day fields and `N/S` steps: `fields`.
use super::time::Timestamp;
use chrono::TimeZone;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

mod dates;
mod fields;
mod gaps;
mod pause;
mod repeats;
mod rows;
pub use pause::{PauseSaid, SeedWhy, Seeded, pause_on_chain, seed_pause};
pub use rows::{LastRun, Paused, ScheduleRow, SlotRow};

/// `max_catch_up` when a schedule does not say.
pub const DEFAULT_MAX_CATCH_UP: u32 = 10;
/// On-time slots started in one decision at most (a loop that stalled for hours on a
/// per-second schedule starts the latest ones, not thousands).
pub const MAX_ON_TIME: usize = 64;

/// Slots one `baton schedule backfill` asks for at most (a typo in a range of a
/// per-second schedule is refused, not thousands of runs).
pub const MAX_BACKFILL: usize = 1000;

/// What to do with slots missed while nothing served.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CatchUp {
    /// Missed slots are recorded as missed; only slots that come due while serving run.
    None,
    /// The latest missed slot runs (Airflow's `catchup=False`), the others are dropped.
    Latest,
    /// Every missed slot runs, oldest first, at most `max_catch_up` (the latest ones).
    All,
}

/// What a slot does when a run of the same schedule has not finished.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Overlap {
    /// The slot is recorded as skipped; the running run goes on.
    Skip,
    /// The slot waits (recorded as queued) and starts when the runs before it ended.
    Queue,
    /// The running run is cancelled and the slot's run starts.
    CancelRunning,
}

impl CatchUp {
    pub const NAMES: &'static [&'static str] = <CatchUp as strum::VariantNames>::VARIANTS;
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Overlap {
    pub const NAMES: &'static [&'static str] = <Overlap as strum::VariantNames>::VARIANTS;
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A cron expression in a time zone: the slots of a schedule.
#[derive(Debug, Clone)]
pub struct Cadence {
    cron: Cron,
    pub zone: chrono_tz::Tz,
    /// As written.
    pub expr: String,
}

/// Why a cron expression or a time zone was refused (the loader says where, and what
/// would be right).
#[derive(Debug, thiserror::Error)]
pub enum CadenceError {
    #[error("the expression is empty")]
    Empty,
    #[error(
        "it has {0} field(s); cron has 5 (minute hour day month weekday) or 6 with seconds first"
    )]
    FieldCount(usize),
    #[error("the {field} field `{value}` holds {n}, outside {lo}-{hi}")]
    OutOfRange {
        field: &'static str,
        value: String,
        n: u32,
        lo: u32,
        hi: u32,
    },
    #[error(
        "day-of-month `{days}` is past the end of every month of `{months}`: it would never fire (Vixie cron refuses it too)"
    )]
    NoSuchDate { days: String, months: String },
    #[error("the {field} field holds `{word}`, which is not a name it takes")]
    NotAName {
        field: &'static str,
        word: String,
        takes: &'static str,
    },
    /// croner's own words, when no field is out of range.
    #[error(transparent)]
    Cron(croner::errors::CronError),
    #[error("`{0}` is not an IANA time zone")]
    Zone(String),
    #[error(
        "`{text}` is not a time: write RFC 3339 (2026-03-01T02:00:00Z), or a date or date and time in the schedule's zone {zone} (2026-03-01, 2026-03-01T02:30)"
    )]
    NotATime { text: String, zone: chrono_tz::Tz },
    #[error(
        "`{text}` does not exist in {zone} (the clocks skip it that day): give a time before or after the gap, or one with its offset"
    )]
    InAGap { text: String, zone: chrono_tz::Tz },
}

impl CadenceError {
    /// What to write instead, when the refusal has words of its own (the loader's
    /// general hint otherwise).
    pub fn hint(&self) -> Option<String> {
        match self {
            CadenceError::NoSuchDate { .. } => Some(
                "name days those months have (February has at most 29, April, June, September and November 30), or `L` for each month's last day".to_string(),
            ),
            CadenceError::NotAName { takes, .. } => Some(format!("write {takes}")),
            _ => None,
        }
    }
}

/// Parse a cron expression: five fields, six with seconds first, or `@hourly`,
/// `@daily`, `@weekly`, `@monthly` (and `@yearly`). A year field is refused. The day
/// fields and `N/S` are read as `fields` says (Vixie's AND, robfig's steps).
pub fn parse_cron(expr: &str) -> Result<Cron, CadenceError> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err(CadenceError::Empty);
    }
    if !trimmed.starts_with('@') {
        let n = trimmed.split_whitespace().count();
        if n != 5 && n != 6 {
            return Err(CadenceError::FieldCount(n));
        }
        if let Some(r) = dates::refused(trimmed) {
            return Err(refusal(r));
        }
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .dom_and_dow(fields::days_and(trimmed))
        .build()
        .parse(&fields::spell_steps(trimmed))
        .map_err(|e| out_of_range(trimmed).unwrap_or(CadenceError::Cron(e)))
}

/// What `dates` refused, in the words of an error.
fn refusal(r: dates::Refused) -> CadenceError {
    match r {
        dates::Refused::NoSuchDate { days, months } => CadenceError::NoSuchDate { days, months },
        dates::Refused::NotAName { field, word } => CadenceError::NotAName {
            takes: match field {
                "month" => "a month's three letters (JAN … DEC) or a number 1-12",
                "day-of-week" => {
                    "a weekday's three letters (SUN … SAT) or a number 0-7; a month's last Monday is `1L`"
                }
                "day-of-month" => {
                    "a number 1-31, `L` (the month's last day) or `15W` (the weekday nearest the 15th)"
                }
                _ => "numbers: only the month and day-of-week fields take names",
            },
            field,
            word,
        },
    }
}

/// Which field of a refused expression holds a number outside its range, if one does:
/// croner says only "Number out of bounds", an operator needs the field. (Only to
/// explain a refusal: croner alone parses.)
fn out_of_range(expr: &str) -> Option<CadenceError> {
    const FIELDS: [(&str, u32, u32); 6] = [
        ("second", 0, 59),
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day-of-month", 1, 31),
        ("month", 1, 12),
        ("day-of-week", 0, 7),
    ];
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let names = &FIELDS[6 - fields.len().clamp(5, 6)..];
    fields.iter().zip(names).find_map(|(f, &(name, lo, hi))| {
        // Values, not steps: what follows a `/` is how far apart they are.
        let values = f
            .split(',')
            .map(|part| part.split('/').next().unwrap_or(""));
        values
            .flat_map(|v| v.split('-'))
            .filter_map(|n| n.parse::<u32>().ok())
            .find(|n| *n < lo || *n > hi)
            .map(|n| CadenceError::OutOfRange {
                field: name,
                value: f.to_string(),
                n,
                lo,
                hi,
            })
    })
}

/// Parse an IANA time zone name (`Europe/Paris`, `UTC`).
pub fn parse_zone(name: &str) -> Result<chrono_tz::Tz, CadenceError> {
    chrono_tz::Tz::from_str(name.trim()).map_err(|_| CadenceError::Zone(name.to_string()))
}

impl Cadence {
    pub fn new(expr: &str, zone: &str) -> Result<Cadence, CadenceError> {
        Ok(Cadence {
            cron: parse_cron(expr)?,
            zone: parse_zone(zone)?,
            expr: expr.to_string(),
        })
    }

    fn at(&self, t: Timestamp) -> Option<chrono::DateTime<chrono_tz::Tz>> {
        // Slots are whole seconds: a search starts from the second `t` falls in.
        self.zone.timestamp_opt(t.0.div_euclid(1000), 0).single()
    }

    /// The first slot strictly after `t` (a local time a spring-forward gap skips runs
    /// right after the gap, and one a fall-back repeats runs in its first pass only,
    /// whatever form the hour field has: `gaps`, `repeats`).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let start = self.at(t)?;
        let names_hours = gaps::names_hours(&self.expr);
        let next = self.skipping_second_passes(
            start,
            names_hours,
            |from| {
                Some(
                    self.cron
                        .find_next_occurrence(from, false)
                        .ok()?
                        .timestamp(),
                )
            },
            |pass| pass.ends - 1,
        );
        let gap = names_hours
            .then(|| gaps::next_gap_slot(&self.cron, self.zone, start.timestamp(), next))
            .flatten();
        gap.or(next).map(|s| Timestamp(s * 1000))
    }

    /// The next slot to come: the first after `now`, or after `cursor` (the latest slot
    /// decided) when the clock went back behind it.
    pub fn next_from(&self, cursor: Timestamp, now: Timestamp) -> Option<Timestamp> {
        self.next_after(now.max(cursor))
    }

    /// The last slot at or before `t`.
    pub fn last_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        let start = self.at(t)?;
        let names_hours = gaps::names_hours(&self.expr);
        let prev = self.skipping_second_passes(
            start,
            names_hours,
            |from| {
                Some(
                    self.cron
                        .find_previous_occurrence(from, true)
                        .ok()?
                        .timestamp(),
                )
            },
            |pass| pass.starts - 1,
        );
        let gap = names_hours
            .then(|| gaps::last_gap_slot(&self.cron, self.zone, start.timestamp(), prev))
            .flatten();
        gap.or(prev).map(|s| Timestamp(s * 1000))
    }

    /// croner's slot from `start` (`find`); when the hour field names hours, one in
    /// the second pass of a repeated hour is passed over (`repeats`) and `find` looks
    /// again from `again(pass)`. The next repeat is months away: a few rounds always
    /// suffice.
    fn skipping_second_passes(
        &self,
        start: chrono::DateTime<chrono_tz::Tz>,
        names_hours: bool,
        find: impl Fn(&chrono::DateTime<chrono_tz::Tz>) -> Option<i64>,
        again: fn(repeats::SecondPass) -> i64,
    ) -> Option<i64> {
        let mut from = start;
        for _ in 0..4 {
            let slot = find(&from)?;
            let pass = names_hours
                .then(|| repeats::second_pass_of(self.zone, slot))
                .flatten();
            match pass {
                Some(pass) => from = self.zone.timestamp_opt(again(pass), 0).single()?,
                None => return Some(slot),
            }
        }
        None
    }

    /// The slots in `(after, until]`, newest first, at most `limit`.
    pub fn slots_back(&self, after: Timestamp, until: Timestamp, limit: usize) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut cursor = until;
        while out.len() < limit {
            match self.last_at_or_before(cursor) {
                Some(s) if s > after => {
                    out.push(s);
                    cursor = Timestamp(s.0 - 1000);
                }
                _ => break,
            }
        }
        out
    }
}

impl Cadence {
    /// The slots in `[from, to]`, oldest first, at most `limit` (the earliest ones).
    pub fn slots_between(&self, from: Timestamp, to: Timestamp, limit: usize) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut cursor = Timestamp(from.0 - 1);
        while out.len() < limit {
            match self.next_after(cursor) {
                Some(s) if s <= to => {
                    out.push(s);
                    cursor = s;
                }
                _ => break,
            }
        }
        out
    }
}

/// A backfill's `--from` or `--to`: RFC 3339 with its offset (`2026-03-01T02:00:00Z`),
/// or a date or date and time on the wall clock of `zone`, the schedule's (`2026-03-01`
/// is its midnight; `2026-03-01T02:30`, `2026-03-01 02:30:00`). A wall-clock time a
/// spring-forward gap skips is refused; one a fall-back repeats is its first pass.
pub fn parse_instant(text: &str, zone: chrono_tz::Tz) -> Result<Timestamp, CadenceError> {
    use chrono::{LocalResult, NaiveDate, NaiveDateTime};
    let t = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(Timestamp(at.timestamp_millis()));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or_else(|| CadenceError::NotATime {
        text: t.to_string(),
        zone,
    })?;
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
            Ok(Timestamp(at.timestamp_millis()))
        }
        LocalResult::None => Err(CadenceError::InAGap {
            text: t.to_string(),
            zone,
        }),
    }
}

/// What the store and the serve loop know about one schedule at `now`.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: Timestamp,
    /// The latest slot recorded for this schedule, or, if none, when it was first
    /// served: slots at or before it never fire again.
    pub cursor: Timestamp,
    /// When this serve began watching the schedule: a slot after it came due while
    /// serving (on time), one at or before it was missed.
    pub awake_since: Timestamp,
    pub paused: bool,
    pub catch_up: CatchUp,
    pub max_catch_up: u32,
}

/// What becomes of one slot. A slot that starts makes a run of the schedule's
/// concurrency group, which `overlap` rules: the store admits it, queues it or skips it
/// (`session::concurrency`), and the slot is recorded with that outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Fate {
    /// Make its run now.
    #[strum(serialize = "started")]
    Start,
    /// The schedule is paused.
    Paused,
    /// Missed while nothing served, and `catch_up` does not run it.
    Missed,
}

impl Fate {
    /// The word recorded in the store and shown.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The decision for one schedule at `facts.now`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Slots to record, oldest first, each with its fate. Of a run of slots that do not
    /// run for the same reason only the latest is recorded (it moves the cursor).
    pub slots: Vec<(Timestamp, Fate)>,
    /// The next slot after this decision.
    pub next: Option<Timestamp>,
}

/// Which slots fire now, given the last recorded slot, the clock, `catch_up` and
/// whether the schedule is paused. (What a slot does while the schedule's last run
/// still goes is `overlap`'s, decided by the store as the run joins its group.)
///
/// A clock that went back (`now` before the cursor) fires nothing: slots at or before
/// the cursor were decided already, and the next slot is the first after the cursor.
pub fn decide(c: &Cadence, f: &Facts) -> Decision {
    let next = c.next_from(f.cursor, f.now);
    let mut d = Decision {
        next,
        ..Decision::default()
    };
    if f.now <= f.cursor {
        return d;
    }
    let on_time_from = f.cursor.max(f.awake_since);
    let mut on_time = c.slots_back(on_time_from, f.now, MAX_ON_TIME);
    on_time.reverse();
    let missed_wanted = match f.catch_up {
        CatchUp::None | CatchUp::Latest => 1,
        CatchUp::All => f.max_catch_up.max(1) as usize,
    };
    let mut missed = if f.awake_since > f.cursor {
        c.slots_back(f.cursor, f.awake_since.min(f.now), missed_wanted)
    } else {
        Vec::new()
    };
    missed.reverse();
    if f.paused {
        if let Some(last) = on_time.last().or(missed.last()) {
            d.slots.push((*last, Fate::Paused));
        }
        return d;
    }
    match (f.catch_up, missed.last()) {
        (_, None) => {}
        (CatchUp::None, Some(&last)) => d.slots.push((last, Fate::Missed)),
        (CatchUp::All, Some(&last)) if f.max_catch_up == 0 => {
            d.slots.push((last, Fate::Missed));
        }
        (CatchUp::Latest, Some(&last)) => d.slots.push((last, Fate::Start)),
        (CatchUp::All, Some(_)) => d.slots.extend(missed.iter().map(|&s| (s, Fate::Start))),
    }
    d.slots
        .extend(on_time.into_iter().map(|s| (s, Fate::Start)));
    d
}

/// A served schedule's next slot from what the store keeps (its cron and zone as
/// written, its latest slot decided): what `baton schedules`, the console and the
/// metrics show. `None` when the expression no longer parses or no slot comes.
pub fn next_slot(
    cron: &str,
    zone: &str,
    last: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let c = Cadence::new(cron, zone).ok()?;
    c.next_from(last.unwrap_or(now), now)
}

/// A schedule as `baton schedules` names it: `WORKFLOW#N` (N from 1, in file order).
pub fn schedule_name(workflow: &str, index: u32) -> String {
    format!("{workflow}#{index}")
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;
