//! Helpers for tests that drive the real `baton` binary in temp dirs.
#![allow(dead_code)]
use super::wait::{poll, secs, wait_until};
use serde_json::Value;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub(crate) struct Env {
    pub dir: tempfile::TempDir,
    /// The `TMPDIR` every baton of [`Env::cmd`] gets, if any ([`Env::with_own_tmp`]).
    tmp: Option<PathBuf>,
}

/// A test's end, passed or failed: every process still in the test's directory (its
/// working directory there, as every baton of [`Env::cmd`] and its local steps have, or
/// the directory named on its command line: a background engine a `--detach` or a
/// console's `q` started, a resume a failed assertion left) is killed before the
/// directory goes, so none outlives its test nor makes the directory again as it ends.
impl Drop for Env {
    fn drop(&mut self) {
        kill_inside(self.path());
    }
}

/// SIGKILL to every process (not this one) working in `dir` or naming it on its
/// command line.
fn kill_inside(dir: &Path) {
    let me = std::process::id();
    let named = dir.to_string_lossy().into_owned();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for pid in procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| *p != me)
    {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
        let inside = cwd.is_ok_and(|c| c.starts_with(dir))
            || std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|a| String::from_utf8_lossy(&a).contains(&named));
        if inside {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Env {
    pub(crate) fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir_in(tests_tmp()).expect("tempdir"),
            tmp: None,
        };
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(env.runtime_dir())
            .expect("the env's runtime directory");
        env
    }
    /// The env's `XDG_RUNTIME_DIR` (private, 0700): where its batons make their
    /// steps' files directories (`exec::files_root`), so that those an engine killed
    /// with -9 leaves go with the test's directory, never into `/dev/shm`.
    /// Every baton of this env with a `TMPDIR` of the env's own (`tmp/`): an SSH
    /// step's or command's shared connections (`ssh::control_dir`) are made there, not in
    /// the machine's `/tmp`, and go with the test.
    pub(crate) fn with_own_tmp(mut self) -> Env {
        let tmp = self.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("the env's TMPDIR");
        self.tmp = Some(tmp);
        self
    }
    pub(crate) fn runtime_dir(&self) -> PathBuf {
        self.path().join("run")
    }
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
    pub(crate) fn db(&self) -> PathBuf {
        self.path().join("state").join("baton.db")
    }
    /// Write a workflow file into the temp dir and return its path.
    pub(crate) fn workflow(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write workflow");
        p
    }
    /// Where this env's `baton/config.toml` lives (`XDG_CONFIG_HOME`), so a test
    /// never reads the machine's own configuration.
    pub(crate) fn config_home(&self) -> PathBuf {
        self.path().join("config")
    }
    /// Write this env's `config.toml`.
    pub(crate) fn config(&self, text: &str) -> PathBuf {
        let dir = self.config_home().join("baton");
        std::fs::create_dir_all(&dir).expect("config dir");
        let p = dir.join("config.toml");
        std::fs::write(&p, text).expect("write config");
        p
    }
    /// A `baton` command with this env's database and configuration, operator
    /// `tester`, no colour.
    pub(crate) fn cmd(&self) -> Command {
        let mut c = baton();
        c.env("BATON_DB", self.db())
            .env("XDG_CONFIG_HOME", self.config_home())
            // The account's own state (its secret for group stores) stays in the env too.
            .env("XDG_STATE_HOME", self.path().join("xdg-state"))
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("USER", "tester")
            .env("NO_COLOR", "1")
            .current_dir(self.path());
        c.env_remove("BATON_AUDIT_KEY")
            .env_remove("BATON_AUDIT_KEY_ID");
        if let Some(tmp) = &self.tmp {
            c.env("TMPDIR", tmp);
        }
        c
    }
    /// A one-step run of `true`, to its end; its id.
    pub(crate) fn finished_run(&self) -> String {
        let wf = self.workflow(
            "one.toml",
            "name = \"one\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
        );
        let out = self.run(&["run", wf.to_str().unwrap(), "--headless"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        run_id_of(&text(&out.stdout))
    }
    /// The env's store (its directory and all in it) becomes `uid`'s own, a private store
    /// of that account, and the temp dir above it passable for it.
    pub(crate) fn give_store_to(&self, uid: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let state = self.db().parent().unwrap().to_path_buf();
        let chown = Command::new("chown")
            .args(["-R", &format!("{uid}:{uid}")])
            .arg(&state)
            .status()
            .unwrap();
        assert!(chown.success(), "chown -R {uid} {}", state.display());
    }
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run baton")
    }
    /// Start `baton run … --headless` in the background.
    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        self.cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baton")
    }
    pub(crate) fn show(&self, run: &str) -> Value {
        let out = self.run(&["show", run, "--json"]);
        assert!(out.status.success(), "show failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("show --json is JSON")
    }
    pub(crate) fn runs(&self) -> Value {
        let out = self.run(&["runs", "--json"]);
        assert!(out.status.success(), "runs failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("runs --json is JSON")
    }
    /// The id of the newest run, waiting up to 10 s for one to appear.
    /// A headless run of two gated steps, `deploy` and `other`, whose workflow declares
    /// the secret `API_TOKEN` (set to `secret` for the engine), left waiting at both
    /// gates; the engine (its output piped) and the run's id.
    pub(crate) fn waiting_at_two_gates_with_secret(&self, secret: &str) -> (Child, String) {
        let wf = self.workflow(
            "w.toml",
            r#"
name = "reasons"
secrets = ["API_TOKEN"]
[[step]]
id = "deploy"
run = "true"
gate = { prompt = "go?" }
[[step]]
id = "other"
run = "true"
gate = { prompt = "go?" }
"#,
        );
        let child = self
            .cmd()
            .args(["run", wf.to_str().unwrap(), "--headless"])
            .env("API_TOKEN", secret)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baton run");
        let id = self.wait_run_id();
        self.wait_step(&id, "deploy", "waiting_approval", 15);
        self.wait_step(&id, "other", "waiting_approval", 15);
        (child, id)
    }

    pub(crate) fn wait_run_id(&self) -> String {
        self.wait_run_id_for(10)
    }

    /// [`Env::wait_run_id`] with room for slow starts (many engines loading a large
    /// workflow on a loaded machine).
    pub(crate) fn wait_run_id_for(&self, seconds: u64) -> String {
        wait_until("a run to appear", secs(seconds), || {
            // The engine creates the file before SQLite writes its header: a `runs` that
            // finds it empty is tried again.
            if !self.db().exists() {
                return None;
            }
            let out = self.run(&["runs", "--json"]);
            let runs = serde_json::from_slice::<Value>(&out.stdout).ok()?;
            runs[0]["id"].as_str().map(str::to_string)
        })
    }
    /// Wait until `step` of `run` is in `state` (per `show --json`), up to `secs`.
    pub(crate) fn wait_step(&self, run: &str, step: &str, state: &str, secs: u64) {
        let what = format!("{step} to reach {state}");
        wait_until(&what, Duration::from_secs(secs), || {
            let v = self.show(run);
            // The step may not be in the store yet, right after the run was created.
            if step_state(&v, step).as_deref() == Some(state) {
                Ok(())
            } else {
                Err(format!("{v:#}"))
            }
        })
    }
}

impl Env {
    /// The rows of `baton audit RUN --json` whose action is `action`, oldest first
    /// (none is a failure: the caller expects at least one).
    pub(crate) fn audit_rows(&self, run: &str, action: &str) -> Vec<Value> {
        let out = self.run(&["audit", run, "--json"]);
        let audit: Value = serde_json::from_slice(&out.stdout).expect("audit --json is JSON");
        let rows: Vec<Value> = audit
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["action"] == action)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        assert!(!rows.is_empty(), "no `{action}` row in {audit:#}");
        rows
    }

    /// Start `baton run WF --headless` in the background and wait until `step` is in
    /// `state`: the engine and the run's id.
    pub(crate) fn spawn_until(&self, wf: &Path, step: &str, state: &str) -> (Child, String) {
        let child = self.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
        let run = self.wait_run_id();
        self.wait_step(&run, step, state, 20);
        (child, run)
    }
}

