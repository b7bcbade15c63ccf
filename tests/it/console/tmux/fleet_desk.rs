//! Issue 59 points 3 and 4: one console over several stores (`baton tui --store A
//! --store B …`), a store on this machine and stores on the real sshd hosts alike; a
//! store down or refusing hides none of the others. And a decision whose link dies at
//! a failpoint (the request read, or done and not answered): the console's word agrees
//! with the host's record.
use super::*;
use crate::chaos::plan::Sig;
use crate::chaos::procs;
use crate::fleet::{Fleet, GATED};

/// `baton tui ARGS…` in tmux as the tests' account, with the local env's config.
fn desk(f: &Fleet, args: &str) -> Tmux {
    let command = format!(
        "cd {} && XDG_CONFIG_HOME={} TMPDIR={} {} tui {args} ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&f.local.path().to_string_lossy()),
        shell_quote(&f.local.config_home().to_string_lossy()),
        shell_quote(&crate::exec::ssh::own_tmp(&f.local).to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    Tmux::new(&f.local, 170, 45, &command)
}

/// The list's line (in a panel) that shows `run` by the longest start of its id shown
/// (runs made in the same moment share their first characters), or `""`.
fn row<'a>(screen: &'a str, run: &str) -> &'a str {
    (8..=run.len())
        .rev()
        .find_map(|n| {
            screen
                .lines()
                .find(|l| l.starts_with('│') && l.contains(&run[..n]))
        })
        .unwrap_or("")
}

