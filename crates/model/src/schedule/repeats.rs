//! Fall-back repeats for every form of the hour field (issue 57 point 3). croner runs a
//! wall-clock time the clocks repeat once only when the second, minute and hour fields
//! are single values (`30 1 * * *`); with a list, a range or a step (`30 0,1,2 * * *`
//! in America/New_York) it runs 01:30 in both passes. As a gap's slot is moved for any
//! hour field that names hours (`gaps`), a repeat's second pass is skipped for them
//! too: each local time the expression names runs once, at its first occurrence. A `*`
//! hour field (an interval job) runs in both passes, as before.
use chrono::offset::LocalResult;
use chrono::{Offset, TimeZone};

/// The second pass of a repeated range of local times: from `starts` (the instant the
/// clocks went back) to `ends` (the first instant after it), unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SecondPass {
    pub starts: i64,
    pub ends: i64,
}

fn offset(zone: chrono_tz::Tz, at: i64) -> Option<i32> {
    let utc = chrono::DateTime::from_timestamp(at, 0)?.naive_utc();
    Some(zone.offset_from_utc_datetime(&utc).fix().local_minus_utc())
}

/// The second pass `at` (unix seconds) falls in, if its local time in `zone` is one
/// the clocks repeat and `at` is its later occurrence.
pub(super) fn second_pass_of(zone: chrono_tz::Tz, at: i64) -> Option<SecondPass> {
    let local = zone.timestamp_opt(at, 0).single()?.naive_local();
    let LocalResult::Ambiguous(first, second) = zone.from_local_datetime(&local) else {
        return None;
    };
    if second.timestamp() != at {
        return None;
    }
    // The clocks went back somewhere in (first, at]: the first instant with `at`'s
    // offset. The repeat lasts as long as the offsets differ.
    let later = offset(zone, at)?;
    let (mut lo, mut hi) = (first.timestamp(), at);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset(zone, mid)? == later {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(SecondPass {
        starts: hi,
        ends: hi + (at - first.timestamp()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_pass_of_a_repeated_hour_is_found() {
        let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        // 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST; 01:xx EST is 06:xx Z.
        let pass = SecondPass {
            starts: at("2026-11-01T06:00:00Z"),
            ends: at("2026-11-01T07:00:00Z"),
        };
        assert_eq!(second_pass_of(ny, at("2026-11-01T06:30:00Z")), Some(pass));
        assert_eq!(second_pass_of(ny, at("2026-11-01T06:00:00Z")), Some(pass));
        assert_eq!(second_pass_of(ny, at("2026-11-01T06:59:59Z")), Some(pass));
        // The first pass, the hour after, and an ordinary day are no second pass.
        assert_eq!(second_pass_of(ny, at("2026-11-01T05:30:00Z")), None);
        assert_eq!(second_pass_of(ny, at("2026-11-01T07:00:00Z")), None);
        assert_eq!(second_pass_of(ny, at("2026-07-01T06:30:00Z")), None);
    }
}