/// Where the tests' directories go: the temporary directory (`TMPDIR`), unless the tests
/// run as root and other accounts cannot pass through it (a private `TMPDIR`, mode 700):
/// as root the tests also act as other accounts (`nobody`, tests/accounts.sh's), which
/// must reach their files, so then under `/tmp`. Each test still has a directory of its
/// own there, removed when it ends.
pub(crate) fn tests_tmp() -> &'static Path {
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let tmp = std::env::temp_dir();
        if !super::is_root() || passable(&tmp) {
            return tmp;
        }
        eprintln!(
            "note: others cannot pass through {} (TMPDIR): the tests' directories go under /tmp",
            tmp.display()
        );
        PathBuf::from("/tmp")
    })
}

/// Whether every directory from `/` down to `dir` lets other accounts pass (`o+x`).
fn passable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// The suite's own knobs (how long a campaign runs, where a daemon script puts its
/// daemons): kept in the test process. Every other `BATON_*` variable is baton's.
const SUITE_KNOBS: &[&str] = &[
    "BATON_CRASH_ITERATIONS",
    "BATON_CRASH_SEED",
    "BATON_GROUP_CYCLES",
    "BATON_GROUP_SEED",
    "BATON_BURST_ROUNDS",
    "BATON_CHAOS_KEEP",
    "BATON_CHAOS_MINUTES",
    "BATON_CHAOS_SEED",
    "BATON_SLURM_DIR",
    "BATON_SLURM_PORT",
    "BATON_SSH_DIR",
    "BATON_SSH_PORT",
    "BATON_SGE_DIR",
    "BATON_SGE_PORT",
];

