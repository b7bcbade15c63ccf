//! The console's reading of step log files (the shell side of the log view and the
//! detail tail): a [`LogFile`] indexes where each line ends, once, then only the bytes
//! appended since (so following a growing log never re-reads it, and a 100 MB log costs
//! its line index, not its text); lines are read on demand for what is on screen. A
//! [`TailFollower`] keeps only the last lines of a running step's log for the detail pane.
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::{LogState, Tab, UiState, search_from, show_match};
use baton_model::{RunView, StepState, StepView, Timestamp};

/// A line longer than this is shown cut (with `…`): a step that printed a gigabyte
/// without a newline costs no more than this per line on screen.
pub(crate) const LINE_CAP: u64 = 16 * 1024;

/// Bytes read at once when indexing or searching.
const CHUNK: usize = 1 << 20;

/// An indexed log file.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: File,
    /// End offset (after the `\n`) of every complete line.
    ends: Vec<u64>,
    /// Bytes of the file indexed so far (a last line without `\n` lies past `ends`).
    size: u64,
    /// `(first line, when)` for output that arrived while the file was watched: the
    /// time it was seen (within a poll) is when it was written. Earlier lines have none.
    seen: Vec<(usize, Timestamp)>,
    watched: bool,
    /// The engine's time records (`model::logtimes`) and how much of them was read.
    stamps: Vec<(u64, Timestamp)>,
    /// How much of the run's index and of an old sidecar was read.
    index_read: u64,
    stamps_read: u64,
}

/// What `path` holds past `*read`; a file that shrank (rewritten) is read anew, from 0,
/// and `stamps` read from it are dropped. None when it cannot be read (most logs have
/// no old sidecar).
fn read_from(path: &Path, read: &mut u64, stamps: &mut Vec<(u64, Timestamp)>) -> Option<Vec<u8>> {
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len < *read {
        *read = 0;
        stamps.clear();
    }
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(*read)).ok()?;
    f.take(len - *read).read_to_end(&mut buf).ok()?;
    Some(buf)
}

impl LogFile {
    pub fn open(path: &Path) -> std::io::Result<LogFile> {
        let mut f = LogFile {
            path: path.to_path_buf(),
            file: File::open(path)?,
            ends: Vec::new(),
            size: 0,
            seen: Vec::new(),
            watched: false,
            stamps: Vec::new(),
            index_read: 0,
            stamps_read: 0,
        };
        // What the file holds when opened has no known time; what comes after has.
        f.poll()?;
        f.watched = true;
        Ok(f)
    }

