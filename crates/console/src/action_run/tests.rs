use super::*;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// A value with spaces, quotes, `;`, `$(...)` and backquotes reaches the program as one
/// argument, as written: no shell reads it, nothing in it runs.
#[tokio::test]
async fn a_hostile_value_reaches_the_program_as_one_argument_and_never_runs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let marker = dir.path().join("ran");
    let hostile = format!(
        "a b; touch {m} $(touch {m}) `touch {m}` 'q' \"dq\" | touch {m}",
        m = marker.display()
    );
    let (ended, _, tail) = execute(
        &argv(&["printf", "[%s]\\n", &hostile]),
        Duration::from_secs(10),
        None,
    )
    .await;
    assert_eq!(ended, Ended::Exited(0));
    let (lines, cut) = tail.lines();
    assert_eq!(lines, vec![format!("[{hostile}]")]);
    assert_eq!(cut, 0);
    assert!(!marker.exists(), "the value ran as code");
}

/// `shell = true`: the script is `sh -c`'s, the values its positional parameters.
#[tokio::test]
async fn a_shell_action_gets_its_values_as_positional_parameters() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let marker = dir.path().join("ran");
    let config = String::from(
        "[[action]]\nkey = \"D\"\nscope = \"run\"\ndescription = \"d\"\nshell = true\ncommand = [\"printf '%s|%s\\\\n' \\\"$1\\\" \\\"$2\\\"; echo \\\"$0\\\" >&2\", \"{run}\", \"{workflow}\"]\n",
    );
    let c = baton_link::config::parse(std::path::Path::new("config.toml"), &config)
        .unwrap_or_else(|d| panic!("{d}"));
    let run = format!("$(touch {})", marker.display());
    let values = baton_link::config::Values {
        run: Some(run.clone()),
        workflow: Some("wf; touch x".into()),
        ..Default::default()
    };
    let argv = c.actions[0].argv(&values).expect("every value given");
    let (ended, _, tail) = execute(&argv, Duration::from_secs(10), None).await;
    assert_eq!(ended, Ended::Exited(0));
    let (lines, _) = tail.lines();
    assert!(lines.contains(&format!("{run}|wf; touch x")), "{lines:?}");
    assert!(lines.contains(&"baton-action".to_string()), "{lines:?}");
    assert!(!marker.exists(), "the value ran as code");
}

#[tokio::test]
async fn its_exit_status_and_both_streams_are_kept() {
    let (ended, _, tail) = execute(
        &argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
        Duration::from_secs(10),
        None,
    )
    .await;
    assert_eq!(ended, Ended::Exited(3));
    let (mut lines, _) = tail.lines();
    lines.sort();
    assert_eq!(lines, vec!["err".to_string(), "out".to_string()]);
    assert_eq!(ended.words(), "exited 3");
}

#[tokio::test]
async fn a_program_that_is_not_there_did_not_start_and_says_which() {
    let (ended, _, _) = execute(
        &argv(&["/nonexistent/baton-action-test"]),
        Duration::from_secs(10),
        None,
    )
    .await;
    match ended {
        Ended::NotStarted(why) => assert!(why.contains("/nonexistent/baton-action-test"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// At its timeout the whole process group stops, the shell's children too.
#[tokio::test]
async fn at_its_timeout_its_process_group_is_stopped() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pidfile = dir.path().join("pid");
    let script = format!(
        "sleep 60 & echo $! > {}; echo started; wait",
        pidfile.display()
    );
    let (ended, took, tail) = execute(
        &argv(&["sh", "-c", &script]),
        Duration::from_millis(500),
        None,
    )
    .await;
    assert_eq!(ended, Ended::TimedOut(Duration::from_millis(500)));
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(tail.lines().0, vec!["started".to_string()]);
    let pid = std::fs::read_to_string(&pidfile).expect("the background pid");
    let proc = format!("/proc/{}", pid.trim());
    let deadline = Instant::now() + Duration::from_secs(10);
    // Killed, then reaped by init: its /proc entry goes.
    while std::path::Path::new(&proc).exists()
        && !std::fs::read_to_string(format!("{proc}/stat")).is_ok_and(|s| s.contains(") Z"))
    {
        assert!(
            Instant::now() < deadline,
            "the background sleep outlived its action"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn the_tail_keeps_the_last_lines_sanitised_and_says_what_it_dropped() {
    let mut t = Tail::default();
    t.push(b"\x1b]0;title\x07red \x1b[31mtext\x1b[0m\r\n");
    t.push(b"second\n");
    let (lines, cut) = t.lines();
    assert_eq!(lines, vec!["red text".to_string(), "second".into()]);
    assert_eq!(cut, 0);
    // At most KEEP_LINES lines…
    let mut t = Tail::default();
    for _ in 0..2 * KEEP_LINES {
        t.push(b"x\n");
    }
    let (lines, cut) = t.lines();
    assert_eq!((lines.len(), cut), (KEEP_LINES, 2 * KEEP_LINES as u64));
    // …and KEEP_BYTES bytes, the line the bound cut dropped whole.
    let mut t = Tail::default();
    let line = "x".repeat(99) + "\n";
    for _ in 0..1000 {
        t.push(line.as_bytes());
    }
    let (lines, cut) = t.lines();
    assert_eq!(lines.len(), KEEP_BYTES / 100);
    assert_eq!(cut as usize + lines.len() * 100, 1000 * 100);
    assert!(lines.iter().all(|l| l.len() == 99));
    let mut t = Tail::default();
    t.push("é".repeat(LINE_CAP + 5).as_bytes());
    let (lines, _) = t.lines();
    assert_eq!(lines[0].chars().count(), LINE_CAP + 1);
    assert!(lines[0].ends_with('…'));
}

/// While it runs, what it printed so far reaches the console, before its end.
#[tokio::test]
async fn its_output_so_far_is_passed_on_while_it_runs() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let p = Prepared {
        id: 7,
        action: 0,
        title: "slow".into(),
        argv: argv(&["sh", "-c", "echo first; sleep 30"]),
        run_id: String::new(),
        on: String::new(),
        timeout: Duration::from_secs(20),
        dangerous: false,
    };
    let end = run(p, tx);
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("output before the end");
    assert_eq!(
        first,
        Some(Action::UserOutput {
            id: 7,
            lines: vec!["first".into()],
            cut: 0
        })
    );
    // Dropping its future does not stop it; the console's end does (its runtime).
    drop(end);
}

/// What the command leaves behind when it ends (a browser it opened) goes on, and can
/// still write to the output it holds: nothing closes that pipe under it.
#[tokio::test]
async fn what_it_leaves_behind_goes_on_and_may_still_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let marker = dir.path().join("wrote");
    let script = format!(
        "(sleep 3; echo late; echo later >&2; touch {}) & echo now",
        marker.display()
    );
    let (ended, took, tail) =
        execute(&argv(&["sh", "-c", &script]), Duration::from_secs(20), None).await;
    assert_eq!(ended, Ended::Exited(0));
    assert!(
        took < Duration::from_secs(3),
        "it ended with its shell: {took:?}"
    );
    assert_eq!(tail.lines().0, vec!["now".to_string()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the background process died writing its output"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
