//! Every step's log of a run in one view (`V` on the DAG tab; `baton logs RUN`'s view):
//! the attempts' logs merged, each line after its step's id (`deploy#2` for a later
//! attempt).
//!
//! The order is the order of writing as far as the files tell it: what the logs hold
//! when the view opens is merged by the time of each line (the engine's records, one a
//! second: `model::logtimes`), lines of one second step by step in the run's order;
//! what arrives later is placed after it, each read's new lines merged the same way. A
//! line placed is never moved, so scrolling and `/` see a log that only grows.
//!
//! Memory is each log's line index (`LogFile`, as the single-step view) and one entry
//! per run of lines of one log (a second's output at most), never the text.
use crate::app::{LogState, search_from, show_match};
use crate::logfile::{LogFile, Needle, attempt_path};
use baton_model::logtimes::StoredTimes;
use baton_model::{RunView, Timestamp};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// Logs the view opens at most: each keeps a file open.
pub(crate) const MAX_LOGS: usize = 512;

#[derive(Debug)]
struct Source {
    label: String,
    file: LogFile,
    /// Lines of the file placed in the merged order.
    placed: usize,
    /// Its step ended: a last line without a newline is placed too.
    ended: bool,
    fallback: Timestamp,
}

/// A run of lines of one log, in the merged order.
#[derive(Debug, Clone, Copy)]
struct Block {
    source: usize,
    first: usize,
    count: usize,
}

/// The merged logs of one run.
#[derive(Debug)]
pub(crate) struct MergedLog {
    run_id: String,
    sources: Vec<Source>,
    paths: Vec<PathBuf>,
    blocks: Vec<Block>,
    /// The merged index of each block's first line.
    starts: Vec<usize>,
    total: usize,
    width: usize,
    /// Logs there were past [`MAX_LOGS`].
    left_out: usize,
}

fn label(step: &str, n: u32) -> String {
    let id =
        baton_model::sanitize::one_line(&baton_model::sanitize::strip_to_plain(step.as_bytes()));
    if n > 1 { format!("{id}#{n}") } else { id }
}

impl MergedLog {
    pub(crate) fn new(run_id: &str) -> MergedLog {
        MergedLog {
            run_id: run_id.to_string(),
            sources: Vec::new(),
            paths: Vec::new(),
            blocks: Vec::new(),
            starts: Vec::new(),
            total: 0,
            width: 0,
            left_out: 0,
        }
    }

    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// Open the attempts' logs not open yet, in the run's order, and note which steps
    /// ended.
    fn discover(&mut self, view: &RunView, stored: Option<&StoredTimes>) {
        let mut left_out = 0;
        for s in &view.steps {
            for n in 1..=s.attempts {
                let Some(path) = attempt_path(s, n) else {
                    continue;
                };
                if let Some(i) = self.paths.iter().position(|p| *p == path) {
                    self.sources[i].ended = n < s.attempts || s.state.is_final();
                    continue;
                }
                if self.sources.len() >= MAX_LOGS {
                    left_out += 1;
                    continue;
                }
                let Ok(file) = LogFile::open(&path) else {
                    continue;
                };
                let file = file
                    .or_stored(|| stored.map_or_else(Vec::new, |k| k.get(&view.run_id, &s.id, n)));
                let label = label(&s.id, n);
                self.width = self.width.max(label.chars().count());
                self.paths.push(path);
                self.sources.push(Source {
                    label,
                    file,
                    placed: 0,
                    ended: n < s.attempts || s.state.is_final(),
                    fallback: s.started_at.unwrap_or(Timestamp(0)),
                });
            }
        }
        self.left_out = left_out;
    }

