//! Other crons' own test vectors, read by baton (issue 57 point 3): each passes, or is
//! a declared difference with baton's answer and the rule that gives it (the docs'
//! table in docs/workflow/concurrency-and-schedules.md says the same).
//!
//! - robfig/cron v3, `spec_test.go` at bc59245fe10efaed9d51b56900192527ed733435
//!   (`TestActivation`, `TestNext`; six-field specs have seconds first, as baton's do).
//! - dragonmantank/cron-expression, `tests/Cron/CronExpressionTest.php` at
//!   8d272d6e6d204824c4f2882924b7efffe9bf0417 (`scheduleProvider`: the next run at
//!   or after the minute given; `testMakeDayOfWeekAnOrSometimes`).
use super::*;

/// A time as the sources write them, in `zone`: `Mon Jul 9 15:00 2012`, with seconds,
/// `2012-11-04T01:45:00-0400`, or `2015-08-10 21:47:27`.
fn when(text: &str, zone: chrono_tz::Tz) -> Timestamp {
    if let Ok(t) = chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z") {
        return Timestamp(t.timestamp_millis());
    }
    // The weekday is only read by people (robfig's `Thu Jul 11 2012` was a Wednesday).
    let dated = match text.split_once(' ') {
        Some((day, rest)) if day.chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => text,
    };
    let naive = ["%b %d %H:%M %Y", "%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(dated, f).ok())
        .unwrap_or_else(|| panic!("a vector's time: {text}"));
    Timestamp(
        zone.from_local_datetime(&naive)
            .earliest()
            .expect("a vector's time exists")
            .timestamp_millis(),
    )
}

fn zone_of(name: &str) -> chrono_tz::Tz {
    parse_zone(name).expect("a vector's zone")
}

/// robfig's `TestActivation`: whether the spec fires at that time (`Next(t - 1s) == t`).
const ROBFIG_ACTIVATION: &[(&str, &str, bool)] = &[
    ("Mon Jul 9 15:00 2012", "0/15 * * * *", true),
    ("Mon Jul 9 15:45 2012", "0/15 * * * *", true),
    ("Mon Jul 9 15:40 2012", "0/15 * * * *", false),
    ("Mon Jul 9 15:05 2012", "5/15 * * * *", true),
    ("Mon Jul 9 15:20 2012", "5/15 * * * *", true),
    ("Mon Jul 9 15:50 2012", "5/15 * * * *", true),
    ("Sun Jul 15 15:00 2012", "0/15 * * Jul *", true),
    ("Sun Jul 15 15:00 2012", "0/15 * * Jun *", false),
    ("Sun Jul 15 08:30 2012", "30 08 ? Jul Sun", true),
    ("Sun Jul 15 08:30 2012", "30 08 15 Jul ?", true),
    ("Mon Jul 16 08:30 2012", "30 08 ? Jul Sun", false),
    ("Mon Jul 16 08:30 2012", "30 08 15 Jul ?", false),
    ("Mon Jul 9 15:00 2012", "@hourly", true),
    ("Mon Jul 9 15:04 2012", "@hourly", false),
    ("Mon Jul 9 15:00 2012", "@daily", false),
    ("Mon Jul 9 00:00 2012", "@daily", true),
    ("Mon Jul 9 00:00 2012", "@weekly", false),
    ("Sun Jul 8 00:00 2012", "@weekly", true),
    ("Sun Jul 8 01:00 2012", "@weekly", false),
    ("Sun Jul 8 00:00 2012", "@monthly", false),
    ("Sun Jul 1 00:00 2012", "@monthly", true),
    ("Sun Jul 15 00:00 2012", "* * 1,15 * Sun", true),
    ("Fri Jun 15 00:00 2012", "* * 1,15 * Sun", true),
    ("Wed Aug 1 00:00 2012", "* * 1,15 * Sun", true),
    ("Sun Jul 15 00:00 2012", "* * * * Mon", false),
    ("Mon Jul 9 00:00 2012", "* * 1,15 * *", false),
    ("Sun Jul 15 00:00 2012", "* * 1,15 * *", true),
    ("Sun Jul 15 00:00 2012", "* * */2 * Sun", true),
];

