//! Issue 55 point 2: a timeout of an SSH step whose shared connection stalls (the
//! connection's sshd processes stopped, the host and its listener up) still reaches the
//! host, over a connection of its own, and the record says what happened there; a stop
//! that can reach no one leaves the record to the host's own exit (a step that ran to
//! its end is not recorded as timed out). Each test runs a private sshd of its own (the
//! keys of tests/ssh/hosts.sh, a listener of its own on a free port), so that stopping
//! its processes stalls no other test's host; it is stopped however the test ends.
use super::ssh::hosts;
use crate::helpers::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A private sshd on 127.0.0.1 and an ssh config naming it `baton-stall`.
struct PrivateHost {
    dir: PathBuf,
    config: PathBuf,
    /// Processes this test stopped (continued again when it ends, before the kill).
    stopped: Vec<i32>,
}

impl PrivateHost {
    fn start(hosts_config: &Path, env: &Env) -> PrivateHost {
        let keys = hosts_config.parent().expect("the hosts' directory");
        let dir = env.path().join("sshd");
        std::fs::create_dir_all(&dir).expect("sshd dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let key = ssh_keygen(&dir, "host_key", "ed25519");
        let sshd_config = dir.join("sshd_config");
        std::fs::write(
            &sshd_config,
            format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {key}\nPidFile {dir}/sshd.pid\nAuthorizedKeysFile {keys}/authorized_keys\nPubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nMaxStartups 200\nMaxSessions 200\nLogLevel ERROR\n",
                key = key.display(),
                dir = dir.display(),
                keys = keys.display(),
            ),
        )
        .expect("sshd config");
        std::fs::write(
            dir.join("known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", ssh_public(&key)),
        )
        .expect("known hosts");
        let config = dir.join("ssh_config");
        std::fs::write(
            &config,
            format!(
                "Host baton-stall\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {keys}/id_ed25519\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {dir}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 3\n  LogLevel ERROR\n",
                keys = keys.display(),
                dir = dir.display(),
            ),
        )
        .expect("ssh config");
        let host = PrivateHost {
            dir,
            config,
            stopped: Vec::new(),
        };
        ok(&Command::new("/usr/sbin/sshd")
            .arg("-f")
            .arg(&sshd_config)
            .arg("-E")
            .arg(host.dir.join("sshd.log"))
            .output()
            .expect("run sshd"));
        wait_until("the private sshd to listen", secs(20), || {
            host.listener().is_some()
        });
        host
    }

    /// The listener's pid, once it has written it.
    fn listener(&self) -> Option<i32> {
        let pid = std::fs::read_to_string(self.dir.join("sshd.pid")).ok()?;
        pid.trim().parse().ok().filter(|&p| process_alive(p))
    }

    /// The sshd processes serving this host's connections (the listener's `sshd`
    /// descendants, not the steps they run).
    fn sessions(&self) -> Vec<i32> {
        let Some(listener) = self.listener() else {
            return Vec::new();
        };
        let table = process_table();
        let mut found = Vec::new();
        let mut parents = vec![listener];
        while let Some(p) = parents.pop() {
            for (&pid, (ppid, comm)) in &table {
                if *ppid == p && comm.starts_with("sshd") {
                    found.push(pid);
                    parents.push(pid);
                }
            }
        }
        found
    }

    /// Stops every connection's sshd (and the listener too, with `listener`): the
    /// connections stall without failing, as a hung network or host would make them.
    fn stall(&mut self, listener: bool) -> usize {
        let mut pids = self.sessions();
        if listener {
            pids.extend(self.listener());
        }
        for &pid in &pids {
            signal(pid, "STOP");
        }
        self.stopped.extend(&pids);
        pids.len()
    }

    fn thaw(&mut self) {
        for pid in self.stopped.drain(..) {
            signal(pid, "CONT");
        }
    }
}

impl Drop for PrivateHost {
    fn drop(&mut self) {
        self.thaw();
        let mut all = self.sessions();
        all.extend(self.listener());
        for pid in all {
            signal(pid, "KILL");
        }
    }
}

fn signal(pid: i32, name: &str) {
    let _ = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status();
}

/// Every process: its parent and its name.
fn process_table() -> BTreeMap<i32, (i32, String)> {
    let mut table = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return table;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        table.insert(pid, (ppid, comm));
    }
    table
}

/// Whether a process runs with exactly this command line (a marker in its arguments).
fn running(args: &str) -> bool {
    process_table().keys().any(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == args)
    })
}