    /// Read what the logs gained and place their new lines after those placed, merged
    /// by time. True when lines were placed.
    pub(crate) fn poll(&mut self, view: &RunView, stored: Option<&StoredTimes>) -> bool {
        self.discover(view, stored);
        let mut segments: Vec<(Timestamp, usize, Range<usize>)> = Vec::new();
        for (i, s) in self.sources.iter_mut().enumerate() {
            let _ = s.file.poll();
            let upto = if s.ended {
                s.file.len()
            } else {
                s.file.complete_len()
            };
            if upto <= s.placed {
                continue;
            }
            let marks = s.file.segments(s.placed..upto);
            let mut last = s.fallback;
            for (k, &(first, t)) in marks.iter().enumerate() {
                let end = marks.get(k + 1).map_or(upto, |m| m.0);
                last = t.unwrap_or(last);
                segments.push((last, i, first..end));
            }
            s.placed = upto;
        }
        if segments.is_empty() {
            return false;
        }
        segments.sort_by_key(|(t, i, r)| (*t, *i, r.start));
        for (_, source, r) in segments {
            match self.blocks.last_mut() {
                Some(b) if b.source == source && b.first + b.count == r.start => b.count += r.len(),
                _ => {
                    self.starts.push(self.total);
                    self.blocks.push(Block {
                        source,
                        first: r.start,
                        count: r.len(),
                    });
                }
            }
            self.total += r.len();
        }
        true
    }

    /// The block holding merged line `i`.
    fn block_of(&self, i: usize) -> usize {
        self.starts.partition_point(|&s| s <= i).saturating_sub(1)
    }

    /// Each piece of `range` as (block, lines of its log).
    fn pieces(&self, range: Range<usize>) -> Vec<(usize, Range<usize>)> {
        let range = range.start.min(self.total)..range.end.min(self.total);
        let mut out = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let b = self.block_of(at);
            let blk = self.blocks[b];
            let off = at - self.starts[b];
            let n = (blk.count - off).min(range.end - at);
            out.push((b, blk.first + off..blk.first + off + n));
            at += n;
        }
        out
    }

    /// The lines of `range`, each after its step's id.
    pub(crate) fn read_lines(&mut self, range: Range<usize>) -> std::io::Result<Vec<String>> {
        let mut out = Vec::with_capacity(range.len());
        for (b, r) in self.pieces(range) {
            let s = &mut self.sources[self.blocks[b].source];
            for l in s.file.read_lines(r)? {
                out.push(format!("{:<w$} │ {l}", s.label, w = self.width));
            }
        }
        Ok(out)
    }

    /// When each line of `range` was written, if known.
    pub(crate) fn times(&self, range: Range<usize>) -> Vec<Option<Timestamp>> {
        self.pieces(range)
            .into_iter()
            .flat_map(|(b, r)| self.sources[self.blocks[b].source].file.times(r))
            .collect()
    }

    /// The nearest line after (or before) `from`, wrapping around, whose text contains
    /// `needle` (ignoring case), block by block.
    pub(crate) fn find(&mut self, needle: &str, from: usize, forward: bool) -> Option<usize> {
        let n = self.total;
        if n == 0 || needle.is_empty() {
            return None;
        }
        let needle = Needle::new(needle);
        let from = from.min(n - 1);
        let order = if forward {
            [from + 1..n, 0..from + 1]
        } else {
            [0..from, from..n]
        };
        for r in order {
            let mut pieces = self.pieces(r);
            if !forward {
                pieces.reverse();
            }
            for (b, lines) in pieces {
                let blk = self.blocks[b];
                let hit = self.sources[blk.source]
                    .file
                    .find_range(&needle, lines, forward)
                    .ok()
                    .flatten();
                if let Some(l) = hit {
                    return Some(self.starts[b] + (l - blk.first));
                }
            }
        }
        None
    }

    /// The logs left out past [`MAX_LOGS`], for the title.
    pub(crate) fn left_out(&self) -> usize {
        self.left_out
    }
}