/// Where baton's answer differs from robfig's `TestActivation`, and why.
const ROBFIG_ACTIVATION_DIFFERS: &[(&str, &str, bool, &str)] = &[(
    "Sun Jul 15 00:00 2012",
    "* * */10 * Sun",
    false,
    "Vixie: a day-of-month starting with `*` leaves the day to the weekday, so both must match (robfig v3 ORs a stepped `*/10`, its issue #70; robfig v1 ANDed)",
)];

/// robfig's `TestNext`: zone, from, spec, the next time strictly after (`None`: never).
type Next = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);
const ROBFIG_NEXT: &[Next] = &[
    (
        "UTC",
        "Mon Jul 9 14:45 2012",
        "0 0/15 * * * *",
        Some("Mon Jul 9 15:00 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 14:59 2012",
        "0 0/15 * * * *",
        Some("Mon Jul 9 15:00 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 14:59:59 2012",
        "0 0/15 * * * *",
        Some("Mon Jul 9 15:00 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 15:45 2012",
        "0 20-35/15 * * * *",
        Some("Mon Jul 9 16:20 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:46 2012",
        "0 */15 * * * *",
        Some("Tue Jul 10 00:00 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:45 2012",
        "0 20-35/15 * * * *",
        Some("Tue Jul 10 00:20 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35:51 2012",
        "15/35 20-35/15 * * * *",
        Some("Tue Jul 10 00:20:15 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35:51 2012",
        "15/35 20-35/15 1/2 * * *",
        Some("Tue Jul 10 01:20:15 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35:51 2012",
        "15/35 20-35/15 10-12 * * *",
        Some("Tue Jul 10 10:20:15 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35:51 2012",
        "15/35 20-35/15 1/2 */2 * *",
        Some("Thu Jul 11 01:20:15 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35:51 2012",
        "15/35 20-35/15 * 9-20 * *",
        Some("Wed Jul 10 00:20:15 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35:51 2012",
        "15/35 20-35/15 * 9-20 Jul *",
        Some("Wed Jul 10 00:20:15 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35 2012",
        "0 0 0 9 Apr-Oct ?",
        Some("Thu Aug 9 00:00 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35 2012",
        "0 0 0 */5 Oct Mon",
        Some("Mon Oct 1 00:00 2012"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35 2012",
        "0 0 0 * Feb Mon",
        Some("Mon Feb 4 00:00 2013"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35 2012",
        "0 0 0 * Feb Mon/2",
        Some("Fri Feb 1 00:00 2013"),
    ),
    (
        "UTC",
        "Mon Dec 31 23:59:45 2012",
        "0 * * * * *",
        Some("Tue Jan 1 00:00:00 2013"),
    ),
    (
        "UTC",
        "Mon Jul 9 23:35 2012",
        "0 0 0 29 Feb ?",
        Some("Mon Feb 29 00:00 2016"),
    ),
    (
        "America/New_York",
        "2012-03-11T00:00:00-0500",
        "0 0 * * * ?",
        Some("2012-03-11T01:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-03-11T01:00:00-0500",
        "0 0 * * * ?",
        Some("2012-03-11T03:00:00-0400"),
    ),
    (
        "America/New_York",
        "2012-03-11T03:00:00-0400",
        "0 0 * * * ?",
        Some("2012-03-11T04:00:00-0400"),
    ),
    (
        "America/New_York",
        "2012-03-11T00:00:00-0500",
        "0 0 1 * * ?",
        Some("2012-03-11T01:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-03-11T01:00:00-0500",
        "0 0 1 * * ?",
        Some("2012-03-12T01:00:00-0400"),
    ),
    (
        "America/New_York",
        "2012-11-04T00:00:00-0400",
        "0 30 2 04 Nov ?",
        Some("2012-11-04T02:30:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T00:00:00-0400",
        "0 0 * * * ?",
        Some("2012-11-04T01:00:00-0400"),
    ),
    (
        "America/New_York",
        "2012-11-04T01:00:00-0400",
        "0 0 * * * ?",
        Some("2012-11-04T01:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T01:00:00-0500",
        "0 0 * * * ?",
        Some("2012-11-04T02:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T00:00:00-0400",
        "0 0 1 * * ?",
        Some("2012-11-04T01:00:00-0400"),
    ),
    (
        "America/New_York",
        "2012-11-04T01:00:00-0500",
        "0 0 1 * * ?",
        Some("2012-11-05T01:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T00:00:00-0400",
        "0 0 2 * * ?",
        Some("2012-11-04T02:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T02:00:00-0500",
        "0 0 2 * * ?",
        Some("2012-11-05T02:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T00:00:00-0400",
        "0 0 3 * * ?",
        Some("2012-11-04T03:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T03:00:00-0500",
        "0 0 3 * * ?",
        Some("2012-11-05T03:00:00-0500"),
    ),
    (
        "America/New_York",
        "2012-11-04T00:00:00-0400",
        "0 0 3 3 * ?",
        Some("2012-12-03T03:00:00-0500"),
    ),
    (
        "America/Sao_Paulo",
        "2018-10-17T05:00:00-0400",
        "0 0 9 10 * ?",
        Some("2018-11-10T06:00:00-0500"),
    ),
    (
        "America/Sao_Paulo",
        "2018-02-14T05:00:00-0500",
        "0 0 9 22 * ?",
        Some("2018-02-22T07:00:00-0500"),
    ),
];

/// robfig's `TestNext` vectors that never fire (its next time is none): baton refuses
/// them when they load, as Vixie cron does (issue 78 point 6).
const ROBFIG_NEVER: [&str; 2] = ["0 0 0 30 Feb ?", "0 0 0 31 Apr ?"];

/// Where baton's next time differs from robfig's `TestNext`: the vector, baton's
/// answer, why.
const ROBFIG_NEXT_DIFFERS: &[(Next, Option<&str>, &str)] = &[
    (
        (
            "UTC",
            "Mon Jul 9 23:35 2012",
            "0 0 0 */5 Apr,Aug,Oct Mon",
            Some("Tue Aug 1 00:00 2012"),
        ),
        Some("Mon Aug 6 00:00 2012"),
        "Vixie: `*/5` starts with `*`, so the day must also be a Monday (robfig v3 ORs a stepped day field)",
    ),
    (
        (
            "America/New_York",
            "2012-03-11T00:00:00-0500",
            "0 30 2 11 Mar ?",
            Some("2013-03-11T02:30:00-0400"),
        ),
        Some("2012-03-11T03:00:00-0400"),
        "Vixie: a fixed time the spring-forward gap skips runs right after the gap, the same day (robfig skips it)",
    ),
    (
        (
            "America/New_York",
            "2012-03-11T00:00:00-0500",
            "0 0 2 * * ?",
            Some("2012-03-12T02:00:00-0400"),
        ),
        Some("2012-03-11T03:00:00-0400"),
        "Vixie: a fixed time the spring-forward gap skips runs right after the gap, the same day (robfig skips it)",
    ),
    (
        (
            "America/New_York",
            "2012-11-04T01:45:00-0400",
            "0 30 1 04 Nov ?",
            Some("2012-11-04T01:30:00-0500"),
        ),
        Some("2013-11-04T01:30:00-0500"),
        "Vixie: a fixed time the fall-back repeats runs once, in the first pass (robfig runs it again)",
    ),
    (
        (
            "America/New_York",
            "2012-11-04T01:00:00-0400",
            "0 0 1 * * ?",
            Some("2012-11-04T01:00:00-0500"),
        ),
        Some("2012-11-05T01:00:00-0500"),
        "Vixie: a fixed time the fall-back repeats runs once, in the first pass (robfig runs it again)",
    ),
];

/// cron-expression's `scheduleProvider` (UTC): the next run at or after the minute of
/// the time given.
const CRON_EXPRESSION: &[Due] = &[
    (
        "*/2 */2 * * *",
        "2015-08-10 21:47:27",
        "2015-08-10 22:00:00",
    ),
    ("* * * * *", "2015-08-10 21:50:37", "2015-08-10 21:50:00"),
    (
        "* 20,21,22 * * *",
        "2015-08-10 21:50:00",
        "2015-08-10 21:50:00",
    ),
    (
        "* 20,22 * * *",
        "2015-08-10 21:50:00",
        "2015-08-10 22:00:00",
    ),
    (
        "7-9 * */9 * *",
        "2015-08-10 22:02:33",
        "2015-08-10 22:07:00",
    ),
    ("1 * * * 7", "2015-08-10 21:47:27", "2015-08-16 00:01:00"),
    ("47 21 * * *", "2015-08-10 21:47:30", "2015-08-10 21:47:00"),
    ("* * * * 0", "2011-06-15 23:09:00", "2011-06-19 00:00:00"),
    ("* * * * 7", "2011-06-15 23:09:00", "2011-06-19 00:00:00"),
    ("* * * * 1", "2011-06-15 23:09:00", "2011-06-20 00:00:00"),
    (
        "0 0 * * MON,SUN",
        "2011-06-15 23:09:00",
        "2011-06-19 00:00:00",
    ),
    ("0 0 * * 1,7", "2011-06-15 23:09:00", "2011-06-19 00:00:00"),
    ("0 0 * * 0-4", "2011-06-15 23:09:00", "2011-06-16 00:00:00"),
    ("0 0 * * 4-7", "2011-06-15 23:09:00", "2011-06-16 00:00:00"),
    ("0 0 * * 3-7", "2011-06-15 23:09:00", "2011-06-16 00:00:00"),
    ("0 0 * * 3-7", "2011-06-18 23:09:00", "2011-06-19 00:00:00"),
    ("0 0 * * 2-7", "2011-06-20 23:09:00", "2011-06-21 00:00:00"),
    ("0 0 * * 2-7", "2011-06-18 23:09:00", "2011-06-19 00:00:00"),
    ("0 0 * * 4-7", "2011-07-19 00:00:00", "2011-07-21 00:00:00"),
    (
        "0-12/4 * * * *",
        "2011-06-20 12:04:00",
        "2011-06-20 12:04:00",
    ),
    (
        "4-59/2 * * * *",
        "2011-06-20 12:04:00",
        "2011-06-20 12:04:00",
    ),
    (
        "4-59/2 * * * *",
        "2011-06-20 12:06:00",
        "2011-06-20 12:06:00",
    ),
    (
        "4-59/3 * * * *",
        "2011-06-20 12:06:00",
        "2011-06-20 12:07:00",
    ),
    ("0 0 1 1 0", "2011-06-15 23:09:00", "2012-01-01 00:00:00"),
    ("0 0 1 JAN 0", "2011-06-15 23:09:00", "2012-01-01 00:00:00"),
    ("0 0 1 * 0", "2011-06-15 23:09:00", "2011-06-19 00:00:00"),
    ("0 0 2W * *", "2011-07-01 00:00:00", "2011-07-01 00:00:00"),
    ("0 0 1W * *", "2011-05-01 00:00:00", "2011-05-02 00:00:00"),
    ("0 0 1W * *", "2011-07-01 00:00:00", "2011-07-01 00:00:00"),
    ("0 0 3W * *", "2011-07-01 00:00:00", "2011-07-04 00:00:00"),
    ("0 0 16W * *", "2011-07-01 00:00:00", "2011-07-15 00:00:00"),
    ("0 0 28W * *", "2011-07-01 00:00:00", "2011-07-28 00:00:00"),
    ("0 0 30W * *", "2011-07-01 00:00:00", "2011-07-29 00:00:00"),
    ("0 0 31W * *", "2011-07-01 00:00:00", "2011-07-29 00:00:00"),
    ("* * * * 5L", "2011-07-01 00:00:00", "2011-07-29 00:00:00"),
    ("* * * * 6L", "2011-07-01 00:00:00", "2011-07-30 00:00:00"),
    ("* * * * 7L", "2011-07-01 00:00:00", "2011-07-31 00:00:00"),
    ("* * * * 1L", "2011-07-24 00:00:00", "2011-07-25 00:00:00"),
    ("* * * 1 5L", "2011-12-25 00:00:00", "2012-01-27 00:00:00"),
    ("* * * * 5#2", "2011-07-01 00:00:00", "2011-07-08 00:00:00"),
    ("* * * * 5#1", "2011-07-01 00:00:00", "2011-07-01 00:00:00"),
    ("* * * * 3#4", "2011-07-01 00:00:00", "2011-07-27 00:00:00"),
    (
        "* * * * MON-FRI",
        "2017-01-08 00:00:00",
        "2017-01-09 00:00:00",
    ),
    ("* * * * TUE", "2017-01-08 00:00:00", "2017-01-10 00:00:00"),
    (
        "0 1 15 JUL mon,Wed,FRi",
        "2019-11-14 00:00:00",
        "2020-07-01 01:00:00",
    ),
    (
        "0 1 15 jul mon,Wed,FRi",
        "2019-11-14 00:00:00",
        "2020-07-01 01:00:00",
    ),
    ("@Weekly", "2019-11-14 00:00:00", "2019-11-17 00:00:00"),
    ("@WEEKLY", "2019-11-14 00:00:00", "2019-11-17 00:00:00"),
    ("0 12 * * ?", "2020-08-20 00:00:00", "2020-08-20 12:00:00"),
    ("0 12 ? * *", "2020-08-20 00:00:00", "2020-08-20 12:00:00"),
    (
        "0-59/59 10 * * *",
        "2021-08-25 10:00:00",
        "2021-08-25 10:00:00",
    ),
    (
        "0-59/59 10 * * *",
        "2021-08-25 09:00:00",
        "2021-08-25 10:00:00",
    ),
    (
        "0-59/59 10 * * *",
        "2021-08-25 10:01:00",
        "2021-08-25 10:59:00",
    ),
    (
        "41-59/24 5 * * *",
        "2021-08-25 10:00:00",
        "2021-08-26 05:41:00",
    ),
    // testMakeDayOfWeekAnOrSometimes (its five runs from 2019-10-10 23:20, each from
    // after the one before): both day fields restricted, either one does.
    ("30 0 1 * 1", "2019-10-10 23:20:00", "2019-10-14 00:30:00"),
    ("30 0 1 * 1", "2019-10-14 00:31:00", "2019-10-21 00:30:00"),
    ("30 0 1 * 1", "2019-10-21 00:31:00", "2019-10-28 00:30:00"),
    ("30 0 1 * 1", "2019-10-28 00:31:00", "2019-11-01 00:30:00"),
    ("30 0 1 * 1", "2019-11-01 00:31:00", "2019-11-04 00:30:00"),
];

/// Where baton differs from cron-expression: the vector, baton's answer (`None`: the
/// expression is refused), why.
/// cron-expression's expression, from, and next run.
type Due = (&'static str, &'static str, &'static str);
const CRON_EXPRESSION_DIFFERS: &[(Due, Option<&str>, &str)] = &[
    (
        (
            "0-59/65 10 * * *",
            "2021-08-25 10:01:00",
            "2021-08-25 10:05:00",
        ),
        Some("2021-08-26 10:00:00"),
        "Vixie: a step longer than its range names the range's start only (cron-expression wraps it to :05)",
    ),
    (
        ("0 0 * * 7-4", "2011-06-15 23:09:00", "2011-06-16 00:00:00"),
        None,
        "a range whose start is past its end is refused, as croner refuses it (cron-expression wraps it round the week)",
    ),
    (
        ("0 0 * * 7-3", "2011-06-15 23:09:00", "2011-06-19 00:00:00"),
        None,
        "a range whose start is past its end is refused, as croner refuses it (cron-expression wraps it round the week)",
    ),
    (
        (
            "3-59/15 6-12 */15 1 2-5",
            "2017-01-08 00:00:00",
            "2017-01-10 06:03:00",
        ),
        Some("2017-01-31 06:03:00"),
        "Vixie: `*/15` starts with `*`, so the day must also be Tuesday to Friday (cron-expression ORs a stepped day field)",
    ),
];

/// The next run at or after the minute of `from` (cron-expression's `allowCurrentDate`).
fn at_or_after_minute(c: &Cadence, from: Timestamp) -> Option<Timestamp> {
    c.next_after(Timestamp(from.0 - from.0.rem_euclid(60_000) - 1000))
}

#[test]
fn robfig_activation_vectors_pass_or_are_declared() {
    for &(time, spec, fires) in ROBFIG_ACTIVATION {
        let c = Cadence::new(spec, "UTC").unwrap_or_else(|e| panic!("{spec}: {e}"));
        let t = when(time, chrono_tz::UTC);
        assert_eq!(
            c.next_after(Timestamp(t.0 - 1000)) == Some(t),
            fires,
            "{spec} at {time}"
        );
    }
    for &(time, spec, baton, why) in ROBFIG_ACTIVATION_DIFFERS {
        let c = Cadence::new(spec, "UTC").unwrap();
        let t = when(time, chrono_tz::UTC);
        assert_eq!(
            c.next_after(Timestamp(t.0 - 1000)) == Some(t),
            baton,
            "{spec}: {why}"
        );
    }
}

fn robfig_next(v: &Next) -> (Option<Timestamp>, chrono_tz::Tz) {
    let (zone, from, spec, _) = *v;
    let z = zone_of(zone);
    let c = Cadence::new(spec, zone).unwrap_or_else(|e| panic!("{spec}: {e}"));
    (c.next_after(when(from, z)), z)
}

#[test]
fn robfig_vectors_that_never_fire_are_refused_at_load() {
    for spec in ROBFIG_NEVER {
        let e = Cadence::new(spec, "UTC").expect_err(spec);
        assert!(matches!(e, CadenceError::NoSuchDate { .. }), "{spec}: {e}");
    }
}

#[test]
fn robfig_next_vectors_pass_or_are_declared() {
    for v in ROBFIG_NEXT {
        let (got, z) = robfig_next(v);
        assert_eq!(got, v.3.map(|w| when(w, z)), "{v:?}");
    }
    for (v, baton, why) in ROBFIG_NEXT_DIFFERS {
        let (got, z) = robfig_next(v);
        assert_ne!(
            got,
            v.3.map(|w| when(w, z)),
            "{v:?} is no longer a difference"
        );
        assert_eq!(got, baton.map(|w| when(w, z)), "{v:?}: {why}");
    }
}

#[test]
fn cron_expression_vectors_pass_or_are_declared() {
    let utc = chrono_tz::UTC;
    for &(expr, from, want) in CRON_EXPRESSION {
        let c = Cadence::new(expr, "UTC").unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = at_or_after_minute(&c, when(from, utc));
        assert_eq!(got, Some(when(want, utc)), "{expr} from {from}");
    }
    for &((expr, from, want), baton, why) in CRON_EXPRESSION_DIFFERS {
        let got = Cadence::new(expr, "UTC")
            .ok()
            .and_then(|c| at_or_after_minute(&c, when(from, utc)));
        assert_ne!(
            got,
            Some(when(want, utc)),
            "{expr} is no longer a difference"
        );
        assert_eq!(got, baton.map(|w| when(w, utc)), "{expr}: {why}");
    }
}
