//! DAG tab: the layered graph (drawn straight into buffer cells) or the step list, and
//! the detail pane of the focused step.
use super::common::{pad, panel, styled};
use super::detail;
use crate::app::Hits;
use crate::app::{MAX_LABEL, UiState, node_label, rows_match, shown_steps};
use crate::layout::DagLayout;
use crate::theme::Theme;
use baton_model::{RunView, StepView};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const GAP: u16 = 3;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let (main, side) = if area.width >= 110 {
        let w = (area.width / 3).clamp(44, 60);
        (
            Rect {
                width: area.width - w,
                ..area
            },
            Rect {
                x: area.x + area.width - w,
                width: w,
                ..area
            },
        )
    } else {
        let h = (area.height / 2).min(11);
        (
            Rect {
                height: area.height - h,
                ..area
            },
            Rect {
                y: area.y + area.height - h,
                height: h,
                ..area
            },
        )
    };
    let list = ui.is_list_mode(view);
    let focus = ui.focus(view);
    let shown = if ui.filter.trim().is_empty() {
        view.steps.len()
    } else {
        shown_steps(view, ui).len()
    };
    let overview = !list && ui.overview;
    let mut title = vec![styled(
        format!(
            " {} · {}",
            if list {
                "List"
            } else if overview {
                "Overview"
            } else {
                "Graph"
            },
            super::common::count(baton_model::fan::plan_len(view), "step", "steps")
        ),
        theme.title,
    )];
    if overview {
        title.push(styled(" · viewport reversed · z: back", theme.dim));
    }
    if !ui.filter.is_empty() {
        title.push(styled(
            format!(" · filter /{} ({shown} match)", ui.filter),
            theme.warning,
        ));
    }
    if ui.follow {
        title.push(styled(" · follow", theme.dim));
    }
    title.push(Span::raw(" "));
    let block = panel(Line::from(title), theme, true);
    let inner = block.inner(main);
    frame.render_widget(block, main);
    if view.steps.is_empty() {
        frame.render_widget(Paragraph::new(styled("no steps", theme.dim)), inner);
    } else if list {
        render_list(
            Canvas::new(frame.buffer_mut(), inner, hits),
            view,
            ui,
            focus,
            theme,
        );
    } else if overview {
        let layout = ui.layout(view);
        render_overview(
            Canvas::new(frame.buffer_mut(), inner, hits),
            view,
            ui,
            &layout,
            focus,
            theme,
        );
    } else {
        let layout = ui.layout(view);
        render_graph(
            Canvas::new(frame.buffer_mut(), inner, hits),
            view,
            ui,
            &layout,
            focus,
            theme,
        );
    }
    detail::render(frame, side, view, ui, focus, theme);
}

fn step_duration(s: &StepView, view: &RunView, ui: &UiState) -> String {
    crate::views::common::run_time(s, ui.clock(view))
        .map(baton_model::time::human_duration)
        .unwrap_or_default()
}

