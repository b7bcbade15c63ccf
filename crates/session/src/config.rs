//! The user's configuration, read by every command: the file at
//! [`default_path`] read and put in force for the process. Its values and the reading
//! of its text are the link's (`baton_link::config`, re-exported here): the console
//! is built against them without this crate.
use baton_workflow::{Diagnostic, Diagnostics};
use std::path::Path;
use std::sync::OnceLock;

pub use baton_link::config::*;

/// The configuration at the default path, with its problems; every default when there
/// is no file.
pub fn read() -> Read {
    read_from(&default_path())
}

fn read_from(path: &Path) -> Read {
    let fine = |config| Read {
        config,
        problems: Diagnostics(Vec::new()),
    };
    let failed = |d: Diagnostic| Read {
        config: Config::default(),
        problems: Diagnostics(vec![d]),
    };
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return fine(Config::default()),
        // Someone else's home (`sudo -u`, setpriv keep `$HOME`): not this account's
        // configuration. Said once, then every default.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            crate::stdio::errln!(
                "warning: cannot read {}: {e}; using the default configuration",
                path.display()
            );
            return fine(Config::default());
        }
        Err(e) => {
            return failed(Diagnostic {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                message: format!("cannot read the configuration: {e}"),
                hint: Some("fix its permissions, or remove it to use every default".into()),
            });
        }
    };
    match String::from_utf8(text) {
        Ok(text) => read_str(path, &text),
        Err(_) => failed(Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message: "the configuration is not UTF-8 text".into(),
            hint: Some("save it as UTF-8".into()),
        }),
    }
}

static ACTIVE: OnceLock<Config> = OnceLock::new();

/// Put the configuration in force for this process (once, at start-up).
pub fn install(c: Config) {
    let _ = ACTIVE.set(c);
}

/// The configuration in force: the installed one, else every default.
pub fn get() -> &'static Config {
    ACTIVE.get_or_init(Config::default)
}
