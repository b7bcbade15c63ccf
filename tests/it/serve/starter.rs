//! Which of baton's threads starts a local step's process: `baton run`'s engine thread
//! itself (its runtime has one thread, the engine the only task on it), and `baton
//! serve`'s launching thread (its engines are tasks on worker threads). The step asks
//! the kernel: `/proc/PID/task/TID/children` lists what that thread started.
use super::*;

/// A step that writes, into `threads` in `dir`, `starter TID NAME` for the thread of
/// its parent (baton) that started it, `thread NAME` for each of baton's threads, then
/// `baton PID`.
fn tell(dir: &Path) -> String {
    let to = dir.join("threads");
    let to = to.display();
    format!(
        r#"for t in /proc/$PPID/task/*; do if grep -qw $$ $t/children; then echo "starter ${{t##*/}} $(cat $t/comm)"; fi; echo "thread $(cat $t/comm)"; done >> {to}; echo "baton $PPID" >> {to}"#
    )
}

/// The lines of `threads` in `dir` once the step has written them all.
fn told(dir: &Path) -> Vec<String> {
    wait_until("the step to name its starter", secs(30), || {
        let t = std::fs::read_to_string(dir.join("threads")).unwrap_or_default();
        let lines: Vec<String> = t.lines().map(str::to_string).collect();
        if lines.iter().any(|l| l.starts_with("baton ")) {
            Ok(lines)
        } else {
            Err(t)
        }
    })
}

fn starter(lines: &[String]) -> (String, String) {
    let starters: Vec<_> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("starter "))
        .collect();
    assert_eq!(starters.len(), 1, "one thread started it: {lines:?}");
    let (tid, name) = starters[0].split_once(' ').unwrap();
    (tid.to_string(), name.to_string())
}

#[test]
fn baton_run_starts_a_step_on_its_engine_thread_and_has_no_launching_thread() {
    let env = Env::new();
    let tell = tell(env.path());
    let wf = env.workflow(
        "w.toml",
        &format!("name = \"w\"\n\n[[step]]\nid = \"tell\"\nrun = '{tell}'\n"),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = told(env.path());
    let pid = lines.iter().find_map(|l| l.strip_prefix("baton ")).unwrap();
    // The main thread's id is the process's: the engine's runtime runs there.
    assert_eq!(starter(&lines).0, pid, "{lines:?}");
    assert!(
        !lines.iter().any(|l| l == "thread baton-launch"),
        "a launching thread nothing hands a start to: {lines:?}"
    );
}

#[test]
fn baton_serve_starts_a_step_on_its_launching_thread() {
    let mut s = Served::new();
    let tell = tell(s.env.path());
    s.write(
        "w.toml",
        &format!(
            "name = \"w\"\n\n[[schedule]]\ncron = \"* * * * * *\"\noverlap = \"skip\"\n\n[[step]]\nid = \"tell\"\nrun = '{tell}; sleep 30'\n"
        ),
    );
    let (child, _) = s.start(&[]);
    let lines = told(s.env.path());
    term(child);
    assert_eq!(starter(&lines).1, "baton-launch", "{lines:?}");
}

/// A wake-up that frees more steps than `baton run` starts on its engine's thread
/// (`STARTS_HERE`, 8) hands the rest to the launching thread: a burst does not hold
/// the runtime its console and metrics share.
#[test]
fn baton_run_starts_the_first_eight_of_a_burst_on_its_engine_thread_and_the_rest_on_baton_launch() {
    let env = Env::new();
    let mut wf = String::from("name = \"w\"\nmax_parallel = 12\n");
    let dirs: Vec<_> = (0..12).map(|i| env.path().join(format!("s{i}"))).collect();
    for (i, dir) in dirs.iter().enumerate() {
        std::fs::create_dir_all(dir).unwrap();
        wf.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nrun = '{}'\n",
            tell(dir)
        ));
    }
    let wf = env.workflow("w.toml", &wf);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut by_engine = 0;
    let mut by_launcher = 0;
    for dir in &dirs {
        let lines = told(dir);
        let pid = lines.iter().find_map(|l| l.strip_prefix("baton ")).unwrap();
        let (tid, name) = starter(&lines);
        if tid == pid {
            by_engine += 1;
        } else {
            assert_eq!(name, "baton-launch", "{lines:?}");
            by_launcher += 1;
        }
    }
    assert_eq!((by_engine, by_launcher), (8, 4));
}