/// Rows of the list: only the visible slice is built, so 10,000 steps cost no more than 50.
fn render_list(canvas: Canvas, view: &RunView, ui: &UiState, focus: Option<usize>, theme: &Theme) {
    let Canvas { buf, area, hits } = canvas;
    if area.height < 2 || area.width < 4 {
        return;
    }
    let vis = shown_steps(view, ui);
    let id_w = vis
        .iter()
        .take(2000)
        .map(|&i| super::fan::list_id_width(view, i))
        .max()
        .unwrap_or(4)
        .clamp(4, 28);
    let header = format!(
        "  {} {} {:>5} {:>8}  action",
        pad("state", 17),
        pad("step", id_w),
        "tries",
        "time"
    );
    buf.set_stringn(area.x, area.y, &header, area.width as usize, theme.dim);
    let rows = (area.height - 1) as usize;
    let at = focus
        .and_then(|f| vis.iter().position(|&i| i == f))
        .unwrap_or(0);
    let top = if vis.len() <= rows {
        0
    } else {
        at.saturating_sub(rows / 2).min(vis.len() - rows)
    };
    for (r, &i) in vis.iter().skip(top).take(rows).enumerate() {
        let s = &view.steps[i];
        let y = area.y + 1 + r as u16;
        let st = crate::views::common::step_style(s, theme);
        let selected = Some(i) == focus;
        let line = format!(
            "{} {} {} {:>5} {:>8}  {}",
            crate::views::common::step_glyph(s),
            pad(crate::views::common::step_word(s), 17),
            pad(&super::fan::list_id(view, i), id_w),
            if s.fan.is_some() {
                String::new()
            } else {
                s.attempts_text()
            },
            step_duration(s, view, ui),
            match &s.ask {
                // Its process asks a person (`baton ask`): said on its line.
                Some(a) => {
                    let line = baton_model::sanitize::one_line(&a.prompt);
                    format!(
                        "? {}",
                        baton_model::sanitize::strip_to_plain(line.as_bytes())
                    )
                }
                None => super::fan::list_action(s, ui.is_expanded(view, i)),
            }
        );
        let style = if selected {
            theme.selection
        } else {
            theme.base
        };
        buf.set_stringn(area.x, y, &line, area.width as usize, style);
        hits.record(
            Rect {
                y,
                height: 1,
                ..area
            },
            crate::app::Hit::Step(i),
        );
        if !selected {
            // Glyph and state name carry the state colour.
            buf.set_stringn(area.x, y, crate::views::common::step_glyph(s), 1, st);
            buf.set_stringn(
                area.x + 2,
                y,
                crate::views::common::step_word(s),
                (area.width as usize).saturating_sub(2),
                st,
            );
        }
    }
    if vis.is_empty() {
        buf.set_stringn(
            area.x,
            area.y + 1,
            "no step matches the filter (Esc clears it)",
            area.width as usize,
            theme.dim,
        );
    }
}

const N: u8 = 1;
const S: u8 = 2;
const E: u8 = 4;
const W: u8 = 8;

fn box_char(bits: u8) -> char {
    match bits {
        b if b == N | S | E | W => '┼',
        b if b == N | S | E => '├',
        b if b == N | S | W => '┤',
        b if b == E | W | S => '┬',
        b if b == E | W | N => '┴',
        b if b == S | E => '╭',
        b if b == S | W => '╮',
        b if b == N | E => '╰',
        b if b == N | W => '╯',
        b if b & (N | S) != 0 && b & (E | W) == 0 => '│',
        _ => '─',
    }
}

/// Where the graph's columns are and which part of its canvas the viewport shows: one
/// computation for the graph and for the overview that marks that viewport.
struct Geometry {
    /// Column width of each layer (label plus glyph).
    widths: Vec<u16>,
    /// Canvas x of each layer.
    xs: Vec<u32>,
    /// The viewport's top-left corner on the canvas.
    ox: u32,
    oy: u32,
}

fn geometry(layout: &DagLayout, area: Rect, focus: Option<usize>) -> Geometry {
    // Label widths per layer are cached with the layout (ids do not change in a run).
    let widths: Vec<u16> = (0..layout.layers.len())
        .map(|l| (layout.label_width.get(l).copied().unwrap_or(MAX_LABEL) + 2) as u16)
        .collect();
    let mut xs = Vec::with_capacity(widths.len());
    let mut x = 0u32;
    for (l, w) in widths.iter().enumerate() {
        xs.push(x);
        x += u32::from(*w) + gap_width(layout, l);
    }
    let canvas_w = x.saturating_sub(u32::from(GAP));
    let canvas_h = layout.height() as u32;
    // Scroll only as far as needed to show the focused step (columns stay put otherwise).
    let (fx0, fx1, fy) = focus
        .and_then(|f| layout.place.get(f))
        .map_or((0, 0, 0), |&(l, r)| {
            (xs[l], xs[l] + u32::from(widths[l]), r as u32)
        });
    let (aw, ah) = (u32::from(area.width), u32::from(area.height));
    let ox = if canvas_w <= aw || fx1 <= aw {
        0
    } else {
        (fx1 + u32::from(GAP) + 2)
            .saturating_sub(aw)
            .min(fx0)
            .min(canvas_w - aw)
    };
    let oy = if canvas_h <= ah || fy < ah {
        0
    } else {
        fy.saturating_sub(ah / 2).min(canvas_h - ah)
    };
    Geometry { widths, xs, ox, oy }
}

