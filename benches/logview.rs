//! The full-screen log on a 100 MB log (issue 12 point 1): opening it (indexing every
//! line end), a PgUp and a redraw anywhere in it (reading one screenful from the index),
//! following 1,000 appended lines (read from the last offset only), and a search that
//! reads the whole file without a match. Each has a baseline measured in the same run
//! (`base_*`): reading the file and counting its newlines (the floor of indexing), the
//! same redraw without reading, reading the whole file again as a log view without an
//! offset would, and a byte search of the file (the floor of a search).
use baton::console::{Action, UiState, update};
use baton::console::{ConsoleConfig, Theme, fixtures, render};
use baton::console::{LogFile, LogReaders};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::io::{Read, Write};

const SIZE: usize = 100 << 20;

fn big_log(path: &std::path::Path) -> usize {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let (mut written, mut lines) = (0, 0);
    while written < SIZE {
        let l = format!(
            "2026-01-01T00:00:00Z \x1b[32mINFO\x1b[0m worker {lines}: processed batch {} of the nightly import\n",
            lines * 7
        );
        w.write_all(l.as_bytes()).expect("write");
        written += l.len();
        lines += 1;
    }
    w.flush().expect("flush");
    lines
}

fn count_newlines(path: &std::path::Path) -> usize {
    let mut f = std::fs::File::open(path).expect("open");
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0;
    loop {
        let got = f.read(&mut buf).expect("read");
        if got == 0 {
            return n;
        }
        n += memchr::memchr_iter(b'\n', &buf[..got]).count();
    }
}

fn byte_search(path: &std::path::Path, needle: &[u8]) -> bool {
    let finder = memchr::memmem::Finder::new(needle);
    let mut f = std::fs::File::open(path).expect("open");
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let got = f.read(&mut buf).expect("read");
        if got == 0 {
            return false;
        }
        if finder.find(&buf[..got]).is_some() {
            return true;
        }
    }
}

fn logview(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut view = fixtures::release();
    let pkg = view.step_index("package").expect("package step");
    let path = dir
        .path()
        .join(format!("package.{}.log", view.steps[pkg].attempts));
    view.steps[pkg].log_path = Some(path.clone());
    let lines = big_log(&path);
    let config = ConsoleConfig::with_theme(Theme::load("default").expect("built-in theme"));
    let mut g = c.benchmark_group("log_100mb");
    g.sample_size(10);
    g.bench_function("open_index", |b| {
        b.iter(|| black_box(LogFile::open(&path).expect("open").len()))
    });
    g.bench_function("base_read_and_count_newlines", |b| {
        b.iter(|| black_box(count_newlines(&path)))
    });
    g.bench_function("search_whole_file_no_match", |b| {
        let mut f = LogFile::open(&path).expect("open");
        b.iter(|| black_box(f.find("no such text", 0, true).expect("read")))
    });
    g.bench_function("base_byte_search_whole_file", |b| {
        b.iter(|| black_box(byte_search(&path, b"no such text")))
    });
    let mut ui = UiState::new("bench");
    ui.follow = false;
    ui.selected = pkg;
    update(&mut ui, &view, Action::Log);
    let mut readers = LogReaders::default();
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    let rows = baton::console::text_rows(60);
    readers.sync(&mut ui, &view, rows);
    assert_eq!(ui.log.as_ref().map(|l| l.total), Some(lines));
    update(&mut ui, &view, Action::Top);
    g.sample_size(100);
    g.bench_function("page_and_redraw", |b| {
        let mut down = true;
        let mut n = 0;
        b.iter(|| {
            // Jump between the top and the middle so every step reads a new screenful.
            n += 1;
            if n % 2000 == 0 {
                down = !down;
            }
            let a = if down {
                Action::PageDown
            } else {
                Action::PageUp
            };
            update(&mut ui, &view, a);
            readers.sync(&mut ui, &view, rows);
            term.draw(|f| {
                black_box(render(f, &view, &ui, &config));
            })
            .expect("draw");
        })
    });
    g.bench_function("base_redraw_only", |b| {
        b.iter(|| {
            term.draw(|f| {
                black_box(render(f, &view, &ui, &config));
            })
            .expect("draw");
        })
    });
    update(&mut ui, &view, Action::Bottom);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("append");
    // 1,000 lines in one write, as a busy step's buffered output arrives.
    let appended: String = (0..1000).map(|i| format!("appended line {i}\n")).collect();
    g.sample_size(10);
    g.bench_function("base_follow_by_reading_the_whole_file_again", |b| {
        b.iter(|| {
            file.write_all(appended.as_bytes()).expect("append");
            // A new reader each time: the file indexed from its start.
            let mut fresh = LogReaders::default();
            fresh.sync(&mut ui, &view, rows);
            term.draw(|f| {
                black_box(render(f, &view, &ui, &config));
            })
            .expect("draw");
        })
    });
    // Each sample appends: a short measurement keeps the log near 100 MB.
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(2));
    g.bench_function("follow_1000_new_lines", |b| {
        b.iter(|| {
            file.write_all(appended.as_bytes()).expect("append");
            readers.sync(&mut ui, &view, rows);
            term.draw(|f| {
                black_box(render(f, &view, &ui, &config));
            })
            .expect("draw");
        })
    });
    g.finish();
}

criterion_group!(benches, logview);
criterion_main!(benches);
