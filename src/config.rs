//! The user's configuration, `$XDG_CONFIG_HOME/baton/config.toml` (else
//! `~/.config/baton/config.toml`), read by every command. Every key is optional; an
//! unknown key or a wrong value is reported like a workflow's (`FILE:LINE:COL: error:`,
//! a hint, exit 2). Command-line options and `BATON_*` variables win over the file.
//!
//! ```toml
//! theme = "light"             # default | light | high-contrast | a user theme
//! db = "~/ops/baton.db"       # the store when --db / BATON_DB are not given
//! time = "clock"              # relative (default) | clock: how the console shows times
//! mouse = true                # clicks and the wheel in the console
//!
//! [notifications]             # in the console; each defaults to true
//! bell = true                 # ring the terminal bell
//! desktop = true              # OSC 9 / OSC 777 desktop notifications
//! gate_opened = true
//! gate_warning = true         # 80% of a gate's time has passed
//! run_finished = true
//!
//! [keys]                      # rebind any action (`?` in the console lists them)
//! approve = "y"
//! quit = ["q", "ctrl-c"]
//! ```
use crate::tui::keymap::{self, Keymap};
use crate::workflow::diag::Reporter;
use crate::workflow::tree::{self, Entry, Node, Val};
use crate::workflow::{Diagnostic, Diagnostics};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// How the console shows times until `t` toggles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeDisplay {
    /// `3m ago`, `+4m12s` from the run's start.
    #[default]
    Relative,
    /// `14:03:22` (with the date for other days).
    Clock,
}