/// Columns between layer `l` and the next: a dense bundle needs room for its label.
fn gap_width(layout: &DagLayout, l: usize) -> u32 {
    if layout.dense_gap(l) {
        u32::from(GAP).max(layout.gap_edges(l).to_string().len() as u32 + 3)
    } else {
        u32::from(GAP)
    }
}

/// Zoomed out: every step one cell (its state glyph in its state's colour), a layer one
/// or more columns (folded when it has more steps than rows), the part the graph's
/// viewport would show marked (reversed) and the focus as `◆`. 2,000 steps fit 200×60.
fn render_overview(
    canvas: Canvas,
    view: &RunView,
    ui: &UiState,
    layout: &DagLayout,
    focus: Option<usize>,
    theme: &Theme,
) {
    let Canvas { buf, area, hits } = canvas;
    if area.width == 0 || area.height == 0 {
        return;
    }
    let g = geometry(layout, area, focus);
    let focus_node = focus.map(|f| super::fan::graph_node(view, ui, f));
    let (vw, vh) = (u32::from(area.width), u32::from(area.height));
    let in_view = |l: usize, r: usize| {
        let (x0, x1) = (g.xs[l], g.xs[l] + u32::from(g.widths[l]));
        x1 > g.ox && x0 < g.ox + vw && (r as u32) >= g.oy && (r as u32) < g.oy + vh
    };
    let rows = area.height as usize;
    // Columns of each layer, and where each starts; one blank column between layers.
    let mut col0 = Vec::with_capacity(layout.layers.len());
    let mut x = 0usize;
    for layer in &layout.layers {
        col0.push(x);
        x += layer.len().div_ceil(rows).max(1) + 1;
    }
    let total = x.saturating_sub(1);
    // Wider than the screen (10,000 steps): scroll so that the focus stays in sight.
    let fcol = focus
        .and_then(|f| layout.place.get(f))
        .map_or(0, |&(l, r)| col0[l] + r / rows);
    let w = area.width as usize;
    let left = if total <= w {
        0
    } else {
        fcol.saturating_sub(w / 2).min(total - w)
    };
    for (l, layer) in layout.layers.iter().enumerate() {
        for (r, slot) in layer.iter().enumerate() {
            let col = col0[l] + r / rows;
            if col < left || col >= left + w {
                continue;
            }
            let (cx, cy) = (area.x + (col - left) as u16, area.y + (r % rows) as u16);
            let viewport = in_view(l, r);
            let (ch, mut style) = match slot.step.and_then(|i| view.steps.get(i).map(|s| (i, s))) {
                Some((i, _)) if Some(i) == focus_node => ("◆", theme.selection),
                Some((_, s)) => (
                    crate::views::common::step_glyph(s),
                    crate::views::common::step_style(s, theme),
                ),
                None => (" ", theme.base),
            };
            if viewport {
                style = style.add_modifier(ratatui::style::Modifier::REVERSED);
            }
            if let Some(cell) = buf.cell_mut((cx, cy)) {
                cell.set_symbol(ch).set_style(style);
            }
            if let Some(i) = slot.step {
                hits.record(
                    Rect {
                        x: cx,
                        y: cy,
                        width: 1,
                        height: 1,
                    },
                    crate::app::Hit::Step(i),
                );
            }
        }
    }
}

