//! What croner takes and cron refuses (issue 78 point 6): a day of the month no month
//! of the expression has (`* * 30 2 *` never fires: Vixie cron and other libraries
//! refuse it), and a name where cron takes none (`MONL`: cron's names are the three
//! letters of a month in the month field and of a weekday in the weekday field, alone
//! or in a range or list; `L`, `W` and `#` are Quartz's, which croner reads).

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/// The most days each month has (February's 29 in a leap year).
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Why a five- or six-field expression is refused here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refused {
    /// Every day the day-of-month field names is past the end of every month named.
    NoSuchDate { days: String, months: String },
    /// A word that is not a name of its field (`field`: which one).
    NotAName { field: &'static str, word: String },
}

/// The first reason `expr` (five fields, or six with seconds first) is refused.
pub(super) fn refused(expr: &str) -> Option<Refused> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    let (dom, month, dow) = match f.len() {
        5 => (f[2], f[3], f[4]),
        6 => (f[3], f[4], f[5]),
        _ => return None,
    };
    let fields = [
        ("minute", f[f.len() - 5]),
        ("hour", f[f.len() - 4]),
        ("day-of-month", dom),
        ("month", month),
        ("day-of-week", dow),
    ];
    if let Some(r) = fields.iter().find_map(|(name, v)| not_a_name(name, v)) {
        return Some(r);
    }
    no_such_date(dom, month, dow)
}

/// A word in `value` that field `field` does not take.
fn not_a_name(field: &'static str, value: &str) -> Option<Refused> {
    value
        .split([',', '-', '/', '#'])
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .find(|w| !takes(field, w))
        .map(|w| Refused::NotAName {
            field,
            word: w.to_string(),
        })
}

fn takes(field: &str, word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    let number_then = |suffix: &str| {
        upper
            .strip_suffix(suffix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    match field {
        "month" => MONTHS.contains(&upper.as_str()),
        "day-of-week" => DAYS.contains(&upper.as_str()) || upper == "L" || number_then("L"),
        "day-of-month" => upper == "L" || upper == "LW" || number_then("W"),
        _ => false,
    }
}

/// The values a field names, from `lo` to `hi` (`names` for words, from `lo`); `None`
/// when it holds what this does not read (`L`, `W`, a word it does not know).
fn values(field: &str, lo: u32, hi: u32, names: &[&str]) -> Option<Vec<u32>> {
    let num = |w: &str| -> Option<u32> {
        w.parse().ok().or_else(|| {
            let up = w.to_ascii_uppercase();
            names.iter().position(|n| *n == up).map(|i| lo + i as u32)
        })
    };
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = match range {
            "*" | "?" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                // `N/S` runs to the field's end (robfig); `N` alone is N.
                None if part.contains('/') => (num(r)?, hi),
                None => (num(r)?, num(r)?),
            },
        };
        out.extend((a..=b.min(hi)).step_by(step as usize));
    }
    Some(out)
}

/// Day-of-month names days no named month has, and the day-of-week field does not
/// let another day do (it starts with `*`: a day must match both, `fields::days_and`).
fn no_such_date(dom: &str, month: &str, dow: &str) -> Option<Refused> {
    if dom.starts_with(['*', '?']) || !dow.starts_with(['*', '?']) {
        return None;
    }
    let days = values(dom, 1, 31, &[])?;
    let months = values(month, 1, 12, &MONTHS)?;
    let fits = |m: &u32| {
        let last = MONTH_DAYS[(*m as usize).clamp(1, 12) - 1];
        days.iter().any(|d| *d <= last)
    };
    (!days.is_empty() && !months.is_empty() && !months.iter().any(fits)).then(|| {
        Refused::NoSuchDate {
            days: dom.to_string(),
            months: month.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(e: &str) -> bool {
        matches!(refused(e), Some(Refused::NoSuchDate { .. }))
    }

    #[test]
    fn a_date_no_month_has_is_refused() {
        for e in [
            "* * 30 2 *",
            "0 0 31 4,6,9,11 *",
            "0 0 30-31 FEB *",
            "0 0 0 31 2 ?",
            "0 0 31 */2 *".replace("*/2", "4-6/2").as_str(),
        ] {
            assert!(never(e), "{e}");
        }
        for e in [
            "* * 29 2 *",
            "0 0 31 * *",
            "0 0 31 1-4 *",
            "0 0 30 2 1",
            "0 0 L 2 *",
            "@daily",
            "0 0 1/10 2 *",
        ] {
            assert!(!never(e), "{e}");
        }
    }

    #[test]
    fn names_only_where_cron_takes_them() {
        for (e, field, word) in [
            ("0 0 * * MONL", "day-of-week", "MONL"),
            ("0 0 * JANUARY *", "month", "JANUARY"),
            ("0 0 * * MON-FRIX", "day-of-week", "FRIX"),
            ("0 0 * MON *", "month", "MON"),
            ("0 0 JAN * *", "day-of-month", "JAN"),
            ("0 X * * *", "hour", "X"),
        ] {
            assert_eq!(
                refused(e),
                Some(Refused::NotAName {
                    field,
                    word: word.into()
                }),
                "{e}"
            );
        }
        for e in [
            "0 0 * * MON-FRI",
            "0 0 * jan,Feb *",
            "0 0 * * 5L",
            "0 0 L * *",
            "0 0 15W * *",
            "0 0 * * MON#2",
            "0 0 LW * *",
        ] {
            assert_eq!(refused(e), None, "{e}");
        }
    }
}
