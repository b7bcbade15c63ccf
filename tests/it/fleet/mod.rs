//! Issue 59: one operator over the stores of several hosts. Each store is a test env of
//! its own; the remote ones are reached over the real sshd hosts (tests/ssh/hosts.sh),
//! as `root` there, by a local `baton` running as `nobody`: what the remote record says
//! is the remote account's doing.
mod asks;
pub(crate) mod bounds;
mod cli;
pub(crate) mod fork_params;
pub(crate) mod never_both;
mod verdicts;

use crate::exec::ssh::hosts;
use crate::helpers::*;
use std::path::{Path, PathBuf};

/// A local store (`here`), two remote ones (`h2`, `h3`: the two sshd hosts) and one
/// whose host is down (`down`), in the local env's config.toml.
pub(crate) struct Fleet {
    pub local: Env,
    pub h2: Env,
    pub h3: Env,
    /// The test's own ssh config (its key, known hosts), readable by `nobody`.
    pub ssh_config: PathBuf,
}

/// A gated one-step workflow: `deploy` waits for an approval, then records that it ran.
pub(crate) const GATED: &str = "name = \"fleet\"\n[[step]]\nid = \"deploy\"\nrun = \"echo ran\"\ngate = { prompt = \"ship it?\" }\n";

impl Fleet {
    /// `None` (and why, printed) where the sshd hosts cannot run.
    pub(crate) fn new() -> Option<Fleet> {
        let hosts_config = hosts()?;
        let local = Env::new().with_own_tmp();
        let ssh_config = own_ssh(&local, &hosts_config);
        let f = Fleet {
            local,
            h2: Env::new(),
            h3: Env::new(),
            ssh_config,
        };
        let old = f.old_baton();
        std::fs::write(
            &old,
            "#!/bin/sh\necho '{\"hello\":{\"protocol\":1,\"baton\":\"0.0.1\"}}'\ncat >/dev/null\n",
        )
        .expect("write the old baton");
        let once = f.failing_baton();
        std::fs::write(
            &once,
            format!(
                "#!/bin/sh\nm={}\nif [ -f \"$m\" ]; then BATON_FAILPOINT=$(cat \"$m\"); export BATON_FAILPOINT; rm -f \"$m\"; fi\nBATON_FAILPOINT_HOLD={}\nexport BATON_FAILPOINT_HOLD\nexec {} \"$@\"\n",
                f.failpoint_marker().display(),
                f.held_link().display(),
                env!("CARGO_BIN_EXE_baton")
            ),
        )
        .expect("write the failing baton");
        for p in [&old, &once] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
                .expect("chmod a test baton");
        }
        f.local.config(&f.config_text());
        Some(f)
    }

    pub(crate) fn config_text(&self) -> String {
        let remote = |name: &str, host: &str, env: &Env| {
            format!(
                "[[store]]\nname = \"{name}\"\nssh = \"{host}\"\ndb = \"{}\"\nbaton = \"{}\"\nssh_config = \"{}\"\n\n",
                env.db().display(),
                env!("CARGO_BIN_EXE_baton"),
                self.ssh_config.display()
            )
        };
        format!(
            "[[store]]\nname = \"here\"\ndb = \"{}\"\n\n{}{}{}",
            self.local.db().display(),
            remote("h2", "baton-h2", &self.h2),
            remote("h3", "baton-h3", &self.h3),
            remote("down", "baton-down", &self.local),
        ) + &format!(
            "[[store]]\nname = \"old\"\nssh = \"baton-h3\"\nbaton = \"{}\"\nssh_config = \"{}\"\n\n",
            self.old_baton().display(),
            self.ssh_config.display()
        ) + &format!(
            "[[store]]\nname = \"h2once\"\nssh = \"baton-h2\"\ndb = \"{}\"\nbaton = \"{}\"\nssh_config = \"{}\"\n",
            self.h2.db().display(),
            self.failing_baton().display(),
            self.ssh_config.display()
        )
    }

    /// `baton` on `h2` (store `h2once`) that, when [`Fleet::fail_next_link`] was
    /// called, runs its next process with that failpoint (`BATON_FAILPOINT`), once.
    fn failing_baton(&self) -> PathBuf {
        self.local.path().join("failing-baton")
    }

    fn failpoint_marker(&self) -> PathBuf {
        self.local.path().join("failpoint")
    }

    /// The file whose making lets a link held at `link-held` go on (`FILE.waiting`
    /// appears once it holds): `baton_exec::failpoint::hold_at`.
    pub(crate) fn held_link(&self) -> PathBuf {
        self.local.path().join("let-the-held-link-go")
    }

    /// The next `baton` started on `h2` through store `h2once` dies at `point`.
    pub(crate) fn fail_next_link(&self, point: &str) {
        std::fs::write(self.failpoint_marker(), point).expect("write the failpoint");
    }

    /// A program that answers `baton link` as another release of baton would: its
    /// hello, naming version 0.0.1.
    fn old_baton(&self) -> PathBuf {
        self.local.path().join("old-baton")
    }

    /// `nobody`'s state directory and `TMPDIR` (its shared connections' sockets,
    /// `ControlPath`) under the test's directory, made and handed to it.
    fn nobody_dirs(&self) -> (PathBuf, PathBuf) {
        let state = self.local.path().join("nobody-state");
        std::fs::create_dir_all(&state).expect("nobody's state dir");
        let tmp = self.local.path().join("tmp-nobody");
        std::fs::create_dir_all(&tmp).expect("nobody's TMPDIR");
        if nix::unistd::geteuid().is_root() {
            let nobody = Some(nix::unistd::Uid::from_raw(65534));
            for p in [&state, &tmp] {
                nix::unistd::chown(p, nobody, None).expect("chown to nobody");
            }
        }
        (state, tmp)
    }

    /// The shell command that opens `baton tui ARGS…` as `nobody` in tmux, with the
    /// local env's configuration; its exit status printed (`TUI-EXIT=N`), the pane
    /// kept 30 s after.
    pub(crate) fn console_as_nobody(&self, args: &str) -> String {
        use crate::console::tmux::shell_quote;
        let (state, tmp) = self.nobody_dirs();
        format!(
            "cd {} && XDG_CONFIG_HOME={} XDG_STATE_HOME={} TMPDIR={} setpriv --reuid=65534 --regid=65534 --clear-groups {} tui {args} ; echo TUI-EXIT=$? ; sleep 30",
            shell_quote(&self.local.path().to_string_lossy()),
            shell_quote(&self.local.config_home().to_string_lossy()),
            shell_quote(&state.to_string_lossy()),
            shell_quote(&tmp.to_string_lossy()),
            shell_quote(env!("CARGO_BIN_EXE_baton")),
        )
    }

    /// `baton ARGS…` on this machine as `nobody`, with the local env's configuration.
    pub(crate) fn as_nobody(&self, args: &[&str]) -> std::process::Output {
        let (state, tmp) = self.nobody_dirs();
        let mut c = baton_as_user(&[]);
        c.args(args)
            .env("TMPDIR", &tmp)
            .env("XDG_CONFIG_HOME", self.local.config_home())
            .env("XDG_STATE_HOME", &state)
            .env_remove("BATON_DB")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run baton as nobody")
    }

    /// `baton ARGS…` here as the tests' account, with the local env's configuration.
    pub(crate) fn here(&self, args: &[&str]) -> std::process::Output {
        self.local
            .cmd()
            .args(args)
            .env("TMPDIR", crate::exec::ssh::own_tmp(&self.local))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run baton")
    }
}