    /// A log of a run that ended: its records were moved from the run's index to the
    /// store (`store::log_times`), and `stored` reads them. Asked when the files gave
    /// none: the store takes them before the index goes, so one of the two holds them
    /// (and a run reopened by `retry` has a new index without its earlier attempts').
    pub fn or_stored(mut self, stored: impl FnOnce() -> Vec<(u64, Timestamp)>) -> LogFile {
        if self.stamps.is_empty() {
            self.stamps = stored();
        }
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Index what was appended since the last call, reading from the last offset only.
    /// True when the file changed. A file that shrank (rewritten) is indexed anew.
    pub fn poll(&mut self) -> std::io::Result<bool> {
        self.read_stamps();
        let len = self.file.metadata()?.len();
        if len == self.size {
            return Ok(false);
        }
        if len < self.size {
            self.ends.clear();
            self.size = 0;
            self.seen.clear();
        }
        if self.watched {
            // Appended while watched: the partial last line (if any) keeps its time.
            let first = self.ends.len();
            if self.seen.last().is_none_or(|&(l, _)| l < first) {
                self.seen.push((first, Timestamp::now()));
            }
        }
        let from = self.ends.last().copied().unwrap_or(0);
        self.file.seek(SeekFrom::Start(from))?;
        let mut buf = vec![0u8; CHUNK];
        let mut at = from;
        while at < len {
            let want = ((len - at) as usize).min(CHUNK);
            let got = self.file.read(&mut buf[..want])?;
            if got == 0 {
                break;
            }
            for i in memchr::memchr_iter(b'\n', &buf[..got]) {
                self.ends.push(at + i as u64 + 1);
            }
            at += got as u64;
        }
        self.size = at;
        Ok(true)
    }

    /// Lines so far, a last one without its newline included.
    pub fn len(&self) -> usize {
        self.ends.len() + usize::from(self.size > self.ends.last().copied().unwrap_or(0))
    }

    /// New records of this log's times, from where the last read stopped: the run's
    /// time index, or an old run's sidecar beside the log (`model::logtimes`). A log
    /// whose writer kept none has none: then times are those seen while watched.
    fn read_stamps(&mut self) {
        use baton_model::logtimes;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(buf) = read_from(
            &logtimes::index_path(&self.path),
            &mut self.index_read,
            &mut self.stamps,
        ) {
            let (records, used) = logtimes::parse_index(&buf, &name);
            self.stamps.extend(records);
            self.index_read += used as u64;
        }
        if let Some(buf) = read_from(
            &logtimes::sidecar_path(&self.path),
            &mut self.stamps_read,
            &mut self.stamps,
        ) {
            let (records, used) = logtimes::parse(&buf);
            self.stamps.extend(records);
            self.stamps_read += used as u64;
        }
    }

    /// When each line of `range` was written: from the engine's records, else (a log
    /// without them) when it arrived, if it arrived while watched.
    pub fn times(&self, range: Range<usize>) -> Vec<Option<Timestamp>> {
        if !self.stamps.is_empty() {
            return range
                .map(|i| {
                    let start = self.span(i.min(self.len().saturating_sub(1))).0;
                    let k = self.stamps.partition_point(|&(o, _)| o <= start);
                    k.checked_sub(1).map(|k| self.stamps[k].1)
                })
                .collect();
        }
        range
            .map(|i| {
                let k = self.seen.partition_point(|&(l, _)| l <= i);
                k.checked_sub(1).map(|k| self.seen[k].1)
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn span(&self, i: usize) -> (u64, u64) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = match self.ends.get(i) {
            Some(&e) => e - 1,
            None => self.size,
        };
        (start, end)
    }

    /// The lines of `range` (clipped to the file), raw, each cut at [`LINE_CAP`].
    pub fn read_lines(&mut self, range: Range<usize>) -> std::io::Result<Vec<String>> {
        let range = range.start.min(self.len())..range.end.min(self.len());
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let (first, _) = self.span(range.start);
        let (_, last) = self.span(range.end - 1);
        let mut out = Vec::with_capacity(range.len());
        if last - first <= CHUNK as u64 * 4 {
            // One read for the whole range: the common case (a screenful, a search block).
            let mut buf = vec![0u8; (last - first) as usize];
            self.file.seek(SeekFrom::Start(first))?;
            self.file.read_exact(&mut buf)?;
            for i in range {
                let (s, e) = self.span(i);
                let (s, e) = ((s - first) as usize, (e - first) as usize);
                out.push(decode(&buf[s..e.min(s + LINE_CAP as usize)], e - s));
            }
        } else {
            for i in range {
                let (s, e) = self.span(i);
                let n = (e - s).min(LINE_CAP) as usize;
                let mut buf = vec![0u8; n];
                self.file.seek(SeekFrom::Start(s))?;
                self.file.read_exact(&mut buf)?;
                out.push(decode(&buf, (e - s) as usize));
            }
        }
        Ok(out)
    }

    /// Lines that end in a newline (a partial last line not counted).
    pub(crate) fn complete_len(&self) -> usize {
        self.ends.len()
    }

    /// Where the lines of `range` change time: `(first line, when)`, the first at
    /// `range.start` (the engine's records, else when lines arrived while watched;
    /// `None`: not known). A record costs one entry, not one a line.
    pub(crate) fn segments(&self, range: Range<usize>) -> Vec<(usize, Option<Timestamp>)> {
        if range.is_empty() {
            return Vec::new();
        }
        // Lines starting before byte `o`: the first line whose time a record at `o` is.
        let first_at = |o: u64| {
            if o == 0 {
                0
            } else {
                1 + self.ends.partition_point(|&e| e < o)
            }
        };
        let marks: Vec<(usize, Timestamp)> = if self.stamps.is_empty() {
            self.seen.clone()
        } else {
            self.stamps.iter().map(|&(o, t)| (first_at(o), t)).collect()
        };
        let k = marks.partition_point(|&(l, _)| l <= range.start);
        let mut out = vec![(range.start, k.checked_sub(1).map(|k| marks[k].1))];
        for &(l, t) in &marks[k..] {
            if l >= range.end {
                break;
            }
            match out.last_mut() {
                Some(last) if last.0 == l => last.1 = Some(t),
                _ => out.push((l, Some(t))),
            }
        }
        out
    }

    /// The first (or, backward, last) line of `range` whose text as shown contains
    /// `needle`, reading about a [`CHUNK`] at once.
    pub(crate) fn find_range(
        &mut self,
        needle: &Needle,
        range: Range<usize>,
        forward: bool,
    ) -> std::io::Result<Option<usize>> {
        let range = range.start.min(self.len())..range.end.min(self.len());
        let mut blocks = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let end = self.block_end(at, range.end);
            blocks.push(at..end);
            at = end;
        }
        if !forward {
            blocks.reverse();
        }
        for b in blocks {
            if let Some(i) = self.find_in(b, needle, forward)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// The nearest line after (or before) `from`, wrapping around, whose text (as shown:
    /// sanitised, cut at [`LINE_CAP`]) contains `needle`, ignoring case.
    pub fn find(
        &mut self,
        needle: &str,
        from: usize,
        forward: bool,
    ) -> std::io::Result<Option<usize>> {
        let n = self.len();
        if n == 0 || needle.is_empty() {
            return Ok(None);
        }
        let from = from.min(n - 1);
        // After `from` to the end, then the start up to `from` (backwards: before `from`
        // down to the start, then the end down to `from`), about a CHUNK of bytes a read.
        let order = if forward {
            [from + 1..n, 0..from + 1]
        } else {
            [0..from, from..n]
        };
        let needle = Needle::new(needle);
        for r in order {
            let mut blocks = Vec::new();
            let mut at = r.start;
            while at < r.end {
                let end = self.block_end(at, r.end);
                blocks.push(at..end);
                at = end;
            }
            if !forward {
                blocks.reverse();
            }
            for b in blocks {
                if let Some(i) = self.find_in(b, &needle, forward)? {
                    return Ok(Some(i));
                }
            }
        }
        Ok(None)
    }

    /// The end of a block of lines from `start` (before `end`) that spans about
    /// [`CHUNK`] bytes; at least one line.
    fn block_end(&self, start: usize, end: usize) -> usize {
        let limit = self.span(start).0 + CHUNK as u64;
        self.ends
            .partition_point(|&e| e <= limit)
            .clamp(start + 1, end)
    }

    /// The first (or last) line of `block` that matches, reading the block at once.
    fn find_in(
        &mut self,
        block: Range<usize>,
        needle: &Needle,
        forward: bool,
    ) -> std::io::Result<Option<usize>> {
        let first = self.span(block.start).0;
        let last = self
            .span(block.end - 1)
            .1
            .min(first + CHUNK as u64 + LINE_CAP);
        let mut raw = vec![0u8; (last - first) as usize];
        self.file.seek(SeekFrom::Start(first))?;
        self.file.read_exact(&mut raw)?;
        let lower = raw.to_ascii_lowercase();
        let line = |i: usize| {
            let (s, e) = self.span(i);
            let s = (s - first) as usize;
            let e = ((e - first) as usize)
                .min(s + LINE_CAP as usize)
                .min(raw.len());
            s..e
        };
        let hit = |i: &usize| {
            let r = line(*i);
            needle.matches(&raw[r.clone()], &lower[r])
        };
        Ok(if forward {
            block.clone().find(hit)
        } else {
            block.clone().rev().find(hit)
        })
    }
}

/// A search, folded once, with what its fast paths need.
pub(crate) struct Needle {
    folded: String,
    /// The folded needle is ASCII: a printable ASCII line matches exactly when its
    /// ASCII-lowercased bytes contain it.
    finder: Option<memchr::memmem::Finder<'static>>,
    /// Its graphic ASCII chars (not a space, which a tab may become): a line as shown
    /// can only hold them if the raw line does.
    required: Vec<u8>,
}

impl Needle {
    pub(crate) fn new(needle: &str) -> Needle {
        let folded = fold(needle);
        let finder = folded
            .is_ascii()
            .then(|| memchr::memmem::Finder::new(folded.as_bytes()).into_owned());
        let mut required: Vec<u8> = folded.bytes().filter(u8::is_ascii_graphic).collect();
        required.sort_unstable();
        required.dedup();
        Needle {
            folded,
            finder,
            required,
        }
    }

    /// Whether the raw line (and its ASCII-lowercased copy), as shown, contains the
    /// needle. Cheap paths first, since a search may read a 100 MB log.
    fn matches(&self, raw: &[u8], lower: &[u8]) -> bool {
        if raw.iter().all(|&c| (0x20..0x7f).contains(&c)) {
            // A printable ASCII line is its own plain text.
            return self
                .finder
                .as_ref()
                .is_some_and(|f| f.find(lower).is_some());
        }
        if self
            .required
            .iter()
            .any(|&c| memchr::memchr(c, lower).is_none())
        {
            return false;
        }
        fold(&super::output::plain(&String::from_utf8_lossy(raw))).contains(&self.folded)
    }
}

/// Case folding for search: the same on both sides, char by char (lengths in chars kept).
pub(crate) fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

pub(crate) fn fold_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn decode(bytes: &[u8], full: usize) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    if full > bytes.len() {
        s.push('…');
    }
    s
}

/// How much of a log the detail pane's tail starts from, and how many lines it keeps.
const TAIL_START_BYTES: u64 = 64 * 1024;
pub(crate) const TAIL_LINES: usize = 200;

/// The last lines of a growing log: the end of the file once, then only what was
/// appended since the last offset.
#[derive(Debug)]
pub(crate) struct TailFollower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    lines: VecDeque<String>,
}

impl TailFollower {
    pub(crate) fn new(path: &Path) -> TailFollower {
        TailFollower {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
            lines: VecDeque::new(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Read what was appended; true when the lines changed.
    pub(crate) fn poll(&mut self) -> std::io::Result<bool> {
        let mut f = File::open(&self.path)?;
        let len = f.metadata()?.len();
        if len == self.offset {
            return Ok(false);
        }
        let mut skip_first = false;
        if len < self.offset || self.offset == 0 {
            self.lines.clear();
            self.partial.clear();
            self.offset = len.saturating_sub(TAIL_START_BYTES);
            skip_first = self.offset > 0;
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.take(len - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', &self.partial) {
            if skip_first {
                skip_first = false;
            } else {
                let l = &self.partial[start..i];
                self.lines
                    .push_back(decode(&l[..l.len().min(LINE_CAP as usize)], l.len()));
            }
            start = i + 1;
        }
        self.partial.drain(..start);
        if self.partial.len() as u64 > LINE_CAP {
            self.partial.truncate(LINE_CAP as usize);
        }
        while self.lines.len() > TAIL_LINES {
            self.lines.pop_front();
        }
        Ok(true)
    }

    /// The lines, a last one without its newline included.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lines.iter().cloned().collect();
        if !self.partial.is_empty() {
            v.push(String::from_utf8_lossy(&self.partial).into_owned());
        }
        v
    }
}

/// The log file of `s`'s attempt `n` (the engine names them `<step>.<attempt>.log`,
/// next to the latest one's).
pub(crate) fn attempt_path(s: &StepView, n: u32) -> Option<PathBuf> {
    let latest = s.log_path.as_deref()?;
    Some(latest.with_file_name(baton_model::log_file_name(&s.id, n)))
}

/// The console's open log files: the full-screen log's and the detail pane's tail.
#[derive(Debug, Default)]
pub struct LogReaders {
    log: Option<LogFile>,
    tail: Option<TailFollower>,
    /// Every step's log at once (`LogState::all`).
    merged: Option<crate::logmerge::MergedLog>,
    /// Where an ended run's log times are kept (none in tests without a store).
    stored: Option<baton_model::logtimes::StoredTimes>,
}

impl LogReaders {
    pub fn new(stored: Option<baton_model::logtimes::StoredTimes>) -> LogReaders {
        LogReaders {
            stored,
            ..LogReaders::default()
        }
    }

    /// Bring the UI's log state up to date with the files: index new output, run an
    /// asked-for search, read the lines the screen needs. `rows`: the log's text rows.
    /// True when anything shown changed.
    pub fn sync(&mut self, ui: &mut UiState, view: &RunView, rows: usize) -> bool {
        let before = (ui.log.clone(), ui.tail.clone());
        self.sync_log(ui, view, rows);
        self.sync_tail(ui, view);
        before != (ui.log.clone(), ui.tail.clone())
    }

    /// Whether a watched file may be growing (the shell then polls it often).
    pub fn watching(ui: &UiState, view: &RunView) -> bool {
        let running = |i: usize| {
            view.steps
                .get(i)
                .is_some_and(|s| s.state == StepState::Running)
        };
        let any_running = || view.steps.iter().any(|s| s.state == StepState::Running);
        ui.log.as_ref().is_some_and(|l| {
            if l.all {
                any_running()
            } else {
                running(l.step)
            }
        }) || tail_step(ui, view).is_some()
    }

    fn sync_log(&mut self, ui: &mut UiState, view: &RunView, rows: usize) {
        let Some(log) = ui.log.as_mut() else {
            self.log = None;
            self.merged = None;
            return;
        };
        if log.all {
            self.log = None;
            crate::logmerge::sync(&mut self.merged, log, view, self.stored.as_ref(), rows);
            return;
        }
        self.merged = None;
        let Some(s) = view.steps.get(log.step) else {
            return;
        };
        log.rows = rows;
        let latest = log.attempt.is_none() || log.attempt == Some(s.attempts);
        let path = attempt_path(s, log.attempt_of(s.attempts));
        if self.log.as_ref().map(LogFile::path) != path.as_deref() {
            let n = log.attempt_of(s.attempts);
            let stored = || {
                self.stored
                    .as_ref()
                    .map_or_else(Vec::new, |k| k.get(&view.run_id, &s.id, n))
            };
            self.log = path
                .as_deref()
                .and_then(|p| LogFile::open(p).ok())
                .map(|f| f.or_stored(stored));
            log.window = Arc::default();
            log.times = Arc::default();
        }
        match self.log.as_mut() {
            Some(file) => {
                let before = log.total;
                let grew = file.poll().unwrap_or(false);
                log.total = file.len();
                log.source = Some(file.path().display().to_string());
                if let Some(forward) = log.find.take() {
                    let from = search_from(log, forward);
                    let hit = file.find(&log.search, from, forward).ok().flatten();
                    show_match(log, hit);
                }
                refill(log, rows, grew, before, |range| {
                    let lines = file.read_lines(range.clone()).ok()?;
                    let times = file.times(range.start..range.start + lines.len());
                    Some((lines, times))
                });
            }
            // No file (yet, or never: a gate, a builtin): the view's recorded tail.
            None => {
                let lines = if latest {
                    s.log_tail.clone()
                } else {
                    Vec::new()
                };
                log.total = lines.len();
                log.source = None;
                if log.window.as_slice() != lines.as_slice() {
                    log.window = Arc::new(lines);
                    log.times = Arc::default();
                    log.window_start = 0;
                }
                if let Some(forward) = log.find.take() {
                    let hit =
                        find_in_lines(&log.window, &log.search, search_from(log, forward), forward);
                    show_match(log, hit);
                }
            }
        }
    }

    fn sync_tail(&mut self, ui: &mut UiState, view: &RunView) {
        let focus = tail_step(ui, view);
        let path = focus.and_then(|i| view.steps[i].log_path.clone());
        let (Some(i), Some(path)) = (focus, path) else {
            self.tail = None;
            ui.tail = None;
            return;
        };
        if self.tail.as_ref().map(TailFollower::path) != Some(path.as_path()) {
            self.tail = Some(TailFollower::new(&path));
            ui.tail = None;
        }
        if let Some(t) = self.tail.as_mut()
            && (t.poll().unwrap_or(false) || ui.tail.as_ref().is_none_or(|(s, _)| *s != i))
        {
            let lines = t.lines();
            // Until the step wrote something, the view's tail (if any) stays.
            ui.tail = (!lines.is_empty()).then(|| (i, Arc::new(lines)));
        }
    }
}

/// The step whose output the detail pane tails: the focused step on the DAG tab, while
/// it runs.
fn tail_step(ui: &UiState, view: &RunView) -> Option<usize> {
    (ui.log.is_none() && ui.tab == Tab::Dag)
        .then(|| ui.focus(view))
        .flatten()
        .filter(|&i| view.steps[i].state == StepState::Running)
}

/// `LogFile::find` over lines in memory.
fn find_in_lines(lines: &[String], needle: &str, from: usize, forward: bool) -> Option<usize> {
    let n = lines.len();
    if n == 0 || needle.is_empty() {
        return None;
    }
    let needle = Needle::new(needle);
    (1..=n)
        .map(|k| {
            if forward {
                (from + k) % n
            } else {
                (from + n - k % n) % n
            }
        })
        .find(|&i| {
            let raw = lines[i].as_bytes();
            needle.matches(raw, &raw.to_ascii_lowercase())
        })
}

/// The log view's window read again when what is on screen (with `rows` around it)
/// is not in it, or new output may have completed its last line (`grew`, the log
/// `before` lines long then): `read` gives the lines of a range and their times. One
/// rule for a step's log and for every step's log merged.
pub(crate) fn refill(
    log: &mut LogState,
    rows: usize,
    grew: bool,
    before: usize,
    read: impl FnOnce(Range<usize>) -> Option<(Vec<String>, Vec<Option<Timestamp>>)>,
) {
    let need = log.needed();
    let end = log.window_start + log.window.len();
    let covered = need.start >= log.window_start && need.end <= end;
    if !covered || (grew && end >= before) || log.window.is_empty() {
        let from = need.start.saturating_sub(rows);
        if let Some((lines, times)) = read(from..need.end + rows) {
            log.times = Arc::new(times);
            log.window = Arc::new(lines);
            log.window_start = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn indexes_appends_from_the_last_offset_and_reads_any_range() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        std::fs::write(&p, "one\ntwo\nthr").unwrap();
        let mut f = LogFile::open(&p).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f.read_lines(0..3).unwrap(), ["one", "two", "thr"]);
        assert!(!f.poll().unwrap());
        let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"ee\nfour\n").unwrap();
        assert!(f.poll().unwrap());
        assert_eq!(f.len(), 4);
        assert_eq!(f.read_lines(2..9).unwrap(), ["three", "four"]);
        // Rewritten shorter: indexed anew.
        std::fs::write(&p, "x\n").unwrap();
        assert!(f.poll().unwrap());
        assert_eq!(f.read_lines(0..5).unwrap(), ["x"]);
    }

    #[test]
    fn a_long_line_is_cut_with_an_ellipsis() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        let long = "y".repeat(LINE_CAP as usize + 10);
        std::fs::write(&p, format!("a\n{long}\nb\n")).unwrap();
        let mut f = LogFile::open(&p).unwrap();
        let l = f.read_lines(1..2).unwrap();
        assert_eq!(l[0].chars().count(), LINE_CAP as usize + 1);
        assert!(l[0].ends_with('…'));
    }

    #[test]
    fn find_wraps_around_both_ways_and_ignores_case_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        let mut text = String::new();
        for i in 0..10_000 {
            if i == 17 || i == 9_000 {
                text.push_str("an \x1b[31mERR\x1b[0mor here\n");
            } else {
                text.push_str(&format!("line {i}\n"));
            }
        }
        std::fs::write(&p, text).unwrap();
        let mut f = LogFile::open(&p).unwrap();
        assert_eq!(f.find("error", 0, true).unwrap(), Some(17));
        assert_eq!(f.find("error", 17, true).unwrap(), Some(9_000));
        assert_eq!(f.find("error", 9_000, true).unwrap(), Some(17));
        assert_eq!(f.find("error", 17, false).unwrap(), Some(9_000));
        assert_eq!(f.find("error", 9_500, false).unwrap(), Some(9_000));
        assert_eq!(f.find("nowhere", 5, true).unwrap(), None);
        // Text that is not ASCII folds on both sides; an escape's letters do not match.
        let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all("ÉCHEC de l'étape\n\x1b[31mplain\x1b[0m\n".as_bytes())
            .unwrap();
        f.poll().unwrap();
        assert_eq!(f.find("échec", 0, true).unwrap(), Some(10_000));
        assert_eq!(f.find("31m", 0, true).unwrap(), None);
        assert_eq!(f.find("PLAIN", 0, false).unwrap(), Some(10_001));
    }

    #[test]
    fn the_tail_follows_appends_and_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        let text: String = (0..500).map(|i| format!("l{i}\n")).collect();
        std::fs::write(&p, text).unwrap();
        let mut t = TailFollower::new(&p);
        assert!(t.poll().unwrap());
        let l = t.lines();
        assert_eq!(l.len(), TAIL_LINES);
        assert_eq!(l.last().unwrap(), "l499");
        let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"new\npart").unwrap();
        assert!(t.poll().unwrap());
        let l = t.lines();
        assert_eq!(&l[l.len() - 2..], ["new", "part"]);
        assert!(!t.poll().unwrap());
    }

