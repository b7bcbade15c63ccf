//! Issue 59: the console over a store on another host (`baton tui --store NAME`, through
//! `ssh HOST baton link`), over the real sshd hosts. The console runs here as `nobody`;
//! the remote baton as `root`, the account ssh logs in as there.
use super::*;
use crate::chaos::procs;
use crate::fleet::{Fleet, GATED};

/// A console over `h2`, opened on its Waiting tab with the gate of run `run` listed.
fn console_at_gate(f: &Fleet, run: &str) -> Tmux {
    let tmux = Tmux::new(&f.local, 140, 40, &f.console_as_nobody("--store h2"));
    // The header names the store and its host while the link is up.
    tmux.wait_for(
        "the remote store's runs",
        |s| s.contains("Waiting (1)") && s.contains("store h2 (baton-h2)"),
        30,
    );
    tmux.keys(&["6"]);
    tmux.wait_for("the gate in the Waiting tab", |s| s.contains(&run[..8]), 10);
    tmux
}

/// Approve the selected gate with `reason`.
fn approve(tmux: &Tmux, reason: &str) {
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve deploy"), 10);
    tmux.literal(reason);
    tmux.keys(&["Enter"]);
}

#[test]
fn a_console_approves_a_gate_on_a_remote_store_as_the_remote_account() {
    let Some(f) = Fleet::new() else { return };
    let wf = f.h2.workflow("w.toml", GATED);
    let (engine, run) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    let tmux = console_at_gate(&f, &run);
    approve(&tmux, "from the desk");
    f.h2.wait_step(&run, "deploy", "succeeded", 20);
    let _ = wait_child(engine, 20);
    // On the remote record as root (the console here is nobody), with the typed reason.
    let votes = f.h2.audit_rows(&run, "approval_vote");
    assert_eq!(votes[0]["actor"], "root", "{votes:#?}");
    assert_eq!(votes[0]["reason"], "from the desk", "{votes:#?}");
    tmux.wait_for(
        "the gate gone",
        |s| s.contains("Waiting ·") && !s.contains("Waiting (1)"),
        10,
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the console to end", |s| s.contains("TUI-EXIT="), 15);
    assert!(screen.contains("TUI-EXIT=0"), "{screen}");
    // Its link on the host ended with it.
    wait_until("the link to end", Duration::from_secs(10), || {
        procs::links(&f.h2.db()).is_empty().then_some(())
    });
}

#[test]
fn killing_the_link_and_the_remote_engine_loses_nothing() {
    let Some(f) = Fleet::new() else { return };
    let wf = f.h2.workflow("w.toml", GATED);
    let (mut engine, run) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    let tmux = console_at_gate(&f, &run);
    // kill -9 of the link's process on the host: the console's link comes back by itself.
    let links = procs::links(&f.h2.db());
    assert_eq!(links.len(), 1, "one link serves the console: {links:?}");
    assert!(procs::signal(&links[0], crate::chaos::plan::Sig::Kill));
    wait_until("a new link", Duration::from_secs(20), || {
        let now = procs::links(&f.h2.db());
        (now.len() == 1 && now[0].pid != links[0].pid).then_some(())
    });
    // kill -9 of the remote engine: the run is interrupted at its gate.
    let _ = engine.kill();
    let _ = engine.wait();
    // Approving from the console takes the run over on the host (the link's baton
    // drives it there), and the step runs: nothing was lost.
    tmux.wait_for(
        "the gate listed, the link up",
        |s| s.contains(&run[..8]) && s.contains("store h2 (baton-h2)"),
        20,
    );
    approve(&tmux, "after the crash");
    f.h2.wait_step(&run, "deploy", "succeeded", 30);
    let votes = f.h2.audit_rows(&run, "approval_vote");
    assert_eq!(votes.len(), 1, "one vote, once: {votes:#?}");
    assert_eq!(votes[0]["reason"], "after the crash");
    let verify = f.h2.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    // While the link's baton drives the run, leaving asks, as a console that drives
    // one does: detach.
    tmux.keys(&["q"]);
    let s = tmux.wait_for(
        "the console to end or ask",
        |s| s.contains("TUI-EXIT=") || s.contains("Quit while this console drives"),
        15,
    );
    if !s.contains("TUI-EXIT=") {
        tmux.keys(&["d"]);
    }
    let s = tmux.wait_for("the console to end", |s| s.contains("TUI-EXIT="), 15);
    assert!(s.contains("TUI-EXIT=0"), "{s}");
}

#[test]
fn a_down_host_and_another_baton_are_named_and_a_local_store_still_opens() {
    let Some(f) = Fleet::new() else { return };
    let down = Tmux::new(&f.local, 140, 20, &f.console_as_nobody("--store down"));
    let s = down.wait_for("the console to refuse", |s| s.contains("TUI-EXIT="), 30);
    assert!(s.contains("TUI-EXIT=3"), "{s}");
    assert!(
        s.contains("store `down` cannot be opened: baton-down: ssh: connect to host 127.0.0.4"),
        "{s}"
    );
    let old = Tmux::new(&f.local, 200, 20, &f.console_as_nobody("--store old"));
    let s = old.wait_for("the console to refuse", |s| s.contains("TUI-EXIT="), 30);
    assert!(s.contains("TUI-EXIT=3"), "{s}");
    assert!(
        s.contains("version mismatch: this side is baton") && s.contains("the other baton 0.0.1"),
        "{s}"
    );
    // The local store (the tests' account's) opens all the same.
    let run = f.local.finished_run();
    let command = format!(
        "cd {} && XDG_CONFIG_HOME={} {} tui --store here ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&f.local.path().to_string_lossy()),
        shell_quote(&f.local.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let here = Tmux::new(&f.local, 140, 20, &command);
    here.wait_for("the local store's runs", |s| s.contains(&run[..8]), 30);
}

#[test]
fn a_decision_sent_as_the_link_drops_is_said_not_delivered_and_never_doubled() {
    use crate::chaos::plan::Sig;
    let Some(f) = Fleet::new() else { return };
    let wf = f.h2.workflow("w.toml", GATED);
    let (engine, run) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    let tmux = console_at_gate(&f, &run);
    // The link on the host stops reading (SIGSTOP): the approval goes into its pipe,
    // then the link dies (SIGKILL) before reading it.
    let links = procs::links(&f.h2.db());
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(procs::signal(&links[0], Sig::Stop(Duration::ZERO)));
    approve(&tmux, "as it drops");
    std::thread::sleep(Duration::from_millis(300));
    assert!(procs::signal(&links[0], Sig::Kill));
    // The link comes back by itself, the host's record is read: the console says the
    // decision was not delivered, and the record has none.
    tmux.wait_for(
        "the drop said",
        |s| s.contains("not delivered: the link to baton-h2 dropped before it reached"),
        30,
    );
    let votes = |f: &Fleet| {
        let out = f.h2.run(&["audit", &run, "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit");
        rows.as_array()
            .map(|r| r.iter().filter(|r| r["action"] == "approval_vote").count())
            .unwrap_or(0)
    };
    assert_eq!(votes(&f), 0, "said not delivered, and not on the record");
    // The decision made again is recorded once.
    wait_until("a new link", Duration::from_secs(20), || {
        let now = procs::links(&f.h2.db());
        (now.len() == 1 && now[0].pid != links[0].pid).then_some(())
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for(
        "the gate listed, the link up",
        |s| s.contains(&run[..8]) && s.contains("store h2 (baton-h2)"),
        20,
    );
    approve(&tmux, "again");
    f.h2.wait_step(&run, "deploy", "succeeded", 20);
    let _ = wait_child(engine, 20);
    assert_eq!(votes(&f), 1);
}

#[test]
fn a_store_whose_frame_never_ends_is_shown_down_with_why_in_bounded_memory() {
    use crate::fleet::bounds::{ENDLESS_LINE, fake_store};
    let Some(f) = Fleet::new() else { return };
    // A hello this console agrees with, then one frame line that never ends.
    let hello = format!(
        "printf '%s\\n' '{{\"hello\":{{\"protocol\":{},\"baton\":\"{}\"}}}}'; {ENDLESS_LINE}",
        baton_link::wire::PROTOCOL,
        env!("CARGO_PKG_VERSION")
    );
    f.local.config(&format!(
        "{}{}",
        fake_store(&f, "endless", "baton-h3", &hello),
        fake_store(&f, "nohello", "baton-h3", ENDLESS_LINE)
    ));
    // Each console's address space capped at 1 GiB: reading the line whole would abort it.
    let capped = |store: &str| {
        let command = format!(
            "ulimit -v 1048576; {}",
            f.console_as_nobody(&format!("--store {store}"))
        );
        Tmux::new(&f.local, 240, 20, &command)
    };
    let tmux = capped("endless");
    let s = tmux.wait_for(
        "the store shown down with why",
        |s| s.contains("it sent a line longer than 64 MiB") || s.contains("TUI-EXIT="),
        60,
    );
    assert!(s.contains("store endless reconnecting in"), "{s}");
    assert!(!s.contains("TUI-EXIT="), "{s}");
    // An endless line in place of the hello: the console does not open, saying why.
    let tmux = capped("nohello");
    let s = tmux.wait_for("the console to refuse", |s| s.contains("TUI-EXIT="), 60);
    assert!(s.contains("TUI-EXIT=3"), "{s}");
    assert!(
        s.contains("store `nohello` cannot be opened: baton-h3: it sent a line longer than 64 MiB"),
        "{s}"
    );
}
