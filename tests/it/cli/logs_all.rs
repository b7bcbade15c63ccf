//! Issue 76 point 5: `baton logs RUN` without a step prints every step's log, each line
//! after its step's id, merged in the order written (to the second the engine records);
//! `-f` follows them all until the run ends; memory does not grow with the logs.
use crate::helpers::{Env, run_id_of, secs, step_field, text, wait_until};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

/// The lines of `baton logs RUN` (no step), checked to succeed.
fn all_logs(env: &Env, run: &str) -> Vec<String> {
    let out = env.run(&["logs", run]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn every_steps_lines_come_after_their_step_in_the_order_they_were_written() {
    let env = Env::new();
    // Two steps at once, each line over a second after the one before it, by turns; and
    // a step that fails once and then succeeds.
    let wf = env.workflow(
        "two.toml",
        r#"name = "two"
[[step]]
id = "a"
run = "echo a1; sleep 2.2; echo a3"
[[step]]
id = "bb"
run = "sleep 1.1; echo b2; sleep 2.2; echo b4"
[[step]]
id = "flaky"
needs = ["a", "bb"]
retry = { attempts = 2, delay = "1ms" }
run = "if [ -e once ]; then echo second; else touch once; echo first; exit 1; fi"
"#,
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    assert_eq!(
        all_logs(&env, &run),
        [
            "a       | a1",
            "bb      | b2",
            "a       | a3",
            "bb      | b4",
            "flaky   | first",
            "flaky#2 | second",
        ]
    );
    // A step still names one log; --attempt without a step is a usage error.
    let one = env.run(&["logs", &run, "bb"]);
    assert_eq!(text(&one.stdout), "b2\nb4\n");
    let bad = env.run(&["logs", &run, "--attempt", "2"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--attempt needs a step"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn follow_prints_each_steps_lines_as_they_come_until_the_run_ends() {
    let env = Env::new();
    let go = env.path().join("go");
    let wf = env.workflow(
        "follow.toml",
        &format!(
            r#"name = "follow"
[[step]]
id = "a"
run = "echo a1; while [ ! -e {go} ]; do sleep 0.05; done; echo a2; printf a-partial"
[[step]]
id = "b"
run = "echo b1"
"#,
            go = go.display()
        ),
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "a", "running", 20);
    let mut follower = env
        .cmd()
        .args(["logs", &run, "-f"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let mut stdout = follower.stdout.take().unwrap();
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    // What the steps wrote so far is printed while the run goes on.
    wait_until("the follower to print a1 and b1", secs(20), || {
        let s = seen.lock().unwrap().clone();
        (s.contains("a | a1\n") && s.contains("b | b1\n"))
            .then_some(())
            .ok_or(s)
    });
    assert!(
        follower.try_wait().unwrap().is_none(),
        "it stopped before the run ended"
    );
    std::fs::write(&go, "").unwrap();
    let status = wait_until("the follower to end with the run", secs(30), || {
        follower.try_wait().unwrap()
    });
    assert!(status.success());
    reader.join().unwrap();
    let _ = engine.wait();
    let s = seen.lock().unwrap().clone();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 4, "{s}");
    assert_eq!(&lines[2..], ["a | a2", "a | a-partial"], "{s}");
    let mut first: Vec<&str> = lines[..2].to_vec();
    first.sort_unstable();
    assert_eq!(first, ["a | a1", "b | b1"]);
}

#[test]
fn a_gigabyte_of_logs_is_printed_in_bounded_memory() {
    const MIB: u64 = 1 << 20;
    let env = Env::new();
    let wf = env.workflow(
        "big.toml",
        "name = \"big\"\n[[step]]\nid = \"s1\"\nrun = \"echo\"\n[[step]]\nid = \"s2\"\nrun = \"echo\"\n\
         [[step]]\nid = \"s3\"\nrun = \"echo\"\n[[step]]\nid = \"s4\"\nrun = \"echo\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    // Each log becomes 256 MiB (sparse: no disk used): three of a line a MiB, one a
    // single line of 256 MiB with no newline. None is held whole.
    let mut newlines = 0;
    for s in ["s1", "s2", "s3", "s4"] {
        let path = step_field(&show, s, "log_path");
        let mut f = std::fs::File::create(path.as_str().unwrap()).unwrap();
        f.set_len(256 * MIB).unwrap();
        if s != "s4" {
            for i in 1..=256 {
                f.seek(SeekFrom::Start(i * MIB - 1)).unwrap();
                f.write_all(b"\n").unwrap();
                newlines += 1;
            }
        }
    }
    // And a time index a crash left behind: a line of 256 MiB (sparse), then a record
    // that puts s4 first.
    let s4_log = std::path::PathBuf::from(step_field(&show, "s4", "log_path").as_str().unwrap());
    let mut index = std::fs::File::create(s4_log.with_file_name("run.times")).unwrap();
    index.set_len(256 * MIB).unwrap();
    index.seek(SeekFrom::End(0)).unwrap();
    let name = s4_log.file_name().unwrap().to_str().unwrap();
    write!(index, "\n{name} 0 1\n").unwrap();
    let mut child = env
        .cmd()
        .args(["logs", &run])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let total = 1024 * MIB + 1 + (newlines + 1) * "s1 | ".len() as u64;
    // Read as it comes: what the test holds is a buffer, not the output. The last 4 MiB
    // are held back a moment: baton, blocked writing them (a pipe holds 64 KiB), is
    // alive, and its own peak RSS (VmHWM, its memory since exec) is read then. Not
    // wait4's ru_maxrss: a child spawned with vfork (posix_spawn) takes at exec the
    // high-water mark of the memory it shared, the test process's, which depends on
    // the tests running beside it.
    let pid = child.id();
    let mut peak_kib = None;
    let mut r = std::io::BufReader::with_capacity(1 << 16, child.stdout.take().unwrap());
    let (mut bytes, mut lines, mut s4) = (0u64, 0u64, 0u64);
    assert_eq!(r.fill_buf().unwrap().get(..5), Some(&b"s4 | "[..]));
    loop {
        if peak_kib.is_none() && bytes + 4 * MIB >= total {
            wait_until("baton to block writing its last MiBs", secs(60), || {
                (proc_state(pid) == Some('S')).then_some(())
            });
            peak_kib = vm_hwm_kib(pid);
        }
        let buf = r.fill_buf().unwrap();
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        lines += memchr::memchr_iter(b'\n', buf).count() as u64;
        s4 += memchr::memmem::find_iter(buf, b"s4 | ").count() as u64;
        bytes += n as u64;
        r.consume(n);
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // Every byte of the four logs, each line after its step (the line without a newline
    // ended by one), nothing held back.
    assert_eq!(lines, newlines + 1);
    assert_eq!(s4, 1);
    assert_eq!(bytes, total);
    let peak_kib = peak_kib.expect("baton's VmHWM, read while it was blocked writing");
    eprintln!("baton logs over 1 GiB of logs: peak RSS {peak_kib} KiB");
    assert!(peak_kib < 48 * 1024, "peak RSS {peak_kib} KiB");
}

/// A process's state letter (R, S, D, Z, ...) from /proc/PID/stat.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name in parentheses may hold anything; the state follows its last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A live process's peak RSS in KiB (VmHWM: the high-water mark of its memory since
/// exec, not counting what it shared with its parent before).
fn vm_hwm_kib(pid: u32) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
