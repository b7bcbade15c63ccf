//! Spring-forward gaps for every form of the hour field (issue 41 point 6). croner
//! moves a slot that falls in a gap to right after it only when the hour field is a
//! single hour (`30 2 * * *` runs at 03:00 on the day Paris skips 02:xx); with a list,
//! a range or a step (`30 2,14 * * *`, `30 1-3 * * *`, `30 */2 * * *`) it drops the slot.
//! Vixie cron moves every job whose hour field names hours (anything but `*`), so here
//! a local time of a gap that the expression names becomes one slot at the gap's end,
//! the first instant after it. A `*` hour field keeps skipping the gap, as before.
use chrono::offset::LocalResult;
use chrono::{Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use croner::Cron;

/// Days looked at past a slot croner found, or before it: a schedule is at least
/// yearly, so this covers every gap up to the next (or previous) slot croner knows.
const HORIZON_DAYS: u64 = 400;

/// Whether the hour field names hours (not `*`): only then is a gap's slot moved.
pub(super) fn names_hours(expr: &str) -> bool {
    let t = expr.trim();
    if let Some(macro_) = t.strip_prefix('@') {
        return !macro_.eq_ignore_ascii_case("hourly");
    }
    let f: Vec<&str> = t.split_whitespace().collect();
    let hour = if f.len() == 6 { f.get(2) } else { f.get(1) };
    hour.is_some_and(|h| *h != "*")
}

/// The local day's gap, if it has one: its first skipped local time and the instant
/// right after it (unix seconds).
fn gap_of(zone: chrono_tz::Tz, day: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime, i64)> {
    let start = day.and_hms_opt(0, 0, 0)?;
    let next = day.checked_add_days(Days::new(1))?.and_hms_opt(0, 0, 0)?;
    let offset = |t: &NaiveDateTime| {
        zone.from_local_datetime(t)
            .earliest()
            .map(|d| d.timestamp() - t.and_utc().timestamp())
    };
    // Offsets only grow across a gap: a day without a change has none.
    if offset(&start) == offset(&next) {
        return None;
    }
    let mut first: Option<NaiveDateTime> = None;
    let mut t = start;
    while t < next {
        let skipped = matches!(zone.from_local_datetime(&t), LocalResult::None);
        match (skipped, first) {
            (true, None) => first = Some(t),
            (false, Some(f)) => {
                let at = zone.from_local_datetime(&t).earliest()?.timestamp();
                return Some((f, t, at));
            }
            _ => {}
        }
        t += TimeDelta::minutes(1);
    }
    None
}

/// Whether `cron` names a local time in `[from, to)` (second by second).
fn names_a_time_in(cron: &Cron, from: NaiveDateTime, to: NaiveDateTime) -> bool {
    let mut t = from;
    while t < to {
        if cron
            .is_time_matching(&Utc.from_utc_datetime(&t))
            .unwrap_or(false)
        {
            return true;
        }
        t += TimeDelta::seconds(1);
    }
    false
}

/// The gap slots (unix seconds) of the local days from `from` to `to`, in order.
fn gap_slots(cron: &Cron, zone: chrono_tz::Tz, from: NaiveDate, to: NaiveDate) -> Vec<i64> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        if let Some((first, end, at)) = gap_of(zone, day)
            && names_a_time_in(cron, first, end)
        {
            out.push(at);
        }
        match day.checked_add_days(Days::new(1)) {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

/// The first gap slot strictly after `after` and before `limit` (croner's next slot,
/// if any), unix seconds.
pub(super) fn next_gap_slot(
    cron: &Cron,
    zone: chrono_tz::Tz,
    after: i64,
    limit: Option<i64>,
) -> Option<i64> {
    let day = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0).map(|d| d.with_timezone(&zone).date_naive())
    };
    let from = day(after)?;
    let to = match limit.and_then(day) {
        Some(d) => d,
        None => from.checked_add_days(Days::new(HORIZON_DAYS))?,
    };
    gap_slots(cron, zone, from, to)
        .into_iter()
        .find(|&s| s > after && limit.is_none_or(|l| s < l))
}

/// The last gap slot at or before `until` and after `floor` (croner's previous slot,
/// if any), unix seconds.
pub(super) fn last_gap_slot(
    cron: &Cron,
    zone: chrono_tz::Tz,
    until: i64,
    floor: Option<i64>,
) -> Option<i64> {
    let day = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0).map(|d| d.with_timezone(&zone).date_naive())
    };
    let to = day(until)?;
    let from = match floor.and_then(day) {
        Some(d) => d,
        None => to.checked_sub_days(Days::new(HORIZON_DAYS))?,
    };
    gap_slots(cron, zone, from, to)
        .into_iter()
        .rev()
        .find(|&s| s <= until && floor.is_none_or(|f| s > f))
}
