//! A store on another host (`[[store]]` with `ssh`, issue 59): `baton` runs there,
//! through the system's `ssh` (the operator's own config, agent and known hosts), as
//! the operator's account on that host, so every decision is the remote baton's. One
//! connection per host is shared (`ControlMaster`, sockets in this user's private
//! directory, `ControlPersist`). `ssh` joins its arguments into one line that the
//! remote shell reads, so each argument is one single-quoted word: a value never
//! becomes shell code there.
use baton_link::config::RemoteStore;
use std::path::Path;

/// How long an idle shared connection stays open after its last use.
const PERSIST: &str = "ControlPersist=120";

/// Whether a prompt may be asked on the terminal (a CLI command: a passphrase, an
/// unknown host key) or must fail at once (the console's link: no terminal to ask on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompts {
    Allowed,
    Never,
}

/// A value as one single-quoted word of the remote shell.
pub fn quote(s: &str) -> String {
    // A NUL cannot be in an argument at all; `try_quote` refuses only that.
    shlex::try_quote(s).map_or_else(|_| "''".to_string(), |q| q.into_owned())
}

/// The line the remote shell runs: `env BATON_DB=DB PROGRAM ARGS…`, each word quoted
/// (`env` so any login shell, csh or fish too, reads the assignment).
pub fn remote_line(store: &RemoteStore, args: &[String]) -> String {
    let mut words = Vec::with_capacity(args.len() + 3);
    if let Some(db) = &store.db {
        words.push("env".to_string());
        words.push(quote(&format!("BATON_DB={db}")));
    }
    words.push(quote(&store.program));
    words.extend(args.iter().map(|a| quote(a)));
    words.join(" ")
}

/// `ssh`'s arguments to run `baton ARGS…` on the store's host: options, `--`, the host,
/// then the remote line. `control` is the shared connections' directory (none: each
/// `ssh` connects on its own).
pub fn ssh_args(
    store: &RemoteStore,
    args: &[String],
    prompts: Prompts,
    control: Option<&Path>,
) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(f) = &store.ssh_config {
        a.push("-F".to_string());
        a.push(f.to_string_lossy().into_owned());
    }
    let mut opts = vec![
        "ServerAliveInterval=5".to_string(),
        "ServerAliveCountMax=3".to_string(),
    ];
    if prompts == Prompts::Never {
        opts.push("BatchMode=yes".into());
        opts.push("ConnectTimeout=10".into());
    }
    if let Some(dir) = control {
        opts.push("ControlMaster=auto".into());
        opts.push(format!("ControlPath={}/%C", dir.display()));
        opts.push(PERSIST.into());
    }
    for o in opts {
        a.push("-o".into());
        a.push(o);
    }
    a.push("--".into());
    a.push(store.host.clone());
    a.push(remote_line(store, args));
    a
}

/// `ssh` ready to run `baton ARGS…` on the store's host over the shared connection.
pub fn command(store: &RemoteStore, args: &[String], prompts: Prompts) -> std::process::Command {
    let control = baton_exec::ssh_control_dir();
    let mut c = std::process::Command::new("ssh");
    c.args(ssh_args(store, args, prompts, control.as_deref()));
    c
}

/// What `ssh`'s exit status means: 255 is ssh's own failure (the host down, the key
/// refused, the host key unknown), any other the remote baton's exit code.
pub fn ssh_failed(code: Option<i32>) -> bool {
    code == Some(255) || code.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn store(db: Option<&str>) -> RemoteStore {
        RemoteStore {
            host: "gpu".into(),
            db: db.map(str::to_string),
            program: "/opt/my baton".into(),
            ssh_config: Some(PathBuf::from("/cfg")),
        }
    }

    #[test]
    fn every_value_is_one_quoted_word_on_the_remote_line() {
        let line = remote_line(
            &store(Some("/srv/it's.db")),
            &[
                "approve".into(),
                "01jd".into(),
                "--reason".into(),
                "ok; rm -rf / $(id) `x` \"q\"\n".into(),
            ],
        );
        assert!(
            line.starts_with("env \"BATON_DB=/srv/it's.db\" '/opt/my baton' "),
            "{line}"
        );
        // What a POSIX shell makes of it: exactly the words given.
        let words = shlex::split(&line).expect("one line of words");
        assert_eq!(words[1], "BATON_DB=/srv/it's.db");
        assert_eq!(words[4], "01jd");
        assert_eq!(words[6], "ok; rm -rf / $(id) `x` \"q\"\n");
    }

    #[test]
    fn ssh_shares_one_connection_and_the_host_is_never_an_option() {
        let a = ssh_args(
            &store(None),
            &["runs".into()],
            Prompts::Never,
            Some(Path::new("/run/c")),
        );
        let s = a.join(" ");
        assert!(s.starts_with("-F /cfg "), "{s}");
        assert!(
            s.contains("-o ControlMaster=auto -o ControlPath=/run/c/%C -o ControlPersist=120"),
            "{s}"
        );
        assert!(s.contains("-o BatchMode=yes"), "{s}");
        let dash = a.iter().position(|w| w == "--").expect("--");
        assert_eq!(a[dash + 1], "gpu");
        assert_eq!(a[dash + 2], "'/opt/my baton' runs");
        let asks = ssh_args(&store(None), &[], Prompts::Allowed, None).join(" ");
        assert!(
            !asks.contains("BatchMode") && !asks.contains("Control"),
            "{asks}"
        );
    }

    #[test]
    fn status_255_is_ssh_failing_not_baton() {
        assert!(ssh_failed(Some(255)) && ssh_failed(None));
        assert!(!ssh_failed(Some(1)) && !ssh_failed(Some(3)));
    }
}