/// Which console notifications are on (`[notifications]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    pub bell: bool,
    pub desktop: bool,
    pub gate_opened: bool,
    pub gate_warning: bool,
    pub run_finished: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            bell: true,
            desktop: true,
            gate_opened: true,
            gate_warning: true,
            run_finished: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` when there is none (every default).
    pub file: Option<PathBuf>,
    pub theme: Option<String>,
    pub db: Option<PathBuf>,
    pub time: TimeDisplay,
    pub mouse: bool,
    pub notifications: Notifications,
    /// The console's bindings: the defaults with `[keys]` applied.
    pub keys: Keymap,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            theme: None,
            db: None,
            time: TimeDisplay::default(),
            mouse: true,
            notifications: Notifications::default(),
            keys: Keymap::defaults(),
        }
    }
}

/// `$XDG_CONFIG_HOME/baton/config.toml`, else `~/.config/baton/config.toml`.
pub fn default_path() -> PathBuf {
    crate::tui::theme::user_theme_dir()
        .parent()
        .map_or_else(|| PathBuf::from("config.toml"), |d| d.join("config.toml"))
}

/// The configuration at the default path; every default when there is no file.
pub fn load() -> Result<Config, Diagnostics> {
    load_from(&default_path())
}

pub fn load_from(path: &Path) -> Result<Config, Diagnostics> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        // Someone else's home (`sudo -u`, setpriv keep `$HOME`): not this account's
        // configuration. Said once, then every default.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            crate::stdio::errln!(
                "warning: cannot read {}: {e}; using the default configuration",
                path.display()
            );
            return Ok(Config::default());
        }
        Err(e) => {
            return Err(Diagnostics(vec![Diagnostic {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                message: format!("cannot read the configuration: {e}"),
                hint: Some("fix its permissions, or remove it to use every default".into()),
            }]));
        }
    };
    let text = String::from_utf8(text).map_err(|_| {
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message: "the configuration is not UTF-8 text".into(),
            hint: Some("save it as UTF-8".into()),
        }])
    })?;
    parse(path, &text)
}

const TOP: [&str; 6] = ["theme", "db", "time", "mouse", "notifications", "keys"];
const NOTIFY: [&str; 5] = [
    "bell",
    "desktop",
    "gate_opened",
    "gate_warning",
    "run_finished",
];

/// Parse a configuration file's text; every problem is reported, in source order.
pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
    let mut r = Reporter::new(path.to_path_buf(), text);
    let root = match tree::parse(text) {
        Ok(n) => n,
        Err((message, span)) => {
            r.error(&span, message, "check the TOML syntax near here");
            return Err(r.finish());
        }
    };
    let mut c = Config {
        file: Some(path.to_path_buf()),
        ..Config::default()
    };
    let mut rebinds: Vec<(String, Vec<keymap::Key>)> = Vec::new();
    let mut rebind_spans = Vec::new();
    for e in root.entries().unwrap_or_default() {
        match e.key.as_str() {
            "theme" => c.theme = string(&mut r, e),
            "db" => c.db = string(&mut r, e).map(|s| expand_home(&s)),
            "time" => match string(&mut r, e).as_deref() {
                Some("relative") => c.time = TimeDisplay::Relative,
                Some("clock") => c.time = TimeDisplay::Clock,
                Some(other) => r.error(
                    &e.node.span,
                    format!("`{other}` is not a way to show times"),
                    "write time = \"relative\" or time = \"clock\"",
                ),
                None => {}
            },
            "mouse" => c.mouse = boolean(&mut r, e).unwrap_or(true),
            "notifications" => {
                let Some(entries) = table(&mut r, e) else {
                    continue;
                };
                for n in entries {
                    let slot = match n.key.as_str() {
                        "bell" => &mut c.notifications.bell,
                        "desktop" => &mut c.notifications.desktop,
                        "gate_opened" => &mut c.notifications.gate_opened,
                        "gate_warning" => &mut c.notifications.gate_warning,
                        "run_finished" => &mut c.notifications.run_finished,
                        _ => {
                            unknown(&mut r, n, &NOTIFY, "[notifications]");
                            continue;
                        }
                    };
                    if let Some(b) = boolean(&mut r, n) {
                        *slot = b;
                    }
                }
            }
            "keys" => {
                let Some(entries) = table(&mut r, e) else {
                    continue;
                };
                for k in entries {
                    let specs: Vec<&Node> = match &k.node.val {
                        Val::Str(_) => vec![&k.node],
                        Val::Array(items) => items.iter().collect(),
                        _ => {
                            r.error(
                                &k.node.span,
                                format!("`{}` must be a key or a list of keys", k.key),
                                format!("write {0} = \"x\" or {0} = [\"x\", \"ctrl-x\"]", k.key),
                            );
                            continue;
                        }
                    };
                    let mut keys = Vec::new();
                    for s in specs {
                        match &s.val {
                            Val::Str(text) => match keymap::parse_key(text) {
                                Ok(key) => keys.push(key),
                                Err(m) => r.error(
                                    &s.span,
                                    m,
                                    "write a character (`y`, `R`), a name (`enter`, `esc`, `tab`, `space`, `pgdn`, `f5`) or a modifier and a key (`ctrl-c`, `alt-enter`, `shift-tab`)",
                                ),
                            },
                            _ => r.error(
                                &s.span,
                                format!("a key is a string, not {}", s.kind()),
                                "write the key in quotes, e.g. \"y\"",
                            ),
                        }
                    }
                    rebinds.push((k.key.clone(), keys));
                    rebind_spans.push(k.key_span.clone());
                }
            }
            _ => unknown(&mut r, e, &TOP, "the configuration"),
        }
    }
    match Keymap::with_overrides(&rebinds) {
        Ok(map) => c.keys = map,
        Err(e) => r.error(&rebind_spans[e.index], e.message, e.hint),
    }
    let diags = r.finish();
    if diags.is_empty() { Ok(c) } else { Err(diags) }
}

fn unknown(r: &mut Reporter, e: &Entry, known: &[&str], place: &str) {
    let hint = match crate::workflow::suggest(&e.key, known.iter().copied()) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!("{place} has: {}", known.join(", ")),
    };
    r.error(
        &e.key_span,
        format!("unknown key `{}` in {place}", e.key),
        hint,
    );
}

fn string(r: &mut Reporter, e: &Entry) -> Option<String> {
    match &e.node.val {
        Val::Str(s) if !s.trim().is_empty() => Some(s.clone()),
        Val::Str(_) => {
            r.error(
                &e.node.span,
                format!("`{}` is empty", e.key),
                "give a value or leave the key out for the default",
            );
            None
        }
        _ => {
            r.error(
                &e.node.span,
                format!("`{}` must be a string, not {}", e.key, e.node.kind()),
                format!("write {} = \"…\"", e.key),
            );
            None
        }
    }
}

fn boolean(r: &mut Reporter, e: &Entry) -> Option<bool> {
    match e.node.val {
        Val::Bool(b) => Some(b),
        _ => {
            r.error(
                &e.node.span,
                format!("`{}` must be true or false, not {}", e.key, e.node.kind()),
                format!("write {} = true or {} = false", e.key, e.key),
            );
            None
        }
    }
}

fn table<'a>(r: &mut Reporter, e: &'a Entry) -> Option<&'a [Entry]> {
    let t = e.node.entries();
    if t.is_none() {
        r.error(
            &e.node.span,
            format!("`{}` must be a table, not {}", e.key, e.node.kind()),
            format!("write [{}] on a line of its own, then its keys", e.key),
        );
    }
    t
}

/// `~/x` is `$HOME/x`; anything else is taken as written.
fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(s),
    }
}

static ACTIVE: OnceLock<Config> = OnceLock::new();

/// Put the configuration in force for this process (once, at start-up).
pub fn install(c: Config) {
    keymap::install(c.keys.clone());
    let _ = ACTIVE.set(c);
}

/// The configuration in force: the installed one, else every default.
pub fn get() -> &'static Config {
    ACTIVE.get_or_init(Config::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{Action, Tab};
    use crate::tui::keymap::Context;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn parse_ok(text: &str) -> Config {
        parse(Path::new("config.toml"), text).unwrap_or_else(|d| panic!("{d}"))
    }

    fn errors(text: &str) -> String {
        parse(Path::new("config.toml"), text)
            .unwrap_err()
            .to_string()
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn every_key_is_optional() {
        let c = parse_ok("");
        assert_eq!(c.time, TimeDisplay::Relative);
        assert!(c.mouse && c.notifications.bell && c.notifications.desktop);
        assert_eq!(c.theme, None);
    }

    #[test]
    fn values_are_read() {
        let c = parse_ok(
            "theme = \"light\"\ndb = \"/srv/baton.db\"\ntime = \"clock\"\nmouse = false\n\n[notifications]\nbell = false\ngate_warning = false\n",
        );
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.db, Some(PathBuf::from("/srv/baton.db")));
        assert_eq!(c.time, TimeDisplay::Clock);
        assert!(!c.mouse);
        assert!(!c.notifications.bell && !c.notifications.gate_warning);
        assert!(c.notifications.desktop && c.notifications.gate_opened);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_file_line_and_the_fix() {
        let e = errors("theme = \"light\"\ncolour = \"x\"\n[notifications]\nbel = true\n");
        assert!(
            e.contains("config.toml:2:1: error: unknown key `colour` in the configuration"),
            "{e}"
        );
        assert!(
            e.contains("config.toml:4:1: error: unknown key `bel` in [notifications]"),
            "{e}"
        );
        assert!(e.contains("did you mean `bell`?"), "{e}");
        let e = errors("time = \"wall\"\nmouse = \"yes\"\n");
        assert!(
            e.contains("config.toml:1:8: error: `wall` is not a way to show times"),
            "{e}"
        );
        assert!(
            e.contains("config.toml:2:9: error: `mouse` must be true or false"),
            "{e}"
        );
        let e = errors("theme = \n");
        assert!(e.contains("config.toml:1:"), "{e}");
    }

    #[test]
    fn a_user_binding_moves_an_action_and_takes_its_key_from_the_default() {
        let c = parse_ok("[keys]\napprove = \"y\"\nquit = [\"Q\", \"ctrl-q\"]\n");
        let k = &c.keys;
        assert_eq!(
            k.action_for(Context::Approvals, &key('y')),
            Some(Action::Approve)
        );
        // `a` no longer approves; the old key is free.
        assert_eq!(k.action_for(Context::Approvals, &key('a')), None);
        assert_eq!(
            k.action_for(
                Context::Dag,
                &KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            k.action_for(
                Context::Dag,
                &KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(k.action_for(Context::Dag, &key('q')), None);
        // The footer and the help show the bindings in force.
        let hints = k.hints(Context::Approvals, |_, _| true);
        assert!(
            hints
                .iter()
                .any(|(l, d)| *l == "y" && d.starts_with("approve")),
            "{hints:?}"
        );
        assert!(!hints.iter().any(|(l, _)| *l == "a"), "{hints:?}");
        let help = k.help_sections(|_, _| true);
        let approvals = &help.iter().find(|(t, _)| *t == "Approvals").unwrap().1;
        assert!(
            approvals
                .iter()
                .any(|(keys, d, _)| keys == "y" && d.starts_with("approve"))
        );
    }

    #[test]
    fn a_user_binding_overrides_the_default_on_that_key() {
        // `r` retries by default in the errors tab; rebinding `tab_runs` to it there
        // (tab keys are global) leaves retry on `r` in Errors: context bindings win.
        let c = parse_ok("[keys]\nretry = \"ctrl-r\"\ntab_runs = \"r\"\n");
        let k = &c.keys;
        assert_eq!(
            k.action_for(Context::Errors, &key('r')),
            Some(Action::GoTab(Tab::Runs))
        );
        assert_eq!(
            k.action_for(
                Context::Errors,
                &KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)
            ),
            Some(Action::Retry)
        );
        assert_eq!(
            k.action_for(Context::Dag, &key('5')),
            None,
            "5 is no longer the runs tab"
        );
    }

    #[test]
    fn two_user_bindings_on_one_key_in_one_context_are_an_error() {
        let e = errors("[keys]\napprove = \"y\"\nreject = \"y\"\n");
        assert!(
            e.contains(
                "config.toml:3:1: error: `y` is bound to both `approve` and `reject` in DAG"
            ),
            "{e}"
        );
        let e = errors("[keys]\napprov = \"y\"\n");
        assert!(
            e.contains("`approv` is not an action of the console"),
            "{e}"
        );
        assert!(e.contains("did you mean `approve`?"), "{e}");
        let e = errors("[keys]\napprove = \"hyper-z\"\n");
        assert!(
            e.contains("config.toml:2:11: error: `hyper-z` is not a key"),
            "{e}"
        );
        let e = errors("[keys]\napprove = []\n");
        assert!(e.contains("`approve` is given no key"), "{e}");
    }

    /// docs/configuration.md names every action `[keys]` accepts.
    #[test]
    fn every_action_is_documented() {
        let doc = include_str!("../docs/configuration.md");
        for name in keymap::action_names() {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} missing from docs/configuration.md"
            );
        }
    }

    #[test]
    fn the_default_path_follows_xdg() {
        assert!(default_path().ends_with("baton/config.toml"));
    }
}
