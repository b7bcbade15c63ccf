//! Where cron dialects read the same fields differently, what baton asks croner for
//! (issue 57 point 3). croner alone parses and searches; these only decide how.
//!
//! - Day-of-month and day-of-week (Vixie cron, cronie): a day field that starts with
//!   `*` is unrestricted, so a day must match both fields (`0 9 */2 * 1-5`: odd dates
//!   that are weekdays); only when both fields name days does either one do (`0 9 1,15
//!   * 1`: the 1st, the 15th and every Monday). croner counts only a bare `*`, so on
//!   its own it ORs `*/2` with `1-5`.
//! - `N/S` (robfig/cron, Quartz): from N to the field's last value, every S (`0/15` is
//!   `*/15`, `5/15` is 5, 20, 35, 50). Vixie and croner refuse it; baton writes it
//!   `N-LAST/S` before croner reads it. (croner's `sloppy_ranges` would take a bare
//!   `/S` too, and run a day-of-week step to 7, a second Sunday: robfig ends it at 6.)

/// The last value of each field, seconds first (a five-field expression has none).
const LAST: [u32; 6] = [59, 59, 23, 31, 12, 6];

/// The fields of a five- or six-field expression with the last value of each.
fn fields(expr: &str) -> Option<Vec<(&str, u32)>> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    let last = match f.len() {
        5 => &LAST[1..],
        6 => &LAST[..],
        _ => return None,
    };
    Some(f.into_iter().zip(last.iter().copied()).collect())
}

/// Whether a day must match both day fields: one of them starts with `*` (or `?`,
/// robfig's and Quartz's "no value", which croner reads as `*`).
pub(super) fn days_and(expr: &str) -> bool {
    let unrestricted = |f: &str| f.starts_with('*') || f.starts_with('?');
    fields(expr).is_some_and(|f| {
        let n = f.len();
        unrestricted(f[n - 3].0) || unrestricted(f[n - 1].0)
    })
}

/// `expr` with every `N/S` written `N-LAST/S` (`0/15 * * * *` → `0-59/15 * * * *`);
/// anything else as it was.
pub(super) fn spell_steps(expr: &str) -> String {
    let Some(fields) = fields(expr) else {
        return expr.to_string();
    };
    let spelled: Vec<String> = fields
        .into_iter()
        .map(|(field, last)| {
            let parts: Vec<String> = field
                .split(',')
                .map(|part| match part.split_once('/') {
                    Some((start, step))
                        if !start.is_empty()
                            && !start.contains('-')
                            && !start.starts_with(['*', '?']) =>
                    {
                        format!("{start}-{last}/{step}")
                    }
                    _ => part.to_string(),
                })
                .collect();
            parts.join(",")
        })
        .collect();
    spelled.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_field_that_starts_with_a_star_makes_both_count() {
        assert!(days_and("0 9 */2 * 1-5"));
        assert!(days_and("0 9 * * 1-5"));
        assert!(days_and("0 9 1,15 * */2"));
        assert!(days_and("0 0 9 ? * MON"));
        assert!(!days_and("0 9 1,15 * 1"));
        assert!(!days_and("0 0 9 1/2 * 1-5"));
        assert!(!days_and("@weekly"));
    }

    #[test]
    fn a_step_from_a_value_runs_to_the_fields_last_value() {
        assert_eq!(spell_steps("0/15 * * * *"), "0-59/15 * * * *");
        assert_eq!(
            spell_steps("15/35 20-35/15 1/2 */2 * *"),
            "15-59/35 20-35/15 1-23/2 */2 * *"
        );
        assert_eq!(spell_steps("0 0 0 * FEB MON/2"), "0 0 0 * FEB MON-6/2");
        assert_eq!(
            spell_steps("5,10/20 * * JAN/3 *"),
            "5,10-59/20 * * JAN-12/3 *"
        );
        // A bare `/S` stays for croner to refuse (with its hint: `*/S`).
        assert_eq!(spell_steps("/10 * * * *"), "/10 * * * *");
        assert_eq!(spell_steps("@hourly"), "@hourly");
    }
}
