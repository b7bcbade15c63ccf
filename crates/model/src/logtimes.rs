//! When a step's output was written. While a run goes on it keeps one time index for
//! all its logs, [`INDEX`] in the run's log directory: one `NAME OFFSET MILLIS` line
//! each time a second starts in which the attempt whose log is NAME
//! (`<step>.<attempt>.log`) wrote, OFFSET being that log's length before the write. A
//! line's time is the last record of its log at or before its start; the console's `t`
//! shows it (to the second, so one record a second is enough). When the run ends, the
//! engine moves each log's records onto its attempt's row in the store, as [`record`]
//! lines, and removes the index (`store::log_times`): an ended run's directory holds
//! its attempts' logs and nothing else (issue 29: a file per attempt at most; a
//! sidecar per log doubled the files and the blocks they take, an index per run was a
//! file more per run).
//!
//! Runs written before keep a sidecar beside each log, `<log>.times`, of `OFFSET
//! MILLIS` lines ([`sidecar_path`], [`record`], [`parse`]), or their index; readers
//! read all three.
use super::Timestamp;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The run's time index, in its log directory. Its name ends in neither `.log` nor
/// `.log.times`, so no step's log or old sidecar can take it.
pub const INDEX: &str = "run.times";

/// The time index of the run that `log` belongs to.
pub fn index_path(log: &Path) -> PathBuf {
    log.with_file_name(INDEX)
}

/// What a writer appends after a record torn by a crash (the index not ending in a
/// newline) before its own: the torn record gets a field too many, or a time that is
/// not a number, so readers skip it whatever its length (a torn time alone would read
/// as a wrong one).
pub const TORN_END: &str = " torn\n";

/// One record of the run's index: the log named `log` was `offset` bytes long at `at`.
pub fn index_record(log: &str, offset: u64, at: Timestamp) -> String {
    format!("{log} {offset} {}\n", at.millis())
}

/// The complete records in `text` of the log named `log` (a torn last line is left for
/// the next read; a line torn by a crash is ended with [`TORN_END`] by the next writer
/// and skipped), and how many bytes of `text` were read.
pub fn parse_index(text: &[u8], log: &str) -> (Vec<(u64, Timestamp)>, usize) {
    let (lines, end) = complete_lines(text);
    let records = lines
        .filter_map(index_line)
        .filter(|&(name, ..)| name == log)
        .map(|(_, o, t)| (o, t))
        .collect();
    (records, end)
}

/// Every log's complete records in the run's index `text`, by log name, in order.
pub fn parse_index_all(text: &[u8]) -> BTreeMap<String, Vec<(u64, Timestamp)>> {
    let mut all: BTreeMap<String, Vec<(u64, Timestamp)>> = BTreeMap::new();
    for (name, o, t) in complete_lines(text).0.filter_map(index_line) {
        all.entry(name.to_string()).or_default().push((o, t));
    }
    all
}

/// The lines of `text` that end in a newline, and how many bytes they take.
fn complete_lines(text: &[u8]) -> (impl Iterator<Item = &[u8]>, usize) {
    let end = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let lines = text[..end].split(|&b| b == b'\n').filter(|l| !l.is_empty());
    (lines, end)
}

/// One record of the run's index: `NAME OFFSET MILLIS`, nothing more.
fn index_line(l: &[u8]) -> Option<(&str, u64, Timestamp)> {
    let l = std::str::from_utf8(l).ok()?;
    let mut fields = l.split(' ');
    let (name, o, t) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    Some((
        name,
        o.parse().ok()?,
        Timestamp::from_millis(t.parse().ok()?),
    ))
}

/// Where a reader finds an ended run's records once its index is gone: the store
/// (`Store::log_times`), asked by run, step and attempt.
#[derive(Clone)]
pub struct StoredTimes(Arc<ReadTimes>);

/// A log's time records: (its length at the record, when).
pub type Records = Vec<(u64, Timestamp)>;

type ReadTimes = dyn Fn(&str, &str, u32) -> Records + Send + Sync;

impl StoredTimes {
    pub fn new(read: impl Fn(&str, &str, u32) -> Records + Send + Sync + 'static) -> StoredTimes {
        StoredTimes(Arc::new(read))
    }

    /// The records of `step`'s attempt `attempt` in `run` (none if none were kept).
    pub fn get(&self, run: &str, step: &str, attempt: u32) -> Records {
        (self.0)(run, step, attempt)
    }
}

impl std::fmt::Debug for StoredTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredTimes")
    }
}

/// An old run's sidecar of `log`.
pub fn sidecar_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_os_string();
    name.push(".times");
    PathBuf::from(name)
}

/// Whether a write at `now` needs a record, after the last one at `last` (ms).
pub fn needs_record(last: Option<i64>, now: Timestamp) -> bool {
    last.is_none_or(|l| l.div_euclid(1000) != now.millis().div_euclid(1000))
}

/// A record of an old run's sidecar, and of the records kept in the store.
pub fn record(offset: u64, at: Timestamp) -> String {
    format!("{offset} {}\n", at.millis())
}

/// The complete records in an old sidecar's `text` (a torn last line is left for the next read), and
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

    #[test]
    fn the_run_index_keeps_each_logs_records_and_skips_torn_ones() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        let u = Timestamp::from_millis(1_700_000_001_000);
        // A crash tore `b.1.log 9`; the next writer began its record after it.
        let text = format!(
            "{}{}b.1.log 9{}{}a.1.log 7",
            index_record("a.1.log", 0, t),
            index_record("b.1.log", 0, t),
            index_record("a.1.log", 40, u),
            index_record("b.1.log", 12, u),
        );
        let (a, used) = parse_index(text.as_bytes(), "a.1.log");
        assert_eq!(a, [(0, t)]);
        assert_eq!(used, text.len() - "a.1.log 7".len());
        let (b, _) = parse_index(text.as_bytes(), "b.1.log");
        assert_eq!(b, [(0, t), (12, u)]);
        // Ended by the next writer wherever it was cut, a torn record is never read.
        let whole = index_record("a.1.log", 40, u);
        for cut in 0..whole.len() {
            let text = format!("{}{TORN_END}{whole}", &whole[..cut]);
            let (a, used) = parse_index(text.as_bytes(), "a.1.log");
            assert_eq!(a, [(40, u)], "cut at {cut}: {text:?}");
            assert_eq!(used, text.len());
        }
        assert_eq!(
            index_path(Path::new("/l/R1/a.1.log")),
            Path::new("/l/R1/run.times")
        );
    }
}