/// Run before `main` (an ELF initializer), while the process has one thread: the `BATON_*`
/// variables of whoever runs the tests leave this process, so neither the batons it runs
/// nor what it opens in-process (a store reads `BATON_AUDIT_KEY`) see their own store,
/// keys or knobs. A test sets what it means to.
#[used]
#[unsafe(link_section = ".init_array")]
static CLEAR_CALLERS_BATON_VARS: extern "C" fn() = clear_callers_baton_vars;

extern "C" fn clear_callers_baton_vars() {
    let theirs: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| {
            let k = k.to_string_lossy();
            k.starts_with("BATON_") && !SUITE_KNOBS.contains(&k.as_ref())
        })
        .collect();
    for k in theirs {
        // SAFETY: an initializer runs before `main`, before any other thread exists: no
        // one reads the environment at the same time.
        unsafe { std::env::remove_var(k) };
    }
}

/// Run before `main` too: SIGINT, SIGTERM and SIGHUP at their defaults, as a terminal
/// leaves them. A suite run under `nohup` or as a shell's background job inherits some
/// ignored, every baton it starts would too, and baton keeps a shutdown signal ignored
/// at entry ignored (`engine::signals`): the tests that signal it would wait forever.
#[used]
#[unsafe(link_section = ".init_array")]
static DEFAULT_SHUTDOWN_SIGNALS: extern "C" fn() = default_shutdown_signals;

extern "C" fn default_shutdown_signals() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: before `main`, one thread, and no handler of the suite's is replaced:
        // only an inherited disposition is set back to the default.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
}

/// `cmd` as the tests run baton (or a terminal that runs it): none of the `BATON_*`
/// variables (the suite's knobs: [`SUITE_KNOBS`]; a test sets what it means to), and
/// the test Slurm cluster's `SLURM_CONF` once a test started it.
pub(crate) fn test_env(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BATON_") {
            cmd.env_remove(k);
        }
    }
    if let Some(conf) = super::daemons::slurm_conf_if_up() {
        cmd.env("SLURM_CONF", conf);
    }
    cmd
}

/// `cmd` (`setpriv …`) as the tests run something as another account: [`test_env`], and
/// [`tests_tmp`] as its `TMPDIR` where that is not the tests' own (a private one the
/// account cannot use: a baton makes its steps' files there).
pub(crate) fn as_other_account(cmd: &mut Command) -> &mut Command {
    test_env(cmd);
    if tests_tmp() != std::env::temp_dir() {
        cmd.env("TMPDIR", tests_tmp());
    }
    cmd
}

/// A private (0700) `XDG_RUNTIME_DIR` for account `uid` under `dir`, made if need be:
/// a baton run as another account makes its steps' files directories there
/// (`exec::files_root`), so those an engine killed with -9 leaves go with the test's
/// directory, never into `/dev/shm` (another account's runtime directory is not taken).
/// (A `TMPDIR` set for the baton wins over it: `files_root`.)
pub(crate) fn runtime_dir_of(dir: &Path, uid: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let run = dir.join(format!("run-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&run) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => panic!("{}: {e}", run.display()),
    }
    nix::unistd::chown(&run, Some(nix::unistd::Uid::from_raw(uid)), None)
        .unwrap_or_else(|e| panic!("chown {} to {uid}: {e}", run.display()));
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("chmod 700 {}: {e}", run.display()));
    run
}