/// A run of one step on the private host, and the files it writes on "the host".
fn workflow(env: &Env, host: &PrivateHost, timeout: &str, sleep: &str) -> PathBuf {
    let started = env.path().join("started");
    let done = env.path().join("done");
    env.workflow(
        "w.toml",
        &format!(
            "name = \"ssh-stall\"\n[executors.box]\ntype = \"ssh\"\nhost = \"baton-stall\"\nssh_config = \"{}\"\nworkdir = \"{}\"\n\n[[step]]\nid = \"deploy\"\nexecutor = \"box\"\nidempotent = false\ntimeout = \"{timeout}\"\nrun = 'echo up > {}; sleep {sleep}; echo done > {}'\n",
            host.config.display(),
            env.path().join("remote").display(),
            started.display(),
            done.display(),
        ),
    )
}

fn error_kinds(show: &serde_json::Value) -> Vec<String> {
    show["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["kind"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_timeout_reaches_a_step_whose_shared_connection_stalled() {
    let Some(hosts_config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let mut host = PrivateHost::start(&hosts_config, &env);
    let wf = workflow(&env, &host, "5s", "30.4711");
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the step to start on the host", secs(30), || {
        env.path().join("started").exists()
    });
    assert!(host.stall(false) > 0, "no sshd process serves the step");
    // The timeout (5 s) cannot travel over the stalled connection: it must reach the
    // step over one of its own, long before the step's 30 s are over.
    wait_until("the timeout to end the step on the host", secs(45), || {
        !running("sleep 30.4711")
    });
    assert!(
        !env.path().join("done").exists(),
        "the step ran to its end: the timeout did not reach it"
    );
    host.thaw();
    let out = wait_child(child, 90);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "deploy").as_deref(), Some("failed"));
    let kinds = error_kinds(&show);
    assert!(kinds.contains(&"timeout".to_string()), "{kinds:?}");
}

#[test]
fn a_step_no_stop_could_reach_is_recorded_as_its_host_says() {
    let Some(hosts_config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let mut host = PrivateHost::start(&hosts_config, &env);
    let wf = workflow(&env, &host, "2s", "4.4712");
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the step to start on the host", secs(30), || {
        env.path().join("started").exists()
    });
    // No connection can be had at all now: neither the shared one nor a new one.
    assert!(host.stall(true) > 1, "no sshd process serves the step");
    let exit_code = env
        .path()
        .join("remote")
        .join(&id)
        .join("deploy.1")
        .join("exitcode");
    wait_until("the step to run to its end on the host", secs(30), || {
        env.path().join("done").exists() && exit_code.exists()
    });
    host.thaw();
    let out = wait_child(child, 120);
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "deploy").as_deref(),
        Some("succeeded"),
        "the host says it exited 0: {show:#}\n{}",
        text(&out.stderr)
    );
    let kinds = error_kinds(&show);
    assert!(!kinds.contains(&"timeout".to_string()), "{kinds:?}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Issue 75 point 7: a timeout that reached the step over a connection of its own ends
/// the attempt once the host says it ended, without waiting for the stalled connection
/// to come back; the record's duration is the host's end, not the connection's return.
#[test]
fn a_timed_out_step_on_a_stalled_connection_is_recorded_at_its_end_on_the_host() {
    let Some(hosts_config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let mut host = PrivateHost::start(&hosts_config, &env);
    let wf = workflow(&env, &host, "4s", "60.4713");
    // The recorded duration counts from the attempt's start, which comes after this.
    let began = std::time::Instant::now();
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the step to start on the host", secs(30), || {
        env.path().join("started").exists()
    });
    assert!(host.stall(false) > 0, "no sshd process serves the step");
    wait_until("the timeout to end the step on the host", secs(45), || {
        !running("sleep 60.4713")
    });
    // The connection stays stalled until the run has ended: the run must not wait
    // for it to come back.
    let out = wait_child(child, 60);
    let ran = began.elapsed();
    host.thaw();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "deploy").as_deref(), Some("failed"));
    let kinds = error_kinds(&show);
    assert!(kinds.contains(&"timeout".to_string()), "{kinds:?}");
    let duration = step_field(&show, "deploy", "duration_ms")
        .as_u64()
        .expect("the step's duration");
    // Ended while the connection was still stalled, so the record cannot be the
    // connection's return: it is at most the time baton ran.
    assert!(
        u128::from(duration) < ran.as_millis(),
        "recorded {duration} ms, baton ran {ran:?} while the connection stalled: {show:#}"
    );
}
