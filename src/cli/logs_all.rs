//! `baton logs RUN` without a step: every step's log, interleaved, each line after the
//! name of its step (`build | …`, `deploy#2 | …` for a later attempt).
//!
//! The order is the order of writing as far as the files tell it: a line's time is the
//! second the engine recorded for the write it started in (`model::logtimes`: the run's
//! index while it goes on, the attempts' rows once it ended), and lines are merged by
//! that time; lines of one second come step by step in the run's order, each step's in
//! its own order. A log without records goes by its step's start. Following, each read
//! (every 200 ms) merges what arrived since the last one the same way, after what was
//! printed: a line is never printed twice or out of its own log's order.
//!
//! Memory does not grow with the logs: a log is copied from its file a line at a time
//! through a small buffer, the run's time index is read a chunk at a time, and only each
//! log's time records (one a second of output) and a bounded number of open files
//! (`OPEN_MAX`) are kept.
use super::logs::{LogError, Output};
use crate::model::{RunView, Timestamp};
use crate::store::Store;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Files kept open at once: a run of thousands of steps opens them in turn.
const OPEN_MAX: usize = 64;

/// A partial last line is held back while following until it ends, or until it is this
/// long (then it is printed, and the rest follows on a line of its own).
const PARTIAL_MAX: u64 = 16 * 1024;

/// The run's time index is read this many bytes at a time (a record is a few dozen).
const INDEX_CHUNK: u64 = 64 * 1024;

/// One attempt's log.
struct Source {
    label: String,
    path: PathBuf,
    /// The file's name, as the run's time index names it.
    name: String,
    /// Bytes printed so far.
    pos: u64,
    /// (offset, time) records, by offset; `next_rec`: the first after `pos`.
    records: Vec<(u64, Timestamp)>,
    next_rec: usize,
    /// The time of a line when no record covers it.
    fallback: Timestamp,
    reader: Option<BufReader<File>>,
}

impl Source {
    /// When the line starting at `pos` was written.
    fn time(&mut self) -> Timestamp {
        while self.next_rec < self.records.len() && self.records[self.next_rec].0 <= self.pos {
            self.next_rec += 1;
        }
        self.next_rec
            .checked_sub(1)
            .map_or(self.fallback, |i| self.records[i].1)
    }
}

/// The run's logs and what was read of the run's time index.
struct Merge {
    run_id: String,
    sources: Vec<Source>,
    open: VecDeque<usize>,
    index_read: u64,
    /// `index_read` is inside a line too long to be a record: skip to its end.
    index_skip: bool,
    /// Records of the index whose log is not known yet (a step that starts later).
    pending: BTreeMap<String, Vec<(u64, Timestamp)>>,
    width: usize,
}

/// The sanitised name a line of step `step`'s attempt `n` is printed after.
fn label(step: &str, n: u32) -> String {
    let id = crate::sanitize::one_line(&crate::sanitize::strip_to_plain(step.as_bytes()));
    if n > 1 { format!("{id}#{n}") } else { id }
}

impl Merge {
    /// Add the attempts' logs not known yet (a new step, a retry), in the run's order.
    fn discover(&mut self, store: &Store, view: &RunView) -> Result<(), LogError> {
        for s in &view.steps {
            for (n, path) in store.attempt_log_files(&self.run_id, &s.id)? {
                if self.sources.iter().any(|x| x.path == path) {
                    continue;
                }
                let name = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut records = store.log_times(&self.run_id, &s.id, n)?;
                records.extend(self.pending.remove(&name).unwrap_or_default());
                records.sort_by_key(|&(o, _)| o);
                let label = label(&s.id, n);
                self.width = self.width.max(label.chars().count());
                self.sources.push(Source {
                    label,
                    path,
                    name,
                    pos: 0,
                    records,
                    next_rec: 0,
                    fallback: s.started_at.unwrap_or(Timestamp(0)),
                    reader: None,
                });
            }
        }
        self.read_index();
        Ok(())
    }

