//! Issue 79 point 2 (an attempt's files looked up only when the step used them): the
//! engine lists an attempt's directory once when it ends and looks up its
//! `$BATON_SUMMARY` only when the listing shows one, so a step that writes none costs no
//! failed open and no failed unlink; one that writes one still has it kept. A step whose
//! working directory is missing still fails saying so in its log (the check is made on
//! the launching thread, not the engine's). Seen with `strace` on the real binary.
use crate::helpers::*;
use std::process::{Command, Stdio};

const WF: &str = r##"name = "lookups"
max_parallel = 1
[[step]]
id = "quiet"
run = "true"
[[step]]
id = "quiet2"
needs = ["quiet"]
run = "true"
[[step]]
id = "wrote"
needs = ["quiet2"]
run = 'echo "# made it" >> "$BATON_SUMMARY"'
[[step]]
id = "nowhere"
needs = ["wrote"]
dir = "gone"
run = "true"
"##;

#[test]
fn only_a_summary_the_step_wrote_is_looked_up_and_a_missing_dir_still_fails_its_step() {
    let env = Env::new();
    let wf = env.workflow("lookups.toml", WF);
    let trace = env.path().join("trace.txt");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=unlink,openat", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_baton"))
        .args(["run", wf.to_str().unwrap(), "--headless"]);
    let base = env.cmd();
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd
        .current_dir(env.path())
        .stdin(Stdio::null())
        .output()
        .expect("strace is installed");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    let show = env.show(&run);
    for quiet in ["quiet", "quiet2", "wrote"] {
        assert_eq!(
            step_state(&show, quiet).as_deref(),
            Some("succeeded"),
            "{show:#}"
        );
    }
    let kept = step_field(&show, "wrote", "summary");
    assert!(
        kept.as_str().is_some_and(|s| s.contains("# made it")),
        "{show:#}"
    );
    assert_eq!(
        step_state(&show, "nowhere").as_deref(),
        Some("failed"),
        "{show:#}"
    );
    let log = step_field(&show, "nowhere", "log_path");
    let log = std::fs::read_to_string(log.as_str().unwrap_or_default()).unwrap_or_default();
    assert!(
        log.contains("working directory") && log.contains("does not exist or is not a directory"),
        "{log:?}"
    );

    // The engine's reads of `$BATON_SUMMARY` (O_NOFOLLOW; a step's shell appends) and
    // its removals: for the one step that wrote one, none for the others.
    let trace = std::fs::read_to_string(&trace).expect("strace wrote its trace");
    let summary_calls = |call: &str| {
        trace
            .lines()
            .filter(|l| l.contains(call) && l.contains("/summary\""))
            .filter(|l| call != "openat(" || l.contains("O_NOFOLLOW"))
            .count()
    };
    assert_eq!(summary_calls("unlink("), 1, "{trace}");
    assert_eq!(summary_calls("openat("), 1, "{trace}");
}
