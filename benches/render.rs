//! Console frame time for a 10,000-step run at 200×60 (docs/architecture.md "Performance budgets": under 2 ms), in list
//! mode, in graph mode (dense gaps drawn as bundles) and zoomed out (`z`), and for a
//! step fanned out into 10,000 instances (closed, and opened in the graph and the list), rendered
//! through the real `render` into a `TestBackend`, against a blank frame in the same run.
//! `BATON_BENCH_BASE=<another build's render bench executable>` runs the two builds in
//! alternating rounds and prints the ratios (`support/paired.rs`).
use baton::console::UiState;
use baton::console::{ConsoleConfig, Theme, fixtures, render};
use criterion::{Criterion, criterion_group};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn frames(c: &mut Criterion) {
    let view = fixtures::big(10_000);
    let config = ConsoleConfig::with_theme(Theme::load("default").expect("built-in theme"));
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    let mut g = c.benchmark_group("frame_10k_steps_200x60");
    for (name, list, overview) in [
        ("list", true, false),
        ("graph", false, false),
        ("overview", false, true),
    ] {
        let mut ui = UiState::new("bench");
        ui.list_mode = Some(list);
        ui.overview = overview;
        // The graph layout is kept per run (the event loop does this before drawing);
        // measure the steady state.
        ui.keep_layout(&view);
        g.bench_function(name, |b| {
            b.iter(|| {
                term.draw(|f| {
                    black_box(render(f, black_box(&view), &ui, &config));
                })
                .expect("draw");
            })
        });
    }
    // Baseline, same run: a frame that draws nothing but a blank screen, so the
    // terminal's own cost (the buffer and its diff) is known.
    g.bench_function("base_blank_frame", |b| {
        b.iter(|| {
            term.draw(|f| f.render_widget(ratatui::widgets::Block::default(), f.area()))
                .expect("draw");
        })
    });
    g.bench_function("graph_layout_uncached", |b| {
        let needs: Vec<Vec<usize>> = view.steps.iter().map(|s| s.needs.clone()).collect();
        b.iter(|| baton::console::layout(black_box(&needs)))
    });
    g.finish();
}

/// Issue 26 point 7: a run with one step fanned out into 10,000 instances, its node
/// closed (the counts are the view's, never counted by a frame) and opened (the graph
/// and the list of its instances), the step in focus with its detail pane listing them.
fn fanned_frames(c: &mut Criterion) {
    let view = fixtures::fanned(10_000);
    let config = ConsoleConfig::with_theme(Theme::load("default").expect("built-in theme"));
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    let mut g = c.benchmark_group("frame_10k_instances_200x60");
    for (name, list, open) in [
        ("closed", false, false),
        ("open_graph", false, true),
        ("open_list", true, true),
    ] {
        let mut ui = UiState::new("bench");
        ui.list_mode = Some(list);
        if open {
            ui.expanded.insert("test".to_string());
        }
        ui.keep_layout(&view);
        g.bench_function(name, |b| {
            b.iter(|| {
                term.draw(|f| {
                    black_box(render(f, black_box(&view), &ui, &config));
                })
                .expect("draw");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, frames, fanned_frames);

#[path = "support/load.rs"]
mod load;
#[path = "support/paired.rs"]
mod paired;

// `criterion_main!`, unless `BATON_BENCH_BASE` asks for rounds against another build.
fn main() {
    if paired::run("render") {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
