//! When a step's output was written: beside each log file, `<log>.times` holds one
//! `OFFSET MILLIS` line each time a second starts in which the step wrote, OFFSET being
//! the log's length before that write. A line's time is the last record at or before
//! its start; the console's `t` shows it (to the second, so one record a second is
//! enough: the sidecar stays tiny whatever the step prints).
use super::Timestamp;
use std::path::{Path, PathBuf};

pub fn sidecar_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_os_string();
    name.push(".times");
    PathBuf::from(name)
}

/// Whether a write at `now` needs a record, after the last one at `last` (ms).
pub fn needs_record(last: Option<i64>, now: Timestamp) -> bool {
    last.is_none_or(|l| l.div_euclid(1000) != now.millis().div_euclid(1000))
}

pub fn record(offset: u64, at: Timestamp) -> String {
    format!("{offset} {}\n", at.millis())
}

/// The complete records in `text` (a torn last line is left for the next read), and
/// how many bytes they took.
pub fn parse(text: &[u8]) -> (Vec<(u64, Timestamp)>, usize) {
    let end = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let records = String::from_utf8_lossy(&text[..end])
        .lines()
        .filter_map(|l| {
            let (o, t) = l.split_once(' ')?;
            Some((o.parse().ok()?, Timestamp::from_millis(t.parse().ok()?)))
        })
        .collect();
    (records, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_one_waits() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        let text = format!("{}{}12 17", record(0, t), record(40, t));
        let (r, used) = parse(text.as_bytes());
        assert_eq!(r, [(0, t), (40, t)]);
        assert_eq!(used, text.len() - "12 17".len());
        assert!(needs_record(None, t));
        assert!(!needs_record(Some(1_700_000_000_999), t));
        assert!(needs_record(Some(1_699_999_999_999), t));
        assert_eq!(
            sidecar_path(Path::new("/l/a.1.log")),
            Path::new("/l/a.1.log.times")
        );
    }
}
