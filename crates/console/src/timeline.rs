//! The Timeline tab's layout (issue 45 point 8), pure: a run's steps on one time axis,
//! as a Gantt chart. Each step's spans (`model::timeline::segments`: queue wait, each
//! attempt, gate wait, backoff, hold) become cells of a bar `width` columns wide that
//! covers the run from its start to its end, or to the clock while it goes on (the
//! clock stops where a gone engine last gave a sign of life: `RunView::clock_at`). The
//! axis' ticks fall on round times, as far apart as their labels need. The view only
//! draws what this returns.
use baton_model::timeline::{self, AttemptEnd, SegmentKind};
use baton_model::{RunView, Timestamp};
use std::time::Duration;

/// What one cell of a step's bar shows. An attempt (`Failed` and after) wins a cell it
/// shares with a wait; otherwise the later span does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cell {
    Empty,
    Queue,
    Backoff,
    Held,
    Gate,
    /// An attempt that failed (and was retried, or was the last).
    Failed,
    Succeeded,
    Running,
    /// A running attempt frozen (`P`, `baton hold`, a budget's ceiling): its time is
    /// not run time, and it wins the cells it spans.
    Frozen,
}

impl Cell {
    /// The bar's symbol for the cell: each has its own in ASCII too (`term::ascii`).
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Cell::Empty => " ",
            Cell::Queue => "░",
            Cell::Backoff => "·",
            Cell::Held => "⏯",
            Cell::Gate => "▒",
            Cell::Failed => "▓",
            Cell::Succeeded | Cell::Running => "█",
            Cell::Frozen => crate::views::common::FROZEN_GLYPH,
        }
    }

    /// The legend, in the order it is drawn: (cell, what it means).
    pub(crate) const LEGEND: [(Cell, &'static str); 6] = [
        (Cell::Queue, "queued"),
        (Cell::Gate, "gate"),
        (Cell::Running, "running"),
        (Cell::Succeeded, "ran"),
        (Cell::Failed, "failed attempt"),
        (Cell::Backoff, "retry backoff"),
    ];
}

/// One step's row: the step (an index into `view.steps`) and its bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub step: usize,
    pub cells: Vec<Cell>,
}

/// A tick of the axis: its column and the time since the start it marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tick {
    pub col: usize,
    pub at: Timestamp,
    pub since_start: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub start: Timestamp,
    pub end: Timestamp,
    pub width: usize,
    pub rows: Vec<Row>,
    pub ticks: Vec<Tick>,
}

/// The axis' span: from the run's start (or its first step's first transition) to its
/// end, or to `clock` while it has not ended. Never empty (a second at least).
pub(crate) fn span(view: &RunView, clock: Timestamp) -> (Timestamp, Timestamp) {
    let first = view
        .steps
        .iter()
        .filter_map(|s| s.history.first().map(|t| t.at))
        .min();
    let start = match (view.started_at, first) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(clock),
    };
    let end = view.finished_at.unwrap_or(clock).max(start);
    let end = if end.since(start) < Duration::from_secs(1) {
        start.add(Duration::from_secs(1))
    } else {
        end
    };
    (start, end)
}

/// The column of time `t` on a bar of `width` columns over `start..end` (clamped).
pub(crate) fn column(t: Timestamp, start: Timestamp, end: Timestamp, width: usize) -> usize {
    if width == 0 {
        return 0;
    }
    let total = (end.0 - start.0).max(1) as i128;
    let off = (t.0 - start.0).clamp(0, total as i64) as i128;
    ((off * width as i128 / total) as usize).min(width - 1)
}

/// The last column a span ending (exclusively) at `t` reaches: the cell `t` falls in
/// unless `t` is exactly on a cell's edge.
fn last_column(t: Timestamp, start: Timestamp, end: Timestamp, width: usize) -> usize {
    let total = (end.0 - start.0).max(1) as i128;
    let off = (t.0 - start.0).clamp(0, total as i64) as i128;
    let scaled = off * width as i128;
    let ceil = (scaled + total - 1) / total;
    (ceil.max(1) as usize - 1).min(width.saturating_sub(1))
}

