//! Issue 76 point 4 over the link (docs/link-protocol.md, `note`): `n` on a run of a
//! store on an sshd host writes the note there, as `baton note` on that host records
//! it (under the account ssh logged in as), and the console's list marks the run.
use super::*;
use crate::fleet::Fleet;

#[test]
fn a_note_on_a_remote_stores_run_is_recorded_on_its_host() {
    let Some(f) = Fleet::new() else { return };
    let run = f.h2.finished_run();
    let command = format!(
        "cd {} && XDG_CONFIG_HOME={} TMPDIR={} {} tui --store h2 ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&f.local.path().to_string_lossy()),
        shell_quote(&f.local.config_home().to_string_lossy()),
        shell_quote(&crate::exec::ssh::own_tmp(&f.local).to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&f.local, 140, 40, &command);
    tmux.keys(&["5"]);
    tmux.wait_for(
        "h2's run in the Runs tab",
        |s| s.contains(&run[..8]) && s.contains("succeeded"),
        30,
    );
    tmux.keys(&["n"]);
    tmux.wait_for("the note dialog", |s| s.contains("Note on run "), 10);
    tmux.literal("looked at from the desk");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the confirm", |s| s.contains("Enter again to"), 10);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the note recorded", |s| s.contains("✔ noted on run "), 30);
    tmux.wait_for(
        "the row marked",
        |s| s.lines().any(|l| l.contains(&run[..8]) && l.contains('✎')),
        30,
    );
    // On the host's store, by the account ssh logged in as there.
    let notes = f.h2.show(&run)["notes"].clone();
    assert_eq!(notes[0]["text"], "looked at from the desk", "{notes}");
    // ssh logs in as root on the hosts (tests/ssh/hosts.sh).
    assert_eq!(notes[0]["by"], "root", "{notes}");
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}
