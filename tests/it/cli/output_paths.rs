//! Issue 75 point 6: a path baton writes whole (`baton import -o`, `--metrics-file`)
//! or appends to (`--events`) is never replaced when it is not a regular file: a
//! character device stays the device, a pipe stays the pipe and gets the bytes, and
//! a directory is refused, saying so.
use crate::helpers::*;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

const GITHUB: &str = "name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n";

/// A pipe in the test's directory and its read end, opened without waiting for a
/// writer: what baton writes waits in the pipe until the test reads it.
fn pipe_with_reader(path: &Path) -> std::fs::File {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .unwrap()
}

fn drained(mut reader: std::fs::File) -> String {
    let mut got = String::new();
    reader.read_to_string(&mut got).unwrap();
    got
}

fn is_fifo(p: &Path) -> bool {
    std::fs::symlink_metadata(p).unwrap().file_type().is_fifo()
}

#[test]
fn import_to_dev_null_or_a_pipe_writes_in_place_and_a_directory_is_refused() {
    let env = Env::new();
    let yml = env.path().join("ci.yml");
    std::fs::write(&yml, GITHUB).unwrap();
    let yml = yml.to_str().unwrap();
    // Only opened for writing: the device itself is never touched otherwise.
    let o = env.run(&["import", "github", yml, "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is still a device"
    );

    let fifo = env.path().join("out.toml");
    let reader = pipe_with_reader(&fifo);
    let o = env.run(&["import", "github", yml, "-o", fifo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(is_fifo(&fifo), "the pipe was replaced");
    let got = drained(reader);
    assert!(
        got.contains("name = \"ci\""),
        "the pipe's reader got: {got:?}"
    );

    // Nobody reads it: refused at once, not waited on, and still a pipe.
    let o = env.run(&["import", "github", yml, "-o", fifo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("is a pipe nobody reads"),
        "{}",
        text(&o.stderr)
    );
    assert!(is_fifo(&fifo));

    let dir = env.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    let o = env.run(&["import", "github", yml, "-o", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("is a directory"),
        "{}",
        text(&o.stderr)
    );
    assert!(dir.is_dir());
}

#[test]
fn the_metrics_file_and_the_events_of_a_run_write_into_a_pipe_and_dev_null() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"m\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let fifo = env.path().join("baton.prom");
    let reader = pipe_with_reader(&fifo);
    let out = wait_child(
        env.spawn(&[
            "run",
            wf.to_str().unwrap(),
            "--headless",
            "--metrics-file",
            fifo.to_str().unwrap(),
            "--events",
            "/dev/null",
        ]),
        60,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(is_fifo(&fifo), "the pipe was replaced");
    let got = drained(reader);
    assert!(
        got.contains("# TYPE baton_"),
        "the pipe's reader got: {got:?}"
    );
    let null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device());
}