    /// New records of the run's time index (while the run goes on), onto their logs,
    /// read `INDEX_CHUNK` bytes at a time.
    fn read_index(&mut self) {
        use crate::model::logtimes;
        let Some(first) = self.sources.first() else {
            return;
        };
        let path = logtimes::index_path(&first.path);
        let Ok(mut f) = File::open(&path) else {
            return;
        };
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if f.seek(SeekFrom::Start(self.index_read)).is_err()
                || (&mut f).take(INDEX_CHUNK).read_to_end(&mut buf).is_err()
            {
                return;
            }
            let full = buf.len() as u64 == INDEX_CHUNK;
            let start = if self.index_skip {
                // The rest of a line longer than any record: no record.
                match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None if full => {
                        self.index_read += INDEX_CHUNK;
                        continue;
                    }
                    None => return,
                }
            } else {
                0
            };
            self.index_skip = false;
            let end = match buf[start..].iter().rposition(|&b| b == b'\n') {
                Some(i) => start + i + 1,
                // A chunk of one unended line: not a record; skipped to its end.
                None if full && start == 0 => {
                    self.index_read += INDEX_CHUNK;
                    self.index_skip = true;
                    continue;
                }
                None => start,
            };
            self.index_read += end as u64;
            self.add_index_records(&buf[start..end]);
            if !full || end == 0 {
                return;
            }
        }
    }

    /// Records of the run's time index (whole lines) onto their logs, or kept for a log
    /// not known yet.
    fn add_index_records(&mut self, lines: &[u8]) {
        use crate::model::logtimes;
        for (name, records) in logtimes::parse_index_all(lines) {
            match self.sources.iter_mut().find(|s| s.name == name) {
                Some(s) => {
                    s.records.extend(records);
                    s.records.sort_by_key(|&(o, _)| o);
                }
                None => self.pending.entry(name).or_default().extend(records),
            }
        }
    }

    /// Where source `i`'s printable bytes end: its length, or (`complete`) the end of
    /// its last whole line, unless the partial line is already long.
    fn end_of(&self, i: usize, complete: bool) -> std::io::Result<u64> {
        let s = &self.sources[i];
        let len = match std::fs::metadata(&s.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(s.pos),
            Err(e) => return Err(e),
        };
        if !complete || len <= s.pos {
            return Ok(len.max(s.pos));
        }
        let from = len.saturating_sub(PARTIAL_MAX).max(s.pos);
        let mut tail = Vec::new();
        let mut f = File::open(&s.path)?;
        f.seek(SeekFrom::Start(from))?;
        f.take(len - from).read_to_end(&mut tail)?;
        Ok(match tail.iter().rposition(|&b| b == b'\n') {
            Some(i) => from + i as u64 + 1,
            None if len - s.pos >= PARTIAL_MAX => len,
            None => s.pos,
        })
    }

    /// Source `i`'s reader at its position, opened if needed (closing the longest open).
    fn reader(&mut self, i: usize) -> std::io::Result<&mut BufReader<File>> {
        if self.sources[i].reader.is_none() {
            if self.open.len() >= OPEN_MAX
                && let Some(old) = self.open.pop_front()
            {
                self.sources[old].reader = None;
            }
            let mut f = File::open(&self.sources[i].path)?;
            f.seek(SeekFrom::Start(self.sources[i].pos))?;
            self.sources[i].reader = Some(BufReader::with_capacity(64 * 1024, f));
            self.open.push_back(i);
        }
        self.sources[i]
            .reader
            .as_mut()
            .ok_or_else(|| std::io::Error::other("log reader closed"))
    }

    /// Print what the logs hold past what was printed, merged by time. `complete`: hold
    /// back a partial last line (following); else print to the end of each file.
    fn pass(&mut self, out: &mut impl Write, complete: bool) -> Result<bool, LogError> {
        let mut ends = Vec::with_capacity(self.sources.len());
        let mut heap = BinaryHeap::new();
        for i in 0..self.sources.len() {
            let end = self.end_of(i, complete)?;
            ends.push(end);
            if self.sources[i].pos < end {
                heap.push(Reverse((self.sources[i].time(), i)));
            }
        }
        let printed = !heap.is_empty();
        while let Some(Reverse((_, i))) = heap.pop() {
            let prefix = format!("{:<w$} | ", self.sources[i].label, w = self.width);
            let end = ends[i];
            let pos = self.sources[i].pos;
            out.write_all(prefix.as_bytes())?;
            let (copied, ended) = copy_line(self.reader(i)?, end - pos, out)?;
            if !ended {
                out.write_all(b"\n")?;
            }
            let s = &mut self.sources[i];
            s.pos += copied;
            // Nothing copied: the file shrank under us; nothing more of it this pass.
            if copied > 0 && s.pos < end {
                heap.push(Reverse((s.time(), i)));
            }
        }
        Ok(printed)
    }
}

/// Copy one line (its newline included) of at most `limit` bytes from `r` to `out`,
/// through the reader's buffer: a line of a gigabyte is never held. Returns the bytes
/// copied and whether they ended in a newline.
fn copy_line(
    r: &mut impl BufRead,
    limit: u64,
    out: &mut impl Write,
) -> std::io::Result<(u64, bool)> {
    let mut copied = 0u64;
    while copied < limit {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let room = usize::try_from(limit - copied)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let (take, ended) = match buf[..room].iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (room, false),
        };
        out.write_all(&buf[..take])?;
        r.consume(take);
        copied += take as u64;
        if ended {
            return Ok((copied, true));
        }
    }
    Ok((copied, false))
}

/// Every step's log of `run_id`, merged; following (`follow`) until the run ends.
pub(super) fn print_all(
    store: &Store,
    run_id: &str,
    view: &RunView,
    follow: bool,
    out: &mut Output<impl Write>,
) -> Result<bool, LogError> {
    let mut m = Merge {
        run_id: run_id.to_string(),
        sources: Vec::new(),
        open: VecDeque::new(),
        index_read: 0,
        index_skip: false,
        pending: BTreeMap::new(),
        width: 0,
    };
    m.discover(store, view)?;
    let mut any = false;
    let mut polls = 0u32;
    loop {
        if !follow {
            any |= m.pass(out, false)?;
            out.flush()?;
            return Ok(any);
        }
        let done = store.run(run_id)?.state.is_final();
        if done {
            // What was written before the end, partial last lines too.
            let view = crate::session::inspect(store, run_id, Timestamp::now())?;
            m.discover(store, &view)?;
            any |= m.pass(out, false)?;
            out.flush()?;
            return Ok(any);
        }
        any |= m.pass(out, true)?;
        out.flush()?;
        std::thread::sleep(Duration::from_millis(200));
        // New steps (a fan-out's instances) show in the run's view: read it now and
        // then; a new attempt of a known step, from its rows every time.
        polls += 1;
        if polls.is_multiple_of(10) {
            let view = crate::session::inspect(store, run_id, Timestamp::now())?;
            m.discover(store, &view)?;
        } else {
            m.discover(store, view)?;
        }
    }
}