/// The uid of account `user` (tests/accounts.sh makes the tests' accounts).
pub(crate) fn uid_of(user: &str) -> u32 {
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
        .unwrap_or_else(|| panic!("no account {user}: run tests/accounts.sh add as root"))
}

/// The `baton` binary under test, in [`test_env`].
pub(crate) fn baton() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
    test_env(&mut c);
    c
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(crate) fn step<'a>(show: &'a Value, id: &str) -> &'a Value {
    show["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id} in {show:#}"))
}

/// A step's state, or `None` while the store has no row for it yet.
pub(crate) fn step_state(show: &Value, id: &str) -> Option<String> {
    show["steps"]
        .as_array()?
        .iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["state"].as_str())
        .map(str::to_string)
}

pub(crate) fn step_field(show: &Value, id: &str, field: &str) -> Value {
    step(show, id)[field].clone()
}

/// The JSON array a `--json` listing printed (`baton audit --json`), after checking
/// that it succeeded.
pub(crate) fn json_rows(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(Value::Array(rows)) => rows,
        other => panic!("not a JSON array: {other:?}"),
    }
}

/// The run id from the first line of headless output (`run <ID> <name>`).
pub(crate) fn run_id_of(stdout: &str) -> String {
    let first = stdout.lines().next().unwrap_or_default();
    let mut parts = first.split_whitespace();
    assert_eq!(
        parts.next(),
        Some("run"),
        "first line must be `run <ID> <name>`: {first:?}"
    );
    parts.next().expect("run id").to_string()
}