    #[test]
    fn times_come_from_the_writers_records() {
        use baton_model::logtimes::{record, sidecar_path};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        std::fs::write(&p, "a\nb\nc\n").unwrap();
        let (t1, t2) = (Timestamp::from_millis(1_000), Timestamp::from_millis(5_000));
        std::fs::write(sidecar_path(&p), record(0, t1) + &record(4, t2)).unwrap();
        let f = LogFile::open(&p).unwrap();
        assert_eq!(f.times(0..3), [Some(t1), Some(t1), Some(t2)]);
    }

    #[test]
    fn times_come_from_the_runs_index_for_this_log_only() {
        use baton_model::logtimes::{INDEX, index_record};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        std::fs::write(&p, "a\nb\nc\n").unwrap();
        let (t1, t2, t3) = (
            Timestamp::from_millis(1_000),
            Timestamp::from_millis(5_000),
            Timestamp::from_millis(9_000),
        );
        let index = index_record("s.1.log", 0, t1)
            + &index_record("s.10.log", 2, t3)
            + &index_record("s.1.log", 4, t2);
        std::fs::write(dir.path().join(INDEX), &index).unwrap();
        let mut f = LogFile::open(&p).unwrap();
        assert_eq!(f.times(0..3), [Some(t1), Some(t1), Some(t2)]);
        // Records appended later, of this log and others, are read from where it stopped.
        let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"d\n").unwrap();
        let mut i = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(INDEX))
            .unwrap();
        i.write_all((index_record("t.1.log", 0, t1) + &index_record("s.1.log", 6, t3)).as_bytes())
            .unwrap();
        f.poll().unwrap();
        assert_eq!(f.times(2..4), [Some(t2), Some(t3)]);
    }

    #[test]
    fn lines_that_arrive_while_watched_have_a_time_and_earlier_ones_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.1.log");
        std::fs::write(&p, "old\n").unwrap();
        let mut f = LogFile::open(&p).unwrap();
        let before = Timestamp::now();
        let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"new\n").unwrap();
        f.poll().unwrap();
        let t = f.times(0..2);
        assert_eq!(t[0], None);
        assert!(t[1].is_some_and(|t| t >= before), "{t:?}");
    }

    #[test]
    fn a_partial_last_line_read_earlier_is_read_again_when_completed() {
        use crate::app::{Action, update};
        let dir = tempfile::tempdir().unwrap();
        let mut v = crate::fixtures::release();
        let pkg = v.step_index("package").unwrap();
        let p = dir
            .path()
            .join(format!("package.{}.log", v.steps[pkg].attempts));
        v.steps[pkg].log_path = Some(p.clone());
        let text: String = (1..15).map(|i| format!("l{i}\n")).collect::<String>() + "par";
        std::fs::write(&p, text).unwrap();
        let mut ui = UiState::new("t");
        ui.follow = false;
        ui.selected = pkg;
        update(&mut ui, &v, Action::Log);
        let mut r = LogReaders::default();
        r.sync(&mut ui, &v, 10);
        update(&mut ui, &v, Action::Top);
        r.sync(&mut ui, &v, 10);
        assert_eq!(ui.log.as_ref().unwrap().line(14), Some("par"));
        // Completed, and much more after it, while the top of the log is on screen.
        let more: String = (0..50).map(|i| format!("m{i}\n")).collect();
        let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(format!("tial\n{more}").as_bytes()).unwrap();
        r.sync(&mut ui, &v, 10);
        // Down to where line 15 is the last on screen: still inside the lines read.
        for _ in 0..5 {
            update(&mut ui, &v, Action::Down);
        }
        r.sync(&mut ui, &v, 10);
        let log = ui.log.as_ref().unwrap();
        assert_eq!(log.needed(), 5..15);
        assert_eq!((log.total, log.line(14)), (65, Some("partial")));
    }

    #[test]
    fn the_readers_show_the_chosen_attempts_file_and_follow_its_growth() {
        use crate::app::{Action, update};
        let dir = tempfile::tempdir().unwrap();
        let mut v = crate::fixtures::release();
        let pkg = v.step_index("package").unwrap();
        v.steps[pkg].attempts = 2;
        v.steps[pkg].log_path = Some(dir.path().join("package.2.log"));
        std::fs::write(dir.path().join("package.1.log"), "first attempt\n").unwrap();
        let text: String = (1..=100).map(|i| format!("second {i}\n")).collect();
        std::fs::write(dir.path().join("package.2.log"), text).unwrap();
        let mut ui = UiState::new("t");
        ui.follow = false;
        ui.selected = pkg;
        update(&mut ui, &v, Action::Log);
        let mut r = LogReaders::default();
        assert!(r.sync(&mut ui, &v, 10));
        let log = ui.log.as_ref().unwrap();
        assert_eq!((log.total, log.first_shown()), (100, 90));
        assert_eq!(log.line(99), Some("second 100"));
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("package.2.log"))
            .unwrap();
        w.write_all(b"second 101\n").unwrap();
        assert!(r.sync(&mut ui, &v, 10));
        let log = ui.log.as_ref().unwrap();
        assert_eq!((log.total, log.line(100)), (101, Some("second 101")));
        assert!(!r.sync(&mut ui, &v, 10), "nothing new, nothing changed");
        update(&mut ui, &v, Action::Top);
        r.sync(&mut ui, &v, 10);
        assert_eq!(ui.log.as_ref().unwrap().line(0), Some("second 1"));
        update(&mut ui, &v, Action::PrevAttempt);
        r.sync(&mut ui, &v, 10);
        let log = ui.log.as_ref().unwrap();
        assert_eq!((log.total, log.line(0)), (1, Some("first attempt")));
    }
}