/// Bring the merged view's state up to date with the files (as `LogReaders::sync_log`
/// does for one log).
pub(crate) fn sync(
    merged: &mut Option<MergedLog>,
    log: &mut LogState,
    view: &RunView,
    stored: Option<&StoredTimes>,
    rows: usize,
) {
    if merged.as_ref().is_none_or(|m| m.run_id() != view.run_id) {
        *merged = Some(MergedLog::new(&view.run_id));
        log.window = Arc::default();
        log.times = Arc::default();
    }
    let Some(m) = merged.as_mut() else {
        return;
    };
    log.rows = rows;
    let before = log.total;
    let grew = m.poll(view, stored);
    log.total = m.len();
    log.source = Some(match m.left_out() {
        0 => "every step".to_string(),
        n => format!("every step (the first {MAX_LOGS} logs; {n} more not shown)"),
    });
    if let Some(forward) = log.find.take() {
        let from = search_from(log, forward);
        let hit = m.find(&log.search, from, forward);
        show_match(log, hit);
    }
    crate::logfile::refill(log, rows, grew, before, |range| {
        let lines = m.read_lines(range.clone()).ok()?;
        let times = m.times(range.start..range.start + lines.len());
        Some((lines, times))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::logtimes::{INDEX, index_record};
    use std::io::Write;

    /// The release fixture with every step's log in `dir` (attempt 1 of each, none
    /// written yet): the run's index holds `records`.
    fn view_in(dir: &std::path::Path) -> RunView {
        let mut v = crate::fixtures::release();
        for s in &mut v.steps {
            s.attempts = s.attempts.min(1);
            s.log_path = Some(dir.join(baton_model::log_file_name(&s.id, 1)));
        }
        v
    }

    fn append(path: &std::path::Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn lines_merge_by_the_second_written_and_later_ones_come_after() {
        let dir = tempfile::tempdir().unwrap();
        let v = view_in(dir.path());
        let t = |s: i64| Timestamp::from_millis(s * 1000);
        // build wrote at seconds 1 and 3, lint at 2 and 3; both ended.
        append(&dir.path().join("build.1.log"), "b1\nb1x\nb3\n");
        append(&dir.path().join("lint.1.log"), "l2\nl3\n");
        let index = index_record("build.1.log", 0, t(1))
            + &index_record("lint.1.log", 0, t(2))
            + &index_record("build.1.log", 7, t(3))
            + &index_record("lint.1.log", 3, t(3));
        std::fs::write(dir.path().join(INDEX), index).unwrap();
        let mut m = MergedLog::new(&v.run_id);
        assert!(m.poll(&v, None));
        let lines = m.read_lines(0..10).unwrap();
        assert_eq!(
            lines,
            [
                "build │ b1",
                "build │ b1x",
                "lint  │ l2",
                "build │ b3",
                "lint  │ l3"
            ]
        );
        assert_eq!(m.times(2..3), [Some(t(2))]);
        // package is running: its partial last line waits for its newline.
        append(&dir.path().join("package.1.log"), "p1\npart");
        assert!(m.poll(&v, None));
        assert_eq!(m.len(), 6);
        append(&dir.path().join("package.1.log"), "ial\n");
        append(&dir.path().join("build.1.log"), "late\n");
        assert!(m.poll(&v, None));
        assert!(!m.poll(&v, None), "nothing new");
        // New lines come after those placed: build's (of second 3) before package's
        // (seen now); package's first line has no record and goes by its step's start.
        let lines = m.read_lines(5..9).unwrap();
        assert_eq!(
            lines,
            ["package │ p1", "build   │ late", "package │ partial"]
        );
        // Search: forward and backward, wrapping, in the text of every log.
        assert_eq!(m.find("L3", 0, true), Some(4));
        assert_eq!(m.find("PARTIAL", 0, true), Some(7));
        assert_eq!(m.find("b1", 4, false), Some(1));
        assert_eq!(m.find("b1", 1, true), Some(0));
        assert_eq!(m.find("nowhere", 0, true), None);
    }
}
