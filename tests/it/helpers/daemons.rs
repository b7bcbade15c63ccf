//! What the machine must hold for some tests: the real daemons (tests/slurm/cluster.sh,
//! tests/ssh/hosts.sh, tests/sge/cell.sh), started by their script for this test process
//! and stopped by the script's watcher once it has exited, however it ends; and the OS
//! accounts of tests/accounts.sh. `None`/`false`, with the reason printed (`SKIPPED:
//! …`), only where they cannot be had here (not installed, not root, accounts not made);
//! a script that fails where the daemons are installed fails the test.
use super::env::text;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Whether this process runs as root (the daemons' scripts need it).
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// A script of tests/ that starts and stops real daemons, and what it needs.
pub(crate) struct Daemons {
    /// Its path under tests/.
    pub script: &'static str,
    /// Files that must exist (the daemons' programs).
    pub needs: &'static [&'static str],
    /// The Debian packages that install them.
    pub install: &'static str,
}

pub(crate) const SLURM: Daemons = Daemons {
    script: "slurm/cluster.sh",
    needs: &["/usr/bin/sbatch", "/usr/sbin/slurmctld", "/usr/sbin/munged"],
    install: "slurmctld slurmd slurm-client munge",
};

pub(crate) const SSH_HOSTS: Daemons = Daemons {
    script: "ssh/hosts.sh",
    needs: &["/usr/sbin/sshd"],
    install: "openssh-server",
};

pub(crate) const SGE: Daemons = Daemons {
    script: "sge/cell.sh",
    needs: &[
        "/usr/lib/gridengine/sge_qmaster",
        "/usr/lib/gridengine/qsub",
    ],
    install: "gridengine-master gridengine-exec gridengine-client",
};

impl Daemons {
    /// Whether the script can run here (installed, root); why not printed if not.
    pub(crate) fn can_start(&self) -> bool {
        if let Some(missing) = self.needs.iter().find(|p| !Path::new(p).exists()) {
            eprintln!(
                "SKIPPED: {missing} is not installed (apt-get install {})",
                self.install
            );
            return false;
        }
        if !is_root() {
            eprintln!("SKIPPED: tests/{} needs root", self.script);
            return false;
        }
        true
    }

    /// `tests/SCRIPT start OWNER`: the daemons stop once the process `owner` has exited
    /// (a start without one, CI's or a developer's, keeps them until `stop`). Its
    /// output's last line; a script that fails fails the test.
    pub(crate) fn start_for(&self, owner: u32, vars: &[(&str, &str)]) -> String {
        let out = Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(self.script),
        )
        .arg("start")
        .arg(owner.to_string())
        .envs(vars.iter().copied())
        // The scripts' own lock marker, should it be in the environment running the tests.
        .env_remove("BATON_DAEMONS_LOCKED")
        .output()
        .expect("run the daemons' script");
        assert!(
            out.status.success(),
            "{} is installed but tests/{} did not start:\n{}",
            self.install,
            self.script,
            text(&out.stderr)
        );
        text(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_string()
    }
}

/// The daemons started for this test process (stopped once it has exited), or `None`
/// (and why, printed) where they cannot run here: the script's output's last line.
pub(crate) fn start_daemons(d: &Daemons) -> Option<String> {
    d.can_start().then(|| d.start_for(std::process::id(), &[]))
}

static SLURM_UP: OnceLock<Option<PathBuf>> = OnceLock::new();

/// The test Slurm cluster's configuration (its `SLURM_CONF`), the cluster started once
/// per test process; `None` (and why, printed) where Slurm cannot run here.
pub(crate) fn slurm_conf() -> Option<&'static Path> {
    SLURM_UP
        .get_or_init(|| start_daemons(&SLURM).map(PathBuf::from))
        .as_deref()
}

/// The cluster's configuration once a test has started it (nothing is started here).
pub(super) fn slurm_conf_if_up() -> Option<&'static Path> {
    SLURM_UP.get().and_then(Option::as_deref)
}

/// A Slurm command (`squeue`, `scancel`, …) of the test cluster: `SLURM_CONF` names its
/// configuration (the machine's `/etc/slurm` is never read).
pub(crate) fn slurm_command(program: &str) -> Command {
    let mut c = Command::new(program);
    if let Some(conf) = slurm_conf_if_up() {
        c.env("SLURM_CONF", conf);
    }
    c
}

/// Whether `group` and its `users` exist (tests/accounts.sh makes them) and this process
/// runs as root, which acts as them; `false`, with the reason printed, otherwise.
pub(crate) fn accounts(group: &str, users: &[&str]) -> bool {
    if !is_root() {
        eprintln!("SKIPPED: acting as the accounts {users:?} needs root");
        return false;
    }
    let mut missing: Vec<String> = users
        .iter()
        .filter(|u| nix::unistd::User::from_name(u).ok().flatten().is_none())
        .map(|u| format!("account {u}"))
        .collect();
    if nix::unistd::Group::from_name(group)
        .ok()
        .flatten()
        .is_none()
    {
        missing.push(format!("group {group}"));
    }
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED: no {} here: run `tests/accounts.sh add` as root (`tests/accounts.sh remove` takes them away)",
            missing.join(", ")
        );
        return false;
    }
    true
}

/// `baton run WF --headless` (with `vars` in its environment) and the `started`
/// failpoint on `step`: the engine kills itself (SIGKILL) right after the step's attempt
/// started, before it is recorded.
pub(crate) fn died_at_started(
    env: &super::Env,
    vars: &[(String, String)],
    wf: &Path,
    step: &str,
) -> std::process::Output {
    died_at(env, vars, wf, &format!("started:{step}"))
}

/// `baton run WF --headless` (with `vars` in its environment) and the failpoint
/// `point` (`POINT:STEP`, `exec::failpoint`): the engine kills itself (SIGKILL) there.
pub(crate) fn died_at(
    env: &super::Env,
    vars: &[(String, String)],
    wf: &Path,
    point: &str,
) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    let child = env
        .cmd()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("BATON_FAILPOINT", point)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn baton");
    let out = super::wait_child(child, 60);
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the engine died at the failpoint: {:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    out
}