/// Wait for a child with a deadline; kill it and fail the test if it overruns.
pub(crate) fn wait_child(mut child: Child, secs: u64) -> Output {
    let exited = poll(Duration::from_secs(secs), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if exited.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("output");
    assert!(
        exited.is_ok(),
        "baton did not finish in {secs}s\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Whether a process still runs (a zombie waiting to be reaped does not).
pub(crate) fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

/// The `baton` binary as an ordinary user: as root (which ignores permissions) it runs
/// as `nobody` through `setpriv`, after `paths` are handed to `nobody`; otherwise as
/// the current user.
pub(crate) fn baton_as_user(paths: &[&Path]) -> Command {
    if nix::unistd::geteuid().is_root() {
        let nobody = nix::unistd::Uid::from_raw(65534);
        let nogroup = nix::unistd::Gid::from_raw(65534);
        for p in paths {
            nix::unistd::chown(*p, Some(nobody), Some(nogroup)).expect("chown to nobody");
        }
        let mut c = Command::new("setpriv");
        as_other_account(&mut c)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_baton"));
        c
    } else {
        baton()
    }
}

/// Two OS accounts deciding on one store: tests run as root, and the second account is
/// `nobody`. The env's store becomes a group store (`baton store init --group nogroup`)
/// that both can write, and its temp dir is made passable for `nobody`.
impl Env {
    pub(crate) fn share_with_nobody(&self) {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test needs two OS accounts: run it as root (it acts as root and as nobody)"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let out = self.run(&["store", "init", "--group", "nogroup"]);
        assert!(out.status.success(), "store init: {}", text(&out.stderr));
    }

    /// `baton` as `nobody` (primary group nogroup), with this env's database, not yet
    /// started.
    pub(crate) fn baton_as_nobody(&self, args: &[&str]) -> Command {
        // Its account's own state (its `seal.key`) stays in the env too, never in the
        // machine's home directories.
        let state = self.path().join("nobody-state");
        let _ = std::fs::create_dir_all(&state);
        let nobody = nix::unistd::Uid::from_raw(65534);
        let _ = nix::unistd::chown(&state, Some(nobody), None);
        let mut c = Command::new("setpriv");
        as_other_account(&mut c)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .env("BATON_DB", self.db())
            .env("XDG_STATE_HOME", &state)
            .env("XDG_RUNTIME_DIR", runtime_dir_of(self.path(), 65534))
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("USER", "tester")
            .env("NO_COLOR", "1")
            .env_remove("BATON_AUDIT_KEY")
            .env_remove("BATON_AUDIT_KEY_ID")
            .current_dir(self.path())
            .stdin(Stdio::null());
        c
    }

    /// `baton` as `nobody` run to its end: [`Env::baton_as_nobody`].
    pub(crate) fn run_as_nobody(&self, args: &[&str]) -> Output {
        self.baton_as_nobody(args)
            .output()
            .expect("run baton as nobody")
    }
}

/// A key pair made by `ssh-keygen` (no passphrase, comment `name`) in `dir`; `kind` is
/// `ed25519`, `ecdsa` or `rsa` (2048 bits). Returns the private key's path.
pub(crate) fn ssh_keygen(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let path = dir.join(name);
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-N", "", "-C", name, "-t", kind, "-f"])
        .arg(&path);
    if kind == "rsa" {
        c.args(["-b", "2048"]);
    }
    let out = c.output().expect("ssh-keygen is installed");
    assert!(out.status.success(), "ssh-keygen: {}", text(&out.stderr));
    path
}

/// The public half of `key` as an allowed-signers line wants it: `keytype base64`.
pub(crate) fn ssh_public(key: &Path) -> String {
    let text = std::fs::read_to_string(key.with_extension("pub")).expect("the .pub file");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An `ssh-agent` of the test's own, listening at `sock`; stopped on drop.
pub(crate) struct SshAgent {
    pub sock: PathBuf,
    child: Child,
}

impl SshAgent {
    pub(crate) fn start(sock: PathBuf) -> SshAgent {
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent is installed");
        wait_until("ssh-agent to listen", secs(10), || sock.exists());
        SshAgent { sock, child }
    }

    /// `ssh-add KEY` into this agent.
    pub(crate) fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock)
            .output()
            .expect("ssh-add is installed");
        assert!(out.status.success(), "ssh-add: {}", text(&out.stderr));
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The crash tests' promise, kept across crashes: every step appends `<id> start` to the
/// file `ledger` as its first act; once the store says a step succeeded, its number of
/// starts is frozen and must never grow again.
pub(crate) struct StartLedger {
    path: PathBuf,
    frozen: std::collections::BTreeMap<String, usize>,
}

impl StartLedger {
    pub(crate) fn new(env: &Env) -> StartLedger {
        StartLedger {
            path: env.path().join("ledger"),
            frozen: Default::default(),
        }
    }

    /// How many times each step has started so far.
    pub(crate) fn starts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut m = std::collections::BTreeMap::new();
        let ledger = std::fs::read_to_string(&self.path).unwrap_or_default();
        for step in ledger.lines().filter_map(|l| l.strip_suffix(" start")) {
            *m.entry(step.to_string()).or_insert(0) += 1;
        }
        m
    }

    /// The starts so far, after checking that no step recorded as succeeded started
    /// again (`when` names the moment in the failure message).
    pub(crate) fn check(&self, when: &str) -> std::collections::BTreeMap<String, usize> {
        let now = self.starts();
        for (step, count) in &self.frozen {
            assert_eq!(
                now.get(step),
                Some(count),
                "{step} succeeded earlier but started again ({when})"
            );
        }
        now
    }

    /// Freeze the start counts (`now`, from [`StartLedger::check`]) of the steps `show`
    /// (`baton show --json`) says succeeded.
    pub(crate) fn freeze(&mut self, show: &Value, now: &std::collections::BTreeMap<String, usize>) {
        for s in show["steps"].as_array().unwrap() {
            let sid = s["id"].as_str().unwrap().to_string();
            if s["state"] == "succeeded" {
                self.frozen
                    .entry(sid.clone())
                    .or_insert_with(|| now.get(&sid).copied().unwrap_or(0));
            }
        }
    }
}

/// The command exited 0, or the test fails showing what it printed.
pub(crate) fn ok(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// At least `n` bytes of text that a shell would act on if it ever took it for code
/// (quotes, `$HOME`, backquotes, `$(touch pwned)`): `first`, then a line of SQL
/// repeated, a newline after each when `lines`, cut to `n` bytes (ASCII).
pub(crate) fn hostile_text(first: &str, n: usize, lines: bool) -> String {
    let line = "UPDATE t SET a = \"$HOME\", b = '`id`', c = $(touch pwned) WHERE x = 'it''s';";
    let mut v = String::with_capacity(n + line.len() + 1);
    v.push_str(first);
    while v.len() < n {
        v.push_str(line);
        if lines {
            v.push('\n');
        }
    }
    v.truncate(n);
    v
}