/// How many approval votes the host's record has on `run`.
fn votes(env: &Env, run: &str) -> usize {
    let out = env.run(&["audit", run, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit --json");
    rows.as_array()
        .map(|r| r.iter().filter(|r| r["action"] == "approval_vote").count())
        .unwrap_or(0)
}

#[test]
fn one_console_over_every_store_names_each_rows_store_and_a_down_one_hides_none() {
    let Some(f) = Fleet::new() else { return };
    let wf = f.h2.workflow("w.toml", GATED);
    let (engine, gated) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    let here = f.local.finished_run();
    let on_h3 = f.h3.finished_run();
    let tmux = desk(
        &f,
        "--store here --store h2 --store h3 --store down --store old",
    );
    // What waits, from the store it waits on, while two stores do not answer.
    tmux.wait_for("the console", |s| s.contains("Waiting ("), 30);
    tmux.keys(&["6"]);
    let s = tmux.wait_for(
        "h2's gate in the Waiting tab",
        |s| s.contains("Waiting · 1 across 5 stores") && row(s, &gated).contains(" h2 "),
        30,
    );
    assert!(row(&s, &gated).contains("deploy"), "{s}");
    // Every store's runs in the Runs tab, each naming its store.
    tmux.keys(&["5"]);
    tmux.wait_for(
        "the runs of here, h2 and h3",
        |s| {
            s.contains("Runs · 3 in 5 stores")
                && row(s, &here).contains(" here ")
                && row(s, &on_h3).contains(" h3 ")
                && row(s, &gated).contains(" h2 ")
        },
        30,
    );
    // `store:` in the filter.
    tmux.keys(&["/"]);
    tmux.literal("store:h3");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("h3's runs alone", |s| s.contains("/store:h3 (1 match)"), 10);
    let listed = |store: &str| {
        s.lines()
            .filter(|l| l.starts_with('│') && l.contains(&format!(" {store} ")))
            .count()
    };
    assert!(row(&s, &on_h3).contains(" h3 "), "{s}");
    assert_eq!(
        (listed("h3"), listed("here"), listed("h2")),
        (1, 0, 0),
        "{s}"
    );
    tmux.keys(&["Escape"]);
    // The Stores list: where each is and its state, with why.
    tmux.keys(&[":"]);
    tmux.literal("stores");
    tmux.keys(&["Enter"]);
    // Each store's state as it settles (a down host's first try takes its time).
    let line = |s: &str, name: &str| {
        s.lines()
            .find(|l| l.contains(&format!("│{name} ")))
            .unwrap_or("")
            .to_string()
    };
    tmux.wait_for(
        "each store's state",
        |s| {
            s.contains("Stores")
                && line(s, "h2").contains("baton-h2")
                && line(s, "h2").contains("connected")
                && line(s, "here").contains("connected")
                && line(s, "down").contains("ssh: connect to host")
                && s.contains("the other baton 0.0.1")
        },
        30,
    );
    tmux.keys(&["Escape"]);
    // A decision from the desk goes to its run's store, decided there.
    tmux.keys(&["6"]);
    tmux.wait_for(
        "the gate",
        |s| s.contains("Waiting ·") && row(s, &gated).contains(" h2 "),
        10,
    );
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve deploy"), 10);
    tmux.literal("from the desk");
    tmux.keys(&["Enter"]);
    f.h2.wait_step(&gated, "deploy", "succeeded", 20);
    let _ = wait_child(engine, 20);
    let votes = f.h2.audit_rows(&gated, "approval_vote");
    assert_eq!(votes.len(), 1, "{votes:#?}");
    assert_eq!(votes[0]["reason"], "from the desk", "{votes:#?}");
    tmux.keys(&["q"]);
    let s = tmux.wait_for("the console to end", |s| s.contains("TUI-EXIT="), 15);
    assert!(s.contains("TUI-EXIT=0"), "{s}");
}

/// Approve `h2`'s gate from a console over store `h2once`, whose link dies at `point`
/// (`BATON_FAILPOINT`) with the approval: the console's word once the link is back,
/// and the approval votes on the host's record.
fn approve_as_the_link_dies_at(point: &str) -> (String, usize) {
    let Some(f) = Fleet::new() else {
        return (String::new(), usize::MAX);
    };
    let wf = f.h2.workflow("w.toml", GATED);
    let (mut engine, run) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    f.fail_next_link(point);
    let tmux = desk(&f, "--store h2once");
    tmux.wait_for(
        "the remote store's gate",
        |s| s.contains("Waiting (1)") && s.contains("store h2once (baton-h2)"),
        30,
    );
    tmux.keys(&["6"]);
    tmux.wait_for("the gate in the Waiting tab", |s| s.contains(&run[..8]), 10);
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve deploy"), 10);
    tmux.literal("as the link dies");
    tmux.keys(&["Enter"]);
    let said = tmux.wait_for(
        "the console's word on the decision",
        |s| s.contains("not delivered:") || s.contains("on the record on baton-h2"),
        40,
    );
    let votes = votes(&f.h2, &run);
    let _ = engine.kill();
    let _ = engine.wait();
    (said, votes)
}

#[test]
fn a_decision_whose_link_dies_before_it_is_done_is_said_not_delivered_and_is_not_on_record() {
    let (said, votes) = approve_as_the_link_dies_at("link-received:command");
    if votes == usize::MAX {
        return;
    }
    assert!(
        said.contains("not delivered: the link to baton-h2 dropped before it reached the record"),
        "{said}"
    );
    assert!(!said.contains("on the record on"), "{said}");
    assert_eq!(votes, 0, "said not delivered: the record has none");
}

#[test]
fn a_decision_whose_link_dies_after_it_is_done_is_said_on_record_and_is_there_once() {
    let (said, votes) = approve_as_the_link_dies_at("link-answered:command");
    if votes == usize::MAX {
        return;
    }
    assert!(
        said.contains("on the record on baton-h2") && said.contains("as the link dies"),
        "{said}"
    );
    assert!(!said.contains("not delivered"), "{said}");
    assert_eq!(votes, 1, "said on the record: it is, once");
}

/// An answer to a store ask (`baton ask` on the host) from the Waiting tab, whose
/// link dies once the answer is recorded (`link-answered`): the console, back on a new
/// link, asks by the answer's request id and says it is on the record, as it is; the
/// asker is answered. (An ask's answer went without an id, said "may not have been
/// done".)
#[test]
fn an_asks_answer_whose_link_dies_after_it_is_done_is_said_on_record() {
    let Some(f) = Fleet::new() else {
        return;
    };
    let asker =
        f.h2.cmd()
            .args([
                "ask",
                "--prompt",
                "Rotate the keys?",
                "--allow-self-approval",
            ])
            .args(["--json", "--timeout", "2m"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("baton ask on h2's store");
    f.fail_next_link("link-answered:command");
    let tmux = desk(&f, "--store h2once");
    tmux.wait_for(
        "the remote store's ask",
        |s| s.contains("Waiting (1)") && s.contains("store h2once (baton-h2)"),
        30,
    );
    tmux.keys(&["6"]);
    tmux.wait_for(
        "the ask in the Waiting tab",
        |s| s.contains("Rotate the keys?"),
        10,
    );
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.contains("Approve “Rotate the keys?”"),
        10,
    );
    tmux.literal("as the link dies");
    tmux.keys(&["Enter"]);
    let said = tmux.wait_for(
        "the console's word on the answer",
        |s| {
            s.contains("not delivered")
                || s.contains("on the record on baton-h2")
                || s.contains("may not have been done")
        },
        40,
    );
    assert!(
        said.contains("on the record on baton-h2") && said.contains("as the link dies"),
        "{said}"
    );
    assert!(
        !said.contains("not delivered") && !said.contains("may not have been done"),
        "{said}"
    );
    let out = wait_child(asker, 30);
    assert_eq!(
        out.status.code(),
        Some(0),
        "approved: {}",
        text(&out.stderr)
    );
}

/// A link whose connection is cut while it holds a decision (failpoint `link-held`)
/// and whose process goes on: the console, back on a new link, is told not delivered
/// (the host settles the request), and the old link, let go after, is refused. The
/// host's audit chain has no vote, as the console said; a new approval goes through.
#[test]
fn a_link_cut_while_it_holds_a_decision_comes_late_and_is_refused_as_the_console_said() {
    let Some(f) = Fleet::new() else { return };
    let wf = f.h2.workflow("w.toml", GATED);
    let (mut engine, run) = f.h2.spawn_until(&wf, "deploy", "waiting_approval");
    f.fail_next_link("link-held:command");
    let tmux = desk(&f, "--store h2once");
    tmux.wait_for(
        "the remote store's gate",
        |s| s.contains("Waiting (1)") && s.contains("store h2once (baton-h2)"),
        30,
    );
    tmux.keys(&["6"]);
    tmux.wait_for("the gate in the Waiting tab", |s| s.contains(&run[..8]), 10);
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve deploy"), 10);
    tmux.literal("held by the old link");
    tmux.keys(&["Enter"]);
    let mut waiting = f.held_link().into_os_string();
    waiting.push(".waiting");
    wait_until(
        "the link holding the decision",
        Duration::from_secs(30),
        || std::path::Path::new(&waiting).exists().then_some(()),
    );
    let links = procs::links(&f.h2.db());
    assert_eq!(links.len(), 1, "one link: {links:?}");
    let old = links[0].clone();
    let sshd = procs::sshd_above(old.pid).expect("the link's sshd session");
    assert!(procs::signal(&sshd, Sig::Kill), "the connection cut");
    let said = tmux.wait_for(
        "the console's word on the decision",
        |s| s.contains("not delivered:") || s.contains("on the record on baton-h2"),
        40,
    );
    assert!(
        said.contains("not delivered: the link to baton-h2 dropped before it reached the record"),
        "{said}"
    );
    assert!(
        procs::same(&old),
        "the old link still runs, holding the decision"
    );
    std::fs::write(f.held_link(), b"").expect("let the old link go");
    wait_until("the old link's end", Duration::from_secs(30), || {
        (!procs::same(&old)).then_some(())
    });
    assert_eq!(
        votes(&f.h2, &run),
        0,
        "said not delivered: the record has none"
    );
    // Decided again over the new link: on the record, once.
    tmux.keys(&["a"]);
    tmux.wait_for("the approve dialog", |s| s.contains("Approve deploy"), 10);
    tmux.literal("again");
    tmux.keys(&["Enter"]);
    wait_until("the vote", Duration::from_secs(30), || {
        (votes(&f.h2, &run) == 1).then_some(())
    });
    let _ = engine.kill();
    let _ = engine.wait();
}

/// Issue 59 point 3: in a console over several stores, a gate that opens on a remote
/// store's run (not the one shown) rings the bell and raises the desktop notification
/// (OSC 9, OSC 777, read from the bytes the console writes through `pipe-pane`),
/// naming its store.
#[test]
fn a_gate_opening_on_a_remote_store_notifies_naming_its_store() {
    let Some(f) = Fleet::new() else { return };
    let (here, there) = (f.local.finished_run(), f.h2.finished_run());
    let piped = f.local.path().join("pane.bytes");
    let ready = f.local.path().join("piped");
    let command = format!(
        "cd {} && while [ ! -e {} ]; do sleep 0.05; done; XDG_CONFIG_HOME={} TMPDIR={} TERM=xterm-256color {} tui --store here --store h2 ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&f.local.path().to_string_lossy()),
        shell_quote(&ready.to_string_lossy()),
        shell_quote(&f.local.config_home().to_string_lossy()),
        shell_quote(&crate::exec::ssh::own_tmp(&f.local).to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&f.local, 170, 45, &command);
    let st = std::process::Command::new("tmux")
        .args(["-L", &tmux.socket, "pipe-pane", "-O", "-t", "main"])
        .arg(format!("cat >> {}", shell_quote(&piped.to_string_lossy())))
        .status()
        .expect("pipe-pane");
    assert!(st.success());
    std::fs::write(&ready, "").expect("start the console");
    tmux.keys(&["5"]);
    tmux.wait_for(
        "the console over both stores",
        |s| {
            s.contains("Runs · 2 in 2 stores")
                && row(s, &here).contains(" here ")
                && row(s, &there).contains(" h2 ")
        },
        30,
    );
    let bytes = || String::from_utf8_lossy(&std::fs::read(&piped).unwrap_or_default()).into_owned();
    assert!(!bytes().contains("on store h2"), "nothing opened yet");
    // A gate opens on h2, on a run this console does not show.
    let wf = f.h2.workflow("w.toml", GATED);
    let mut engine = f.h2.spawn(&["run", &wf.to_string_lossy(), "--headless"]);
    let run = wait_until("h2's gate", Duration::from_secs(30), || {
        let rows: serde_json::Value =
            serde_json::from_slice(&f.h2.run(&["inbox", "--json"]).stdout).ok()?;
        rows.as_array()?
            .iter()
            .find(|r| r["step"] == "deploy")
            .and_then(|r| r["run_id"].as_str().map(str::to_string))
    });
    wait_until(
        "the remote gate's notification",
        Duration::from_secs(20),
        || {
            let b = bytes();
            (b.contains("\x07\x1b]9;baton: fleet on store h2: gate deploy: ship it?")
                && b.contains("\x1b]777;notify;baton: fleet on store h2: gate deploy;ship it?"))
            .then_some(())
        },
    );
    tmux.keys(&["6"]);
    tmux.wait_for(
        "the gate, its store named",
        |s| row(s, &run).contains(" h2 "),
        10,
    );
    let _ = engine.kill();
    let _ = engine.wait();
}

/// The approval votes on askann's record of `run`.
fn ann_votes(team: &crate::approvals::ask_accounts::Team, run: &str) -> Vec<serde_json::Value> {
    let out = team.baton(
        crate::approvals::ask_accounts::ANN,
        &["audit", run, "--json"],
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.as_array()
        .map(|r| {
            r.iter()
                .filter(|r| r["action"] == "approval_vote")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Store `ann` in the local config: askann's store on h2, reached by ssh as askann.
fn ann_store(f: &Fleet, team: &crate::approvals::ask_accounts::Team) {
    use crate::approvals::ask_accounts::ANN;
    // ssh logs in to h2 as askann (a block before the hosts' `Host *`, whose `User`
    // would win otherwise).
    let hosts = std::fs::read_to_string(&f.ssh_config).expect("the test's ssh config");
    let key = hosts
        .lines()
        .find_map(|l| l.trim().strip_prefix("IdentityFile "))
        .expect("the hosts' key")
        .to_string();
    std::fs::write(
        &f.ssh_config,
        format!(
            "Host baton-h2-ann\n  HostName 127.0.0.2\n  User {ANN}\n  IdentityFile {key}\n\n{hosts}"
        ),
    )
    .expect("write the test's ssh config");
    // askann's home is the test's (tests/accounts.sh makes none): its baton there runs
    // with it, as a login with a home would.
    let home = team.home(ANN);
    let program = f.local.path().join("askann-baton");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nHOME={} XDG_STATE_HOME={} exec {} \"$@\"\n",
            home.display(),
            home.join("state").display(),
            env!("CARGO_BIN_EXE_baton")
        ),
    )
    .expect("write askann's baton");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
            .expect("chmod askann's baton");
    }
    f.local.config(&format!(
        "{}\n[[store]]\nname = \"ann\"\nssh = \"baton-h2-ann\"\ndb = \"{}\"\nbaton = \"{}\"\nssh_config = \"{}\"\n",
        f.config_text(),
        team.db().display(),
        program.display(),
        f.ssh_config.display()
    ));
}

/// Issue 59 point 6: a store of another account of the sshd host (tests/accounts.sh's
/// `askann`, not root), its engine run as that account there, reached by ssh as that
/// account: kill -9 of its link and of its engine lose nothing; a console over it and
/// a local store approves its gate, the step runs once, and the host's audit chain
/// names that account.
#[test]
fn a_console_approves_a_gate_of_another_account_on_its_host_and_the_record_names_it() {
    use crate::approvals::ask_accounts::{ANN, Team};
    let Some(f) = Fleet::new() else { return };
    let Some(team) = Team::new() else { return };
    ann_store(&f, &team);
    let wf = team.home(ANN).join("w.toml");
    std::fs::write(&wf, GATED).expect("write the workflow");
    let mut engine = team.spawn(ANN, &["run", &wf.to_string_lossy(), "--headless"]);
    let run = wait_until("askann's gate", Duration::from_secs(30), || {
        let out = team.baton(ANN, &["inbox", "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        rows.as_array()?
            .iter()
            .find(|r| r["step"] == "deploy")
            .and_then(|r| r["run_id"].as_str().map(str::to_string))
    });
    let here = f.local.finished_run();
    let tmux = desk(&f, "--store ann --store here");
    tmux.wait_for("the console", |s| s.contains("Waiting ("), 30);
    tmux.keys(&["6"]);
    tmux.wait_for(
        "askann's gate, named by its store",
        |s| s.contains("across 2 stores") && row(s, &run).contains(" ann "),
        30,
    );
    // kill -9 of the link's process on the host (askann's) and of askann's engine: the
    // link comes back by itself, and the run is interrupted at its gate.
    let links = procs::links(&team.db());
    assert_eq!(links.len(), 1, "one link serves the console: {links:?}");
    assert!(procs::signal(&links[0], Sig::Kill));
    let _ = engine.kill();
    let _ = engine.wait();
    wait_until("a new link", Duration::from_secs(20), || {
        let now = procs::links(&team.db());
        (now.len() == 1 && now[0].pid != links[0].pid).then_some(())
    });
    tmux.wait_for(
        "the gate listed, the link up",
        |s| row(s, &run).contains(" ann ") && !s.contains("+1 down"),
        30,
    );
    // Approving takes the run over on the host, as askann (the link's baton drives
    // it there), and the step runs: nothing was lost.
    tmux.keys(&["a"]);
    // The dialog names the account the host will record, not this console's.
    tmux.wait_for(
        "the approve dialog, as askann",
        |s| s.contains("Approve deploy") && s.contains("you approve as askann"),
        10,
    );
    tmux.literal("as askann there");
    tmux.keys(&["Enter"]);
    let said = tmux.wait_for(
        "the approval's answer",
        |s| {
            s.lines()
                .any(|l| l.starts_with(" ✔ ") || l.starts_with(" ✘ "))
        },
        30,
    );
    assert!(!said.lines().any(|l| l.starts_with(" ✘ ")), "{said}");
    let votes = wait_until(
        "the vote on askann's record",
        Duration::from_secs(30),
        || {
            let votes = ann_votes(&team, &run);
            (!votes.is_empty()).then_some(votes)
        },
    );
    // The decision is askann's, made there, as if they had logged in: not root's (this
    // console's account), with the typed reason; the chain holds.
    assert_eq!(votes.len(), 1, "{votes:#?}");
    assert_eq!(votes[0]["actor"], ANN, "{votes:#?}");
    assert_eq!(votes[0]["reason"], "as askann there", "{votes:#?}");
    let verify = team.baton(ANN, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    wait_until(
        "the step run once, after the crash",
        Duration::from_secs(30),
        || {
            let out = team.baton(ANN, &["show", &run, "--json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (step(&v, "deploy")["state"] == "succeeded").then_some(())
        },
    );
    // The local store was listed beside it all along.
    tmux.keys(&["5"]);
    tmux.wait_for("the local run", |s| row(s, &here).contains(" here "), 10);
    // The run the link's baton took over: leaving asks (detach) as a console that
    // drives one does, or it has ended already.
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
fn a_desk_naming_a_store_not_configured_is_a_usage_error_with_the_nearest() {
    let Some(f) = Fleet::new() else { return };
    let tmux = desk(&f, "--store here --store h22");
    let s = tmux.wait_for("the refusal", |s| s.contains("TUI-EXIT="), 20);
    assert!(s.contains("TUI-EXIT=2"), "{s}");
    assert!(
        s.contains("--store h22: no [[store]] is named `h22`; did you mean `h2`?"),
        "{s}"
    );
}
