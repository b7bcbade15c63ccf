use super::*;

fn utc(s: &str) -> Timestamp {
    Timestamp(
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis(),
    )
}

fn hourly() -> Cadence {
    Cadence::new("0 * * * *", "UTC").unwrap()
}

fn facts(now: &str, cursor: &str, awake: &str) -> Facts {
    Facts {
        now: utc(now),
        cursor: utc(cursor),
        awake_since: utc(awake),
        paused: false,
        catch_up: CatchUp::None,
        max_catch_up: DEFAULT_MAX_CATCH_UP,
    }
}

fn fates(d: &Decision) -> Vec<(String, &'static str)> {
    d.slots
        .iter()
        .map(|(t, f)| (t.to_rfc3339()[11..16].to_string(), f.as_str()))
        .collect()
}

fn v(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    pairs.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

#[test]
fn the_forms_of_cron_parse_and_bad_ones_say_why() {
    for ok in [
        "*/5 * * * *",
        "*/2 * * * * *",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
    ] {
        assert!(parse_cron(ok).is_ok(), "{ok}");
    }
    assert!(
        parse_cron("* * * *")
            .unwrap_err()
            .to_string()
            .contains("4 field(s)")
    );
    assert!(
        parse_cron("0 0 0 1 1 * 2030")
            .unwrap_err()
            .to_string()
            .contains("7 field(s)")
    );
    assert_eq!(
        parse_cron("61 * * * *").unwrap_err().to_string(),
        "the minute field `61` holds 61, outside 0-59"
    );
    assert_eq!(
        parse_cron("0 30 25 * * *").unwrap_err().to_string(),
        "the hour field `25` holds 25, outside 0-23"
    );
    assert_eq!(
        parse_cron("0 2 * 0-12 *").unwrap_err().to_string(),
        "the month field `0-12` holds 0, outside 1-12"
    );
    assert!(parse_cron("").is_err());
    assert!(parse_zone("Europe/Paris").is_ok());
    assert!(
        parse_zone("Mars/Olympus")
            .unwrap_err()
            .to_string()
            .contains("IANA")
    );
}

#[test]
fn a_slot_that_comes_due_while_serving_starts() {
    let f = facts(
        "2026-01-01T10:00:00.300Z",
        "2026-01-01T09:00:00Z",
        "2026-01-01T09:30:00Z",
    );
    let d = decide(&hourly(), &f);
    assert_eq!(fates(&d), v(&[("10:00", "started")]));
    assert_eq!(d.next, Some(utc("2026-01-01T11:00:00Z")));
    // Before it: nothing, and the next slot is named.
    let f = facts(
        "2026-01-01T09:59:59.900Z",
        "2026-01-01T09:00:00Z",
        "2026-01-01T09:30:00Z",
    );
    let d = decide(&hourly(), &f);
    assert!(d.slots.is_empty());
    assert_eq!(d.next, Some(utc("2026-01-01T10:00:00Z")));
}

/// Down from 06:30 to 10:10: slots 07:00, 08:00, 09:00 and 10:00 were missed.
fn after_downtime(catch_up: CatchUp, max: u32) -> Decision {
    let mut f = facts(
        "2026-01-01T10:10:00Z",
        "2026-01-01T06:00:00Z",
        "2026-01-01T10:10:00Z",
    );
    f.catch_up = catch_up;
    f.max_catch_up = max;
    decide(&hourly(), &f)
}

#[test]
fn catch_up_none_records_the_latest_missed_slot_and_runs_nothing() {
    assert_eq!(
        fates(&after_downtime(CatchUp::None, 10)),
        v(&[("10:00", "missed")])
    );
}

#[test]
fn catch_up_latest_runs_the_latest_missed_slot() {
    assert_eq!(
        fates(&after_downtime(CatchUp::Latest, 10)),
        v(&[("10:00", "started")])
    );
}

#[test]
fn catch_up_all_runs_every_missed_slot_bounded_by_max_catch_up() {
    assert_eq!(
        fates(&after_downtime(CatchUp::All, 10)),
        v(&[
            ("07:00", "started"),
            ("08:00", "started"),
            ("09:00", "started"),
            ("10:00", "started")
        ])
    );
    // At most max_catch_up: the latest ones.
    assert_eq!(
        fates(&after_downtime(CatchUp::All, 2)),
        v(&[("09:00", "started"), ("10:00", "started")])
    );
    assert_eq!(
        fates(&after_downtime(CatchUp::All, 0)),
        v(&[("10:00", "missed")])
    );
}

#[test]
fn every_catch_up_with_slots_missed_and_on_time_paused_or_not() {
    // Missed 08:00 and 09:00 while down; 10:00 came due while serving.
    let expected = |c: CatchUp, paused: bool| -> Vec<(&str, &'static str)> {
        match (c, paused) {
            (_, true) => vec![("10:00", "paused")],
            (CatchUp::None, false) => vec![("09:00", "missed"), ("10:00", "started")],
            (CatchUp::Latest, false) => vec![("09:00", "started"), ("10:00", "started")],
            (CatchUp::All, false) => {
                vec![
                    ("08:00", "started"),
                    ("09:00", "started"),
                    ("10:00", "started"),
                ]
            }
        }
    };
    for c in [CatchUp::None, CatchUp::Latest, CatchUp::All] {
        for paused in [false, true] {
            let mut f = facts(
                "2026-01-01T10:00:01Z",
                "2026-01-01T07:00:00Z",
                "2026-01-01T09:30:00Z",
            );
            f.catch_up = c;
            f.paused = paused;
            let d = decide(&hourly(), &f);
            assert_eq!(fates(&d), v(&expected(c, paused)), "{c:?} paused={paused}");
            assert_eq!(d.next, Some(utc("2026-01-01T11:00:00Z")));
        }
    }
}

#[test]
fn a_paused_schedule_records_its_latest_slot_as_paused() {
    let mut f = facts(
        "2026-01-01T10:10:00Z",
        "2026-01-01T06:00:00Z",
        "2026-01-01T08:30:00Z",
    );
    f.paused = true;
    f.catch_up = CatchUp::All;
    let d = decide(&hourly(), &f);
    assert_eq!(fates(&d), v(&[("10:00", "paused")]));
}

#[test]
fn a_clock_that_jumps_back_fires_nothing_again() {
    // The 10:00 slot fired; the clock is set back to 08:59.
    let f = facts(
        "2026-01-01T08:59:00Z",
        "2026-01-01T10:00:00Z",
        "2026-01-01T07:00:00Z",
    );
    let d = decide(&hourly(), &f);
    assert!(d.slots.is_empty());
    assert_eq!(d.next, Some(utc("2026-01-01T11:00:00Z")));
    // Back at 10:30 (still after the cursor? no: 10:00 was recorded): nothing either.
    let f = facts(
        "2026-01-01T10:00:00Z",
        "2026-01-01T10:00:00Z",
        "2026-01-01T07:00:00Z",
    );
    assert!(decide(&hourly(), &f).slots.is_empty());
    // Once it passes 11:00, the 11:00 slot fires, once.
    let f = facts(
        "2026-01-01T11:00:00.500Z",
        "2026-01-01T10:00:00Z",
        "2026-01-01T07:00:00Z",
    );
    assert_eq!(fates(&decide(&hourly(), &f)), v(&[("11:00", "started")]));
}

#[test]
fn a_clock_that_jumps_forward_catches_up_as_told() {
    // Serving since 06:30, the clock jumps from 07:30 to 10:10: those slots came due
    // while serving, so they are on time (bounded), whatever catch_up says.
    let f = facts(
        "2026-01-01T10:10:00Z",
        "2026-01-01T07:00:00Z",
        "2026-01-01T06:30:00Z",
    );
    assert_eq!(
        fates(&decide(&hourly(), &f)),
        v(&[
            ("08:00", "started"),
            ("09:00", "started"),
            ("10:00", "started")
        ])
    );
}

#[test]
fn a_per_second_schedule_stalled_for_long_starts_a_bounded_number() {
    let c = Cadence::new("* * * * * *", "UTC").unwrap();
    let f = facts(
        "2026-01-02T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
    );
    let d = decide(&c, &f);
    assert_eq!(d.slots.len(), MAX_ON_TIME);
    assert_eq!(d.slots.last().unwrap().0, utc("2026-01-02T00:00:00Z"));
}

/// Europe/Paris: on 2026-03-29 02:00 CET becomes 03:00 CEST (02:xx does not exist);
/// on 2026-10-25 03:00 CEST becomes 02:00 CET (02:xx happens twice).
fn paris(expr: &str) -> Cadence {
    Cadence::new(expr, "Europe/Paris").unwrap()
}

fn run_of(c: &Cadence, from: &str, n: usize) -> Vec<String> {
    let mut t = utc(from);
    let mut out = Vec::new();
    for _ in 0..n {
        t = c.next_after(t).unwrap();
        out.push(t.to_rfc3339());
    }
    out
}

/// The slots after `from` are `want`, and backward, from the last of them, the same.
fn both_ways(c: &Cadence, from: &str, want: &[&str], expr: &str) {
    assert_eq!(run_of(c, from, want.len()), want.to_vec(), "{expr}");
    let last = utc(&want[want.len() - 1].replace(".000Z", "Z"));
    let mut back: Vec<String> = c
        .slots_back(utc(from), last, want.len())
        .into_iter()
        .map(|t| t.to_rfc3339())
        .collect();
    back.reverse();
    assert_eq!(back, want.to_vec(), "{expr} backward");
}

#[test]
fn spring_forward_a_fixed_time_runs_right_after_the_gap_and_intervals_skip_it() {
    // 02:30 Paris does not exist on 2026-03-29: it runs at 03:00 CEST (01:00Z) that day.
    let daily = paris("30 2 * * *");
    assert_eq!(
        run_of(&daily, "2026-03-27T12:00:00Z", 3),
        vec![
            "2026-03-28T01:30:00.000Z", // 02:30 CET
            "2026-03-29T01:00:00.000Z", // the gap: 03:00 CEST
            "2026-03-30T00:30:00.000Z", // 02:30 CEST
        ]
    );
    // Every 30 minutes: 01:30 CET, then 03:00 CEST (02:00 and 02:30 do not exist).
    let half = paris("*/30 * * * *");
    assert_eq!(
        run_of(&half, "2026-03-29T00:15:00Z", 3),
        vec![
            "2026-03-29T00:30:00.000Z",
            "2026-03-29T01:00:00.000Z",
            "2026-03-29T01:30:00.000Z"
        ]
    );
}

#[test]
fn fall_back_a_fixed_time_runs_once_and_intervals_run_in_both_passes() {
    // 02:30 Paris happens twice on 2026-10-25: the daily job runs at the first only.
    let daily = paris("30 2 * * *");
    assert_eq!(
        run_of(&daily, "2026-10-24T12:00:00Z", 2),
        vec!["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]
    );
    // Every 30 minutes runs at 02:00 and 02:30 of both passes.
    let half = paris("*/30 * * * *");
    assert_eq!(
        run_of(&half, "2026-10-24T23:45:00Z", 5),
        vec![
            "2026-10-25T00:00:00.000Z", // 02:00 CEST
            "2026-10-25T00:30:00.000Z", // 02:30 CEST
            "2026-10-25T01:00:00.000Z", // 02:00 CET
            "2026-10-25T01:30:00.000Z", // 02:30 CET
            "2026-10-25T02:00:00.000Z", // 03:00 CET
        ]
    );
}

#[test]
fn a_decision_across_the_repeated_hour_fires_each_slot_once() {
    // The daily 02:30 fired in the first pass; during the second pass nothing fires.
    let daily = paris("30 2 * * *");
    let mut f = facts(
        "2026-10-25T01:45:00Z",
        "2026-10-25T00:30:00Z",
        "2026-10-24T12:00:00Z",
    );
    f.catch_up = CatchUp::All;
    assert!(decide(&daily, &f).slots.is_empty());
    f.now = utc("2026-10-26T01:30:00.200Z");
    assert_eq!(fates(&decide(&daily, &f)), v(&[("01:30", "started")]));
}

/// Issue 41 point 6: on the day Paris skips 02:xx, every form of the hour field that
/// names 02 (a list, a range, a step; with seconds too) runs that slot at 03:00 CEST
/// (01:00Z), as the single hour does and as Vixie cron does for any job whose hour is
/// not `*`; the other hours run as on any day. Forward and backward agree.
#[test]
fn spring_forward_moves_a_gap_slot_for_every_hour_field_form() {
    let vectors: [(&str, &str, [&str; 3]); 6] = [
        (
            "30 2,14 * * *",
            "2026-03-28T12:00:00Z",
            [
                "2026-03-28T13:30:00.000Z", // 14:30 CET
                "2026-03-29T01:00:00.000Z", // 02:30 skipped: 03:00 CEST
                "2026-03-29T12:30:00.000Z", // 14:30 CEST
            ],
        ),
        (
            "30 1-3 * * *",
            "2026-03-29T00:00:00Z",
            [
                "2026-03-29T00:30:00.000Z", // 01:30 CET
                "2026-03-29T01:00:00.000Z", // 02:30 skipped: 03:00 CEST
                "2026-03-29T01:30:00.000Z", // 03:30 CEST
            ],
        ),
        (
            "30 */2 * * *",
            "2026-03-28T23:00:00Z",
            [
                "2026-03-28T23:30:00.000Z", // 00:30 CET
                "2026-03-29T01:00:00.000Z", // 02:30 skipped: 03:00 CEST
                "2026-03-29T02:30:00.000Z", // 04:30 CEST
            ],
        ),
        (
            "0 30 2,14 * * *",
            "2026-03-28T12:00:00Z",
            [
                "2026-03-28T13:30:00.000Z",
                "2026-03-29T01:00:00.000Z",
                "2026-03-29T12:30:00.000Z",
            ],
        ),
        (
            "0,30 2 * * *",
            "2026-03-28T12:00:00Z",
            [
                "2026-03-29T01:00:00.000Z", // 02:00 and 02:30 skipped: once at 03:00
                "2026-03-30T00:00:00.000Z", // 02:00 CEST
                "2026-03-30T00:30:00.000Z", // 02:30 CEST
            ],
        ),
        (
            "30 2 * * *",
            "2026-03-28T12:00:00Z",
            [
                "2026-03-29T01:00:00.000Z",
                "2026-03-30T00:30:00.000Z",
                "2026-03-31T00:30:00.000Z",
            ],
        ),
    ];
    for (expr, from, want) in vectors {
        both_ways(&paris(expr), from, &want, expr);
    }
    // A `*` hour keeps skipping the gap (interval jobs, unchanged).
    assert_eq!(
        run_of(&paris("30 * * * *"), "2026-03-29T00:00:00Z", 2),
        vec!["2026-03-29T00:30:00.000Z", "2026-03-29T01:30:00.000Z"]
    );
}

#[test]
fn a_backfill_range_is_inclusive_and_its_ends_read_in_the_schedules_zone() {
    let zone = parse_zone("Europe/Paris").unwrap();
    // A wall-clock date is the zone's midnight; RFC 3339 keeps its offset.
    assert_eq!(
        parse_instant("2026-03-01", zone).unwrap(),
        utc("2026-02-28T23:00:00Z")
    );
    assert_eq!(
        parse_instant("2026-03-01 02:30", zone).unwrap(),
        utc("2026-03-01T01:30:00Z")
    );
    assert_eq!(
        parse_instant("2026-03-01T02:30:00+05:00", zone).unwrap(),
        utc("2026-02-28T21:30:00Z")
    );
    // A time the spring-forward gap skips, and a word, are refused saying why.
    let gap = parse_instant("2026-03-29T02:30", zone)
        .unwrap_err()
        .to_string();
    assert!(gap.contains("does not exist in Europe/Paris"), "{gap}");
    let bad = parse_instant("yesterday", zone).unwrap_err().to_string();
    assert!(
        bad.contains("RFC 3339") && bad.contains("Europe/Paris"),
        "{bad}"
    );
    // Both ends count; the spring-forward day's 02:30 is its 03:00, once.
    let c = paris("30 2 * * *");
    let slots: Vec<String> = c
        .slots_between(
            parse_instant("2026-03-28T02:30", zone).unwrap(),
            parse_instant("2026-03-30T02:30", zone).unwrap(),
            MAX_BACKFILL,
        )
        .into_iter()
        .map(|t| t.to_rfc3339())
        .collect();
    assert_eq!(
        slots,
        vec![
            "2026-03-28T01:30:00.000Z",
            "2026-03-29T01:00:00.000Z",
            "2026-03-30T00:30:00.000Z",
        ]
    );
    // Bounded: the earliest `limit` of them.
    let per_minute = Cadence::new("* * * * *", "UTC").unwrap();
    let first =
        per_minute.slots_between(utc("2026-01-01T00:00:00Z"), utc("2026-01-02T00:00:00Z"), 3);
    assert_eq!(first.len(), 3);
    assert_eq!(first[0], utc("2026-01-01T00:00:00Z"));
}

fn utc_run(expr: &str, from: &str, n: usize) -> Vec<String> {
    run_of(&Cadence::new(expr, "UTC").unwrap(), from, n)
}

/// Issue 57 point 3, Vixie cron's day rule: a day field that starts with `*` leaves
/// the day to the other field, so `*/2` next to `1-5` means odd dates that are
/// weekdays (a crontab's `0 9 */2 * 1-5`); two restricted fields still mean either.
#[test]
fn a_starred_day_field_with_a_step_ands_with_the_other_day_field() {
    // March 2026 starts on a Sunday: odd weekdays are the 3rd, 5th, 9th, 11th, 13th.
    assert_eq!(
        utc_run("0 9 */2 * 1-5", "2026-03-01T00:00:00Z", 5),
        vec![
            "2026-03-03T09:00:00.000Z",
            "2026-03-05T09:00:00.000Z",
            "2026-03-09T09:00:00.000Z",
            "2026-03-11T09:00:00.000Z",
            "2026-03-13T09:00:00.000Z",
        ]
    );
    // The same with the step on the weekday (Sunday, Tuesday, Thursday, Saturday).
    assert_eq!(
        utc_run("0 9 1-7 * */2", "2026-03-01T00:00:00Z", 4),
        vec![
            "2026-03-01T09:00:00.000Z",
            "2026-03-03T09:00:00.000Z",
            "2026-03-05T09:00:00.000Z",
            "2026-03-07T09:00:00.000Z",
        ]
    );
    // Both restricted: the 1st, the 15th and every Monday.
    assert_eq!(
        utc_run("0 9 1,15 * 1", "2026-03-01T00:00:00Z", 5),
        vec![
            "2026-03-01T09:00:00.000Z",
            "2026-03-02T09:00:00.000Z",
            "2026-03-09T09:00:00.000Z",
            "2026-03-15T09:00:00.000Z",
            "2026-03-16T09:00:00.000Z",
        ]
    );
    // Backward agrees.
    both_ways(
        &Cadence::new("0 9 */2 * 1-5", "UTC").unwrap(),
        "2026-03-01T00:00:00Z",
        &[
            "2026-03-03T09:00:00.000Z",
            "2026-03-05T09:00:00.000Z",
            "2026-03-09T09:00:00.000Z",
        ],
        "0 9 */2 * 1-5",
    );
}

/// robfig's and Quartz's `N/S`: from N to the field's end, every S; a bare `/S` is
/// still refused, saying what to write.
#[test]
fn a_step_from_a_value_runs_from_it_to_the_fields_end() {
    let every_15 = utc_run("*/15 * * * *", "2026-03-01T10:07:00Z", 4);
    assert_eq!(utc_run("0/15 * * * *", "2026-03-01T10:07:00Z", 4), every_15);
    assert_eq!(
        every_15,
        vec![
            "2026-03-01T10:15:00.000Z",
            "2026-03-01T10:30:00.000Z",
            "2026-03-01T10:45:00.000Z",
            "2026-03-01T11:00:00.000Z",
        ]
    );
    assert_eq!(
        utc_run("5/15 * * * *", "2026-03-01T10:07:00Z", 4),
        vec![
            "2026-03-01T10:20:00.000Z",
            "2026-03-01T10:35:00.000Z",
            "2026-03-01T10:50:00.000Z",
            "2026-03-01T11:05:00.000Z",
        ]
    );
    // On the weekday the step ends at Saturday (6): Monday, Wednesday, Friday.
    assert_eq!(
        utc_run("0 9 * * 1/2", "2026-03-01T00:00:00Z", 4),
        vec![
            "2026-03-02T09:00:00.000Z",
            "2026-03-04T09:00:00.000Z",
            "2026-03-06T09:00:00.000Z",
            "2026-03-09T09:00:00.000Z",
        ]
    );
    let bare = parse_cron("/15 * * * *").unwrap_err().to_string();
    assert!(bare.contains("*/15"), "{bare}");
    assert_eq!(
        parse_cron("61/5 * * * *").unwrap_err().to_string(),
        "the minute field `61/5` holds 61, outside 0-59"
    );
}

/// America/New_York, 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:xx happens twice
/// (05:xx Z, then 06:xx Z).
fn new_york(expr: &str) -> Cadence {
    Cadence::new(expr, "America/New_York").unwrap()
}

/// Issue 57 point 3: a fixed-hour list, range or step runs each time the repeated hour
/// holds once, at its first pass, as a single hour does; a `*` hour runs in both.
#[test]
fn fall_back_a_fixed_hour_list_runs_each_time_once() {
    let vectors: [(&str, [&str; 4]); 4] = [
        (
            "30 0,1,2 * * *",
            [
                "2026-11-01T04:30:00.000Z", // 00:30 EDT
                "2026-11-01T05:30:00.000Z", // 01:30 EDT (not again at 01:30 EST)
                "2026-11-01T07:30:00.000Z", // 02:30 EST
                "2026-11-02T05:30:00.000Z", // 00:30 EST
            ],
        ),
        (
            "30 1-2 * * *",
            [
                "2026-11-01T05:30:00.000Z",
                "2026-11-01T07:30:00.000Z",
                "2026-11-02T06:30:00.000Z",
                "2026-11-02T07:30:00.000Z",
            ],
        ),
        (
            "0,30 1 * * *",
            [
                "2026-11-01T05:00:00.000Z",
                "2026-11-01T05:30:00.000Z",
                "2026-11-02T06:00:00.000Z",
                "2026-11-02T06:30:00.000Z",
            ],
        ),
        (
            "0 30 */1 * * *",
            [
                "2026-11-01T03:30:00.000Z", // 23:30 EDT
                "2026-11-01T04:30:00.000Z",
                "2026-11-01T05:30:00.000Z",
                "2026-11-01T07:30:00.000Z",
            ],
        ),
    ];
    let from = "2026-11-01T03:00:00Z";
    for (expr, want) in vectors {
        both_ways(&new_york(expr), from, &want, expr);
    }
    // A `*` hour runs 01:30 in both passes.
    assert_eq!(
        run_of(&new_york("30 * * * *"), "2026-11-01T05:00:00Z", 3),
        vec![
            "2026-11-01T05:30:00.000Z",
            "2026-11-01T06:30:00.000Z",
            "2026-11-01T07:30:00.000Z"
        ]
    );
    // A serve deciding during the second pass fires nothing; after it, 02:30 EST.
    let mut f = facts(
        "2026-11-01T06:45:00Z",
        "2026-11-01T05:30:00Z",
        "2026-11-01T00:00:00Z",
    );
    f.catch_up = CatchUp::All;
    let list = new_york("30 0,1,2 * * *");
    let d = decide(&list, &f);
    assert!(d.slots.is_empty(), "{d:?}");
    assert_eq!(d.next, Some(utc("2026-11-01T07:30:00Z")));
}