/// Step `i`'s bar over the axis `start..end`: its spans up to `until` (the clock, or
/// the run's end) painted on `width` cells. A span shorter than a cell still takes one
/// (an attempt of 20 ms in an hour's run is seen).
pub(crate) fn bar(
    view: &RunView,
    i: usize,
    (start, end): (Timestamp, Timestamp),
    until: Timestamp,
    width: usize,
) -> Vec<Cell> {
    let mut cells = vec![Cell::Empty; width];
    if width == 0 {
        return cells;
    }
    let until = until.min(end);
    for seg in timeline::segments(&view.steps[i].history, until) {
        let cell = match seg.kind {
            SegmentKind::Queue => Cell::Queue,
            SegmentKind::Gate => Cell::Gate,
            SegmentKind::Backoff => Cell::Backoff,
            SegmentKind::Held => Cell::Held,
            SegmentKind::Attempt { end: e, .. } => match e {
                AttemptEnd::Succeeded => Cell::Succeeded,
                AttemptEnd::Failed => Cell::Failed,
                AttemptEnd::Running => Cell::Running,
            },
        };
        // A wait of no time is not drawn; an attempt always is.
        if seg.to == seg.from && cell < Cell::Failed {
            continue;
        }
        let a = column(seg.from, start, end, width);
        let b = last_column(seg.to, start, end, width).max(a);
        for c in &mut cells[a..=b] {
            // An attempt is never hidden by a wait; of two attempts, the later wins.
            if cell >= Cell::Failed || *c < Cell::Failed {
                *c = cell;
            }
        }
    }
    // Frozen spans over the attempts they stopped (a freeze still on ends at `until`).
    for f in &view.steps[i].freezes {
        let to = f.to.unwrap_or(until).min(until);
        if to <= f.from {
            continue;
        }
        let a = column(f.from, start, end, width);
        let b = last_column(to, start, end, width).max(a);
        cells[a..=b].fill(Cell::Frozen);
    }
    cells
}

/// Round steps for the axis' ticks, shortest first.
const STEPS: [u64; 16] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400,
];

/// Ticks on round times from the start, at least `min_gap` columns apart (a label's
/// width and a space).
pub(crate) fn ticks(start: Timestamp, end: Timestamp, width: usize, min_gap: usize) -> Vec<Tick> {
    if width == 0 {
        return Vec::new();
    }
    let total_ms = (end.0 - start.0).max(1) as u64;
    let per_col = total_ms as f64 / width as f64;
    let step_s = STEPS
        .iter()
        .copied()
        .find(|s| (s * 1000) as f64 / per_col >= min_gap as f64)
        .unwrap_or_else(|| {
            let days = (per_col * min_gap as f64 / 86_400_000.0).ceil() as u64;
            days.max(1) * 86400
        });
    let mut out = Vec::new();
    let mut k = 0u64;
    loop {
        let since = Duration::from_secs(step_s * k);
        let at = start.add(since);
        if at > end {
            break;
        }
        let col = column(at, start, end, width);
        if col + min_gap > width + 1 && k > 0 {
            break;
        }
        out.push(Tick {
            col,
            at,
            since_start: since,
        });
        k += 1;
    }
    out
}

/// The whole layout: a row for each of `steps` (in the order given) over the run's span.
pub(crate) fn layout(
    view: &RunView,
    steps: &[usize],
    clock: Timestamp,
    width: usize,
    min_gap: usize,
) -> Layout {
    let (start, end) = span(view, clock);
    // Open spans end at the clock (or the run's end), not where a short axis is padded.
    let until = view.finished_at.unwrap_or(clock);
    Layout {
        start,
        end,
        width,
        rows: steps
            .iter()
            .map(|&i| Row {
                step: i,
                cells: bar(view, i, (start, end), until, width),
            })
            .collect(),
        ticks: ticks(start, end, width, min_gap),
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
