//! Issue 76 point 5 in the console: `V` on the DAG tab shows every step's log in one
//! view, each line after its step, follows what arrives, searches with `/`, and holds
//! 1 GiB of logs in bounded memory.
use super::*;
use std::io::{Seek, SeekFrom, Write};

#[test]
fn v_shows_every_steps_log_follows_it_and_searches_it() {
    let env = Env::new();
    let go = env.path().join("go");
    let wf = env.workflow(
        "every.toml",
        &format!(
            r#"name = "every"
[[step]]
id = "alpha"
run = "echo alpha-one; sleep 1.1; echo alpha-two"
[[step]]
id = "beta"
run = "sleep 0.5; echo beta-needle-here"
[[step]]
id = "gamma"
run = "while [ ! -e {go} ]; do sleep 0.05; done; echo gamma-late"
"#,
            go = go.display()
        ),
    );
    let tmux = Tmux::running(&env, &wf, 100, 30);
    tmux.wait_for("the DAG", |s| s.contains("gamma"), 30);
    tmux.keys(&["V"]);
    let s = tmux.wait_for(
        "alpha's and beta's lines, each after its step",
        |s| s.contains("alpha │ alpha-two") && s.contains("beta  │ beta-needle-here"),
        30,
    );
    assert!(s.contains("Log · every step"), "{s}");
    let at = |s: &str, t: &str| s.find(t).unwrap_or_else(|| panic!("{t} not on\n{s}"));
    assert!(
        at(&s, "alpha-one") < at(&s, "beta-needle") && at(&s, "beta-needle") < at(&s, "alpha-two"),
        "{s}"
    );
    // A line that arrives later comes at the end, followed.
    std::fs::write(&go, "").unwrap();
    tmux.wait_for("gamma's line", |s| s.contains("gamma │ gamma-late"), 30);
    // `/` searches the merged lines; the title names the match.
    tmux.keys(&["/"]);
    tmux.literal("NEEDLE");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the match", |s| s.contains("/NEEDLE line 2"), 10);
    tmux.keys(&["Escape"]);
    tmux.wait_for("the DAG again", |s| !s.contains("Log · every step"), 10);
}

/// The resident set's peak (VmHWM) of `pid`, in KiB.
fn peak_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn every_steps_log_of_a_gigabyte_opens_in_bounded_memory() {
    const MIB: u64 = 1 << 20;
    let env = Env::new();
    // A chain: the merged view orders logs by when their steps wrote, so s4's lines
    // are the last ones only if s4 ran last (four steps at once may write in any order).
    let wf = env.workflow(
        "big.toml",
        "name = \"big\"\n[[step]]\nid = \"s1\"\nrun = \"echo\"\n\
         [[step]]\nid = \"s2\"\nneeds = [\"s1\"]\nrun = \"echo\"\n\
         [[step]]\nid = \"s3\"\nneeds = [\"s2\"]\nrun = \"echo\"\n\
         [[step]]\nid = \"s4\"\nneeds = [\"s3\"]\nrun = \"echo\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    // Four logs of 256 MiB each (sparse), a line a MiB, the last line of each marked.
    for s in ["s1", "s2", "s3", "s4"] {
        let path = step_field(&show, s, "log_path");
        let mut f = std::fs::File::create(path.as_str().unwrap()).unwrap();
        f.set_len(256 * MIB).unwrap();
        for i in 1..=256 {
            f.seek(SeekFrom::Start(i * MIB - 1)).unwrap();
            f.write_all(b"\n").unwrap();
        }
        f.seek(SeekFrom::Start(256 * MIB)).unwrap();
        f.write_all(format!("end of {s}\n").as_bytes()).unwrap();
    }
    let db = env.db();
    let command = format!(
        "cd {} && XDG_CONFIG_HOME={} {} tui --db {} ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&db.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 100, 30, &command);
    tmux.wait_for("the Runs tab", |s| s.contains("Enter: open"), 30);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the run's DAG", |s| s.contains("s4"), 30);
    tmux.keys(&["V"]);
    let s = tmux.wait_for("the last line", |s| s.contains("end of s4"), 60);
    assert!(s.contains("1,028 lines") || s.contains("1028 lines"), "{s}");
    let pid = pid_of(&db.to_string_lossy()).expect("the console's pid");
    let kib = peak_kib(pid);
    eprintln!("the console over 1 GiB of logs in one view: peak RSS {kib} KiB");
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
}
