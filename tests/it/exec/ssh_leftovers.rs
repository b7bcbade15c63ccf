//! What a remote step leaves behind when its own shell exits, as for a local step:
//! what is left of its process group is stopped, and output still held open by a
//! process that left the group does not keep the step from ending (the host copies it
//! through a FIFO, `script::RUN`). Real sshd hosts (tests/ssh/hosts.sh).
use super::ssh::{executor, hosts};
use crate::helpers::*;
use std::process::Command;

/// Whether a process whose command line holds `needle` runs on the machine (the hosts
/// are this machine).
fn running(needle: &str) -> bool {
    let out = Command::new("ps")
        .args(["-eo", "args", "--no-headers"])
        .output()
        .expect("ps");
    text(&out.stdout).lines().any(|l| l.contains(needle))
}

#[test]
fn a_remote_steps_leftovers_are_stopped_and_an_escaped_writer_does_not_hold_it() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    // `left` leaves a child in its group holding its output; `escaped` leaves one in
    // a session of its own holding it too (it cannot be found by the group; the step
    // waits until it has left); both would print after their shell has exited.
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "ssh-leftovers"
{}
[[step]]
id = "left"
executor = "box"
run = 'echo before; (sleep 4711; echo late) & echo after'

[[step]]
id = "escaped"
executor = "box"
run = 'echo before; setsid sh -c "echo up > $UP; sleep 4712; echo late" & until [ -s "$UP" ]; do sleep 0.05; done; echo after'
env = {{ UP = "{up}" }}

[[step]]
id = "graceful"
executor = "box"
run = '(trap "sleep 0.5; echo cleaned > $CLEANED; exit 0" TERM; echo up > $ARMED; sleep 4714 & wait) & until [ -s "$ARMED" ]; do sleep 0.05; done; echo "sigign=$(awk "/^SigIgn/ {{ print \$2 }}" /proc/self/status)" >> "$BATON_OUTPUT"'
env = {{ CLEANED = "{cleaned}", ARMED = "{armed}" }}

[[step]]
id = "next"
needs = ["left", "escaped", "graceful"]
executor = "box"
run = 'echo next'
"#,
            executor("box", "baton-h2", &config, &env, ""),
            up = env.path().join("up").display(),
            cleaned = env.path().join("cleaned").display(),
            // The step ends only once its leftover has set its TERM handler: a TERM
            // before that (a loaded machine) would end it unhandled.
            armed = env.path().join("armed").display()
        ),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let show = env.show(&id);
    for step in ["left", "escaped", "graceful", "next"] {
        assert_eq!(
            step_state(&show, step).as_deref(),
            Some("succeeded"),
            "{step}"
        );
    }
    for step in ["left", "escaped"] {
        let log = text(&env.run(&["logs", &id, step]).stdout);
        assert!(
            log.contains("before") && log.contains("after"),
            "{step}: {log}"
        );
        assert!(!log.contains("late"), "{step}: {log}");
    }
    // A leftover of the group gets its grace between TERM and KILL, as locally.
    assert_eq!(
        std::fs::read_to_string(env.path().join("cleaned"))
            .ok()
            .as_deref(),
        Some("cleaned\n"),
        "the leftover's TERM handler ran to its end"
    );
    // The step's processes get SIGPIPE as a local step's do (not ignored).
    let ignored = step_field(&show, "graceful", "outputs")["sigign"]
        .as_str()
        .and_then(|m| u64::from_str_radix(m, 16).ok())
        .expect("the step's ignored signals");
    assert_eq!(ignored & (1 << (13 - 1)), 0, "SIGPIPE ignored: {ignored:x}");
    // The child left in the group is stopped with the step, as a local step's is; the
    // one that left the group runs on, as it would here.
    assert!(!running("sleep 4711"), "the group's leftover was stopped");
    assert!(
        running("sleep 4712"),
        "a process of its own session is not the step's"
    );
    let _ = Command::new("pkill").args(["-f", "sleep 4712"]).status();
}