/// Layers as columns, one line per step (`glyph id`), edges in the gaps between columns.
/// Only slots in the viewport are drawn; the viewport is centred on the focused step.
fn render_graph(
    canvas: Canvas,
    view: &RunView,
    ui: &UiState,
    layout: &DagLayout,
    focus: Option<usize>,
    theme: &Theme,
) {
    let Canvas { buf, area, hits } = canvas;
    if area.width == 0 || area.height == 0 {
        return;
    }
    let Geometry { widths, xs, ox, oy } = geometry(layout, area, focus);
    let focus_node = focus.map(|f| super::fan::graph_node(view, ui, f));
    let (vw, vh) = (u32::from(area.width), u32::from(area.height));
    let mut bits = vec![0u8; (vw * vh) as usize];
    let mut set = |cx: u32, cy: u32, b: u8| {
        if cx >= ox && cy >= oy && cx < ox + vw && cy < oy + vh {
            bits[((cy - oy) * vw + (cx - ox)) as usize] |= b;
        }
    };
    let filtering = !ui.filter.trim().is_empty();
    // Dense gaps: (bundle column, first row, last row, edges), drawn over the cells.
    let mut bundles: Vec<(u32, u32, u32, usize)> = Vec::new();
    // Edges first (every slot of a visible column, since edges cross rows off screen).
    for (li, layer) in layout.layers.iter().enumerate() {
        let x0 = xs[li] + u32::from(widths[li]);
        let gap = gap_width(layout, li);
        if xs[li] > ox + vw || x0 + gap < ox {
            continue;
        }
        if layout.dense_gap(li) {
            // One bundle: a stub from each source, a heavy line, a stub to each target,
            // and the number of edges, instead of a grid of crossings.
            if let Some((lo, hi)) = dense_bundle(layer, x0, gap, &mut set) {
                bundles.push((x0 + 1, lo, hi, layout.gap_edges(li)));
            }
            continue;
        }
        for (r, slot) in layer.iter().enumerate() {
            let r = r as u32;
            if slot.step.is_none() {
                for cx in xs[li]..x0 {
                    set(cx, r, E | W);
                }
            } else if !slot.next.is_empty() {
                let label = slot
                    .step
                    .and_then(|i| view.steps.get(i))
                    .map_or(0, super::fan::label_width) as u32;
                for cx in xs[li] + label + 1..x0 {
                    set(cx, r, E | W);
                }
            }
            let xm = x0 + 1;
            // The farthest target above and below: every edge's vertical run from `r`
            // lies within the farthest one's, and cells OR their lines, so each run is
            // drawn once, on screen rows only (10,000 instances under one step would
            // otherwise draw 50 million cells).
            let (mut above, mut below) = (r, r);
            for &t in &slot.next {
                let t = t as u32;
                set(x0, r, E | W);
                if t == r {
                    set(xm, r, E | W);
                } else {
                    let (down, up) = if t > r { (S, N) } else { (N, S) };
                    set(xm, r, W | down);
                    set(xm, t, up | E);
                    (above, below) = (above.min(t), below.max(t));
                }
                set(x0 + 2, t, E | W);
            }
            for y in (above + 1).max(oy)..r.min(oy + vh) {
                set(xm, y, N | S);
            }
            for y in (r + 1).max(oy)..below.min(oy + vh) {
                set(xm, y, N | S);
            }
        }
    }
    let vp = Viewport { area, ox, oy };
    paint_edges(buf, vp, &bits, &bundles, theme);
    // Nodes on top.
    for (li, layer) in layout.layers.iter().enumerate() {
        let (x0, w) = (xs[li], u32::from(widths[li]));
        if x0 >= ox + vw || x0 + w <= ox {
            continue;
        }
        let first = oy as usize;
        for (r, slot) in layer.iter().enumerate().skip(first).take(vh as usize) {
            let Some(step) = slot.step.and_then(|i| view.steps.get(i).map(|s| (i, s))) else {
                continue;
            };
            let (i, s) = step;
            let mut style = crate::views::common::step_style(s, theme);
            if filtering && !rows_match(view, i, &ui.filter) {
                style = theme.dim;
            }
            let label = node_label(s);
            if Some(i) == focus_node {
                style = theme.selection;
            }
            put(buf, vp, (x0, r as u32), &label, style);
            // Clickable where it is on screen (rows and columns inside the viewport).
            let w = label.chars().count() as u32;
            record_node(hits, vp, (x0, r as u32, w), i);
            let asks = s.ask.is_some();
            if (asks || s.has_gate && view.gates.iter().any(|g| g.step == Some(i)))
                && Some(i) != focus_node
            {
                // The state glyph already says waiting (or running, for a step whose
                // process asks a person: `baton ask`); the warning colour draws the eye.
                let glyph = crate::views::common::step_glyph(s);
                put(buf, vp, (x0, r as u32), glyph, theme.warning);
            }
        }
    }
}

