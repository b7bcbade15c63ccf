//! Durations (`500ms`, `30s`, `10m`, `2h`, `1d`, or sums such as `1h30m`) and rates
//! (`N/s`, `N/min`, `N/h`).
use super::plan::Rate;
use std::time::Duration;

const DURATION_HINT: &str = "write a whole number followed by a unit: ms, s, m, h or d (e.g. \"500ms\", \"30s\", \"10m\", \"2h\", \"1d\")";

/// The longest duration accepted anywhere (timeouts, retry delays, gate timeouts,
/// `builtin.sleep`): 30 days. Longer is a typo, and would overflow timestamps anyway.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// Why a text is not a duration; each says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; {hint}", hint = DURATION_HINT)]
    Empty,
    #[error("invalid duration \"{text}\": expected a number at \"{rest}\"; {hint}", hint = DURATION_HINT)]
    NoNumber { text: String, rest: String },
    #[error("invalid duration \"{text}\": the number {n} has no unit; {hint}", hint = DURATION_HINT)]
    NoUnit { text: String, n: u64 },
    #[error("invalid duration \"{text}\": unknown unit \"{unit}\"; {hint}", hint = DURATION_HINT)]
    UnknownUnit { text: String, unit: String },
    #[error("invalid duration \"{0}\": too large, longer than the limit of 30d (30 days)")]
    TooLong(String),
    /// Where zero means nothing (a wait, a timeout).
    #[error("the {0} must be longer than 0")]
    Zero(&'static str),
}

/// Parse a duration such as `30s` or `1h30m`, at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let too_long = || DurationError::TooLong(s.to_string());
    let text = s.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::NoNumber {
                text: s.to_string(),
                rest: rest.to_string(),
            });
        }
        let n: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(DurationError::NoUnit {
                    text: s.to_string(),
                    n,
                });
            }
            other => {
                return Err(DurationError::UnknownUnit {
                    text: s.to_string(),
                    unit: other.to_string(),
                });
            }
        };
        let ms = n.checked_mul(millis_per).ok_or_else(too_long)?;
        total = total
            .checked_add(Duration::from_millis(ms))
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(too_long)?;
    }
    Ok(total)
}

const RATE_HINT: &str =
    "write N/s, N/min or N/h with N a whole number of at least 1 (e.g. \"10/min\")";

/// Why a text is not a rate; each says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("invalid rate \"{0}\": {hint}", hint = RATE_HINT)]
    NoSlash(String),
    #[error("invalid rate \"{text}\": \"{count}\" is not a whole number; {hint}", hint = RATE_HINT)]
    NotANumber { text: String, count: String },
    #[error("invalid rate \"{0}\": the count must be at least 1; {hint}", hint = RATE_HINT)]
    Zero(String),
    #[error("invalid rate \"{text}\": unknown unit \"{unit}\"; {hint}", hint = RATE_HINT)]
    UnknownUnit { text: String, unit: String },
}

/// Parse a rate such as `10/min`: at most `N` starts per second, minute or hour.
pub fn parse_rate(s: &str) -> Result<Rate, RateError> {
    let Some((n, unit)) = s.trim().split_once('/') else {
        return Err(RateError::NoSlash(s.to_string()));
    };
    let count: u32 = n.trim().parse().map_err(|_| RateError::NotANumber {
        text: s.to_string(),
        count: n.trim().to_string(),
    })?;
    if count == 0 {
        return Err(RateError::Zero(s.to_string()));
    }
    let per = match unit.trim() {
        "s" | "sec" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => {
            return Err(RateError::UnknownUnit {
                text: s.to_string(),
                unit: other.to_string(),
            });
        }
    };
    Ok(Rate { count, per })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30d"), Ok(MAX_DURATION));
        assert_eq!(
            parse_duration("29d23h59m59s999ms"),
            Ok(MAX_DURATION - Duration::from_millis(1))
        );
    }

    #[test]
    fn durations_have_a_ceiling_of_30_days() {
        for s in ["31d", "30d1ms", "721h", "99999999999d", "2592000001ms"] {
            let e = parse_duration(s).unwrap_err().to_string();
            assert!(e.contains("longer than the limit of 30d"), "{s}: {e}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(
            parse_duration("")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(
            parse_duration("10")
                .unwrap_err()
                .to_string()
                .contains("no unit")
        );
        assert!(
            parse_duration("10 min")
                .unwrap_err()
                .to_string()
                .contains("no unit")
        );
        assert!(
            parse_duration("10y")
                .unwrap_err()
                .to_string()
                .contains("unknown unit \"y\"")
        );
        assert!(
            parse_duration("s")
                .unwrap_err()
                .to_string()
                .contains("expected a number")
        );
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1.5s").is_err());
        assert!(
            parse_duration("99999999999999999999s")
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
        assert!(
            parse_duration("999999999999999d")
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
    }

    #[test]
    fn rates() {
        assert_eq!(
            parse_rate("5/s"),
            Ok(Rate {
                count: 5,
                per: Duration::from_secs(1)
            })
        );
        assert_eq!(
            parse_rate("10/min"),
            Ok(Rate {
                count: 10,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(
            parse_rate("100/h"),
            Ok(Rate {
                count: 100,
                per: Duration::from_secs(3600)
            })
        );
        assert!(
            parse_rate("0/s")
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert!(parse_rate("10").is_err());
        assert!(
            parse_rate("x/s")
                .unwrap_err()
                .to_string()
                .contains("not a whole number")
        );
        assert!(
            parse_rate("10/day")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
    }
}

/// The shortest exact form in the input syntax: `1h30m`, `500ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// `10/min` and friends.
pub fn format_rate(r: &Rate) -> String {
    match r.per.as_secs() {
        1 => format!("{}/s", r.count),
        60 => format!("{}/min", r.count),
        3600 => format!("{}/h", r.count),
        _ => format!("{}/{}", r.count, format_duration(r.per)),
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        for s in ["500ms", "30s", "10m", "2h", "1d", "1h30m", "1d2h3m4s5ms"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        for s in ["5/s", "10/min", "100/h"] {
            assert_eq!(format_rate(&parse_rate(s).unwrap()), s);
        }
    }
}
