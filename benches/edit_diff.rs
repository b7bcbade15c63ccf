//! Issue 44 point 6: an edit's diff opens in under 100 ms on a 1 MiB value. Timed from
//! the edited value being read back from the editor's file (`editor::read_back`, as the
//! console does) to the diff being laid out for the screen: the dialog takes the value
//! (`Action::Edited`), the first Enter works out the unified diff against the proposal
//! (`Action::Confirm`), and a frame of the dialog is rendered through the real `render`
//! into a 120×40 `TestBackend`. The baseline, same run: the same dialog with the value
//! read back unchanged, rendered without a diff (the plain render of the unchanged
//! value). Cases: three lines changed, every 50th line changed, and the whole value
//! replaced (every line changed).
use baton::console::read_back;
use baton::console::{Action, Dialog, Tab, UiState, update};
use baton::console::{ConsoleConfig, Theme, fixtures, render};
use baton::model::{InputView, RunView};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

/// About 1 MiB of SQL-like text, 64 bytes a line.
fn proposal() -> String {
    let mut s = String::with_capacity(1 << 20);
    let mut i = 0;
    while s.len() < (1 << 20) - 64 {
        s.push_str(&format!(
            "INSERT INTO events VALUES ({i:>8}, 'payload {i:>8}', NULL);  \n"
        ));
        i += 1;
    }
    s
}

/// The proposal with every `every`-th line changed (from line `from`).
fn edited(p: &str, from: usize, every: usize) -> String {
    p.lines()
        .enumerate()
        .map(|(n, l)| {
            if n >= from && (n - from).is_multiple_of(every) {
                format!("{}-- edited\n", l.replace("NULL", "'x'"))
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// The approve dialog open on a gate whose `sql` input proposes `p`.
fn dialog(p: &str) -> (RunView, UiState) {
    let mut v = fixtures::release();
    v.gates[0].inputs = vec![InputView {
        name: "sql".into(),
        ty: "string".into(),
        values: Vec::new(),
        required: false,
        default: Some(p.to_string()),
        pattern: None,
        description: None,
    }];
    // carol: an approver of the release's gate who has not voted yet.
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::Approve);
    update(&mut ui, &v, Action::Editor);
    (v, ui)
}

fn diff_opens(c: &mut Criterion) {
    let p = proposal();
    let lines = p.lines().count();
    let config = ConsoleConfig::with_theme(Theme::load("default").expect("built-in theme"));
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    let mut g = c.benchmark_group("edit_diff_1mib_120x40");
    g.sample_size(20);
    let cases = [
        ("base_unchanged_plain_render", p.clone()),
        ("three_lines", edited(&p, lines / 2, lines / 6)),
        ("every_50th_line", edited(&p, 0, 50)),
        ("every_line", edited(&p, 0, 1)),
    ];
    for (name, value) in cases {
        let changed = value != p;
        // What each case lays out: the diff's length, once, outside the timing.
        let (v, mut ui) = dialog(&p);
        update(&mut ui, &v, Action::Edited(Ok(value.clone())));
        if changed {
            update(&mut ui, &v, Action::Confirm);
        }
        let diff_lines = match &ui.dialog {
            Some(Dialog::Gate(d)) => d.diff.len(),
            other => panic!("no approve dialog: {other:?}"),
        };
        assert_eq!(changed, diff_lines > 0, "{name}");
        eprintln!("{name}: {} bytes, diff of {diff_lines} lines", value.len());
        g.bench_function(name, |b| {
            b.iter_batched(
                || (dialog(&p), value.clone().into_bytes()),
                |((v, mut ui), bytes)| {
                    let text = read_back(&p, bytes).expect("UTF-8");
                    update(&mut ui, &v, Action::Edited(Ok(text)));
                    if changed {
                        // The first Enter opens the review on the diff.
                        let sent = update(&mut ui, &v, Action::Confirm);
                        assert!(sent.is_empty(), "{sent:?}");
                    }
                    term.draw(|f| {
                        black_box(render(f, &v, &ui, &config));
                    })
                    .expect("draw");
                    ui
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, diff_opens);
criterion_main!(benches);