/// A dense gap's one bundle: a stub from each source of `layer` (its right edge at
/// canvas `x0`) and a stub to each target; the rows it spans, if any edge leaves.
fn dense_bundle(
    layer: &[crate::layout::Slot],
    x0: u32,
    gap: u32,
    set: &mut impl FnMut(u32, u32, u8),
) -> Option<(u32, u32)> {
    let xm = x0 + 1;
    let (mut lo, mut hi) = (u32::MAX, 0u32);
    for (r, slot) in layer.iter().enumerate() {
        let r = r as u32;
        if slot.next.is_empty() {
            continue;
        }
        set(x0, r, E | W);
        (lo, hi) = (lo.min(r), hi.max(r));
        for &t in &slot.next {
            let t = t as u32;
            for cx in xm + 1..x0 + gap {
                set(cx, t, E | W);
            }
            (lo, hi) = (lo.min(t), hi.max(t));
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// The edge cells (`bits`, one per viewport cell) as box characters, then each dense
/// gap's bundle (column, first row, last row, edges) as a heavy line and its count.
fn paint_edges(
    buf: &mut Buffer,
    vp: Viewport,
    bits: &[u8],
    bundles: &[(u32, u32, u32, usize)],
    theme: &Theme,
) {
    let Viewport { area, ox: _, oy } = vp;
    let (vw, vh) = (u32::from(area.width), u32::from(area.height));
    for (i, b) in bits.iter().enumerate() {
        if *b != 0 {
            let (cx, cy) = (i as u32 % vw, i as u32 / vw);
            if let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) {
                cell.set_char(box_char(*b)).set_style(theme.border);
            }
        }
    }
    for &(xm, lo, hi, edges) in bundles {
        let (top, bottom) = (lo.max(oy), hi.min(oy + vh.saturating_sub(1)));
        if top > bottom {
            continue;
        }
        for y in top..=bottom {
            put(buf, vp, (xm, y), "┃", theme.border);
        }
        let mid = top + (bottom - top) / 2;
        put(buf, vp, (xm + 1, mid), &edges.to_string(), theme.warning);
    }
}

/// Step `i`'s label at canvas (x0, cy), `w` wide, clickable where it is on screen.
fn record_node(hits: &mut Hits, vp: Viewport, (x0, cy, w): (u32, u32, u32), i: usize) {
    let Viewport { area, ox, oy } = vp;
    if cy >= oy && cy < oy + u32::from(area.height) && x0 + w > ox {
        let left = x0.max(ox);
        let right = (x0 + w).min(ox + u32::from(area.width));
        if right > left {
            hits.record(
                Rect {
                    x: area.x + (left - ox) as u16,
                    y: area.y + (cy - oy) as u16,
                    width: (right - left) as u16,
                    height: 1,
                },
                crate::app::Hit::Step(i),
            );
        }
    }
}

/// Where the canvas shows: the screen area, and the canvas point at its top-left corner.
#[derive(Clone, Copy)]
struct Viewport {
    area: Rect,
    ox: u32,
    oy: u32,
}

/// Write `text` at canvas (cx, cy), clipped to the viewport.
fn put(buf: &mut Buffer, vp: Viewport, (cx, cy): (u32, u32), text: &str, style: Style) {
    let Viewport { area, ox, oy } = vp;
    if cy < oy || cy >= oy + u32::from(area.height) {
        return;
    }
    let y = area.y + (cy - oy) as u16;
    for (k, ch) in text.chars().enumerate() {
        let x = cx + k as u32;
        if x < ox || x >= ox + u32::from(area.width) {
            continue;
        }
        if let Some(cell) = buf.cell_mut((area.x + (x - ox) as u16, y)) {
            cell.set_char(ch).set_style(style);
        }
    }
}

/// Where a part of the tab draws: the buffer, its area, and the click regions it records.
struct Canvas<'a> {
    buf: &'a mut Buffer,
    area: Rect,
    hits: &'a mut Hits,
}

impl<'a> Canvas<'a> {
    fn new(buf: &'a mut Buffer, area: Rect, hits: &'a mut Hits) -> Canvas<'a> {
        Canvas { buf, area, hits }
    }
}