impl Drop for Fleet {
    /// The shared connections (`ssh … [mux]`, named by their socket under the test's
    /// directory) end with the test.
    fn drop(&mut self) {
        crate::chaos::procs::kill_mentioning(&self.local.path().display().to_string());
    }
}

/// The hosts' ssh config with its key and known hosts copied under the test's own
/// directory, owned by `nobody` when the tests run as root (ssh refuses a key others
/// can read, and the hosts' directory is root's alone).
fn own_ssh(env: &Env, hosts_config: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let from = hosts_config.parent().expect("the hosts' directory");
    let dir = env.path().join("ssh");
    std::fs::create_dir_all(&dir).expect("the test's ssh dir");
    for f in ["id_ed25519", "known_hosts"] {
        std::fs::copy(from.join(f), dir.join(f)).expect("copy the hosts' ssh files");
    }
    let text = std::fs::read_to_string(hosts_config).expect("the hosts' ssh config");
    let config = dir.join("ssh_config");
    std::fs::write(
        &config,
        text.replace(&from.display().to_string(), &dir.display().to_string()),
    )
    .expect("write the test's ssh config");
    // `nobody` passes through the env's directory to its files.
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod the env");
    if nix::unistd::geteuid().is_root() {
        let nobody = nix::unistd::Uid::from_raw(65534);
        for p in [
            &dir,
            &dir.join("id_ed25519"),
            &dir.join("known_hosts"),
            &config,
        ] {
            nix::unistd::chown(p, Some(nobody), None).expect("chown to nobody");
        }
        let _ = std::fs::set_permissions(env.config_home(), std::fs::Permissions::from_mode(0o755));
    }
    config
}
