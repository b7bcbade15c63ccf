//! The user's configuration, `$XDG_CONFIG_HOME/baton/config.toml` (else
//! `~/.config/baton/config.toml`): its values and how its text is read. Every key is
//! optional; an unknown key or a wrong value is reported like a workflow's
//! (`FILE:LINE:COL: error:`, a hint, exit 2). Command-line options and `BATON_*`
//! variables win over the file. `session::config` reads the file and puts it in force.
//!
//! ```toml
//! theme = "light"             # default | light | high-contrast | a user theme
//! db = "~/ops/baton.db"       # the store when --db / BATON_DB are not given
//! time = "clock"              # relative (default) | clock: how the console shows times
//! mouse = true                # clicks and the wheel in the console
//! color = "16"                # 8 | 16 | 256 | truecolor: what the terminal shows (detected when absent)
//! ascii = true                # ASCII glyphs and borders (the default in a non-UTF-8 locale)
//! on_quit = "ask"             # ask (default) | detach | interrupt: what leaving a console
//!                             # that drives runs does (SIGHUP detaches unless "interrupt")
//!
//! [notifications]             # in the console; each defaults to true
//! bell = true                 # ring the terminal bell
//! desktop = true              # OSC 9 / OSC 777 desktop notifications
//! gate_opened = true
//! gate_warning = true         # 80% of a gate's time has passed
//! run_finished = true
//! decision = true             # a decision someone else recorded on the run on screen
//! deadline_missed = true      # a deadline of the run on screen or of its steps passed
//!
//! [keys]                      # rebind any action (`?` in the console lists them)
//! approve = "A"
//! quit = ["q", "ctrl-c"]
//!
//! [[action]]                  # a command of your own on a key (`actions`)
//! key = "D"
//! scope = "step"
//! description = "dashboard: open the step's board"
//! command = ["open-dashboard", "--run", "{run}", "--step", "{step}"]
//!
//! [[store]]                   # a store by name (`--store NAME`, `stores`)
//! name = "gpu"
//! ssh = "gpu-box"             # on another host (or db = "PATH" for a local file)
//! ```
//!
//! This module keeps the values as written; the console turns `[keys]` into its keymap
//! (`tui::keymap::checked`, which `cli` calls at start-up) and `theme` into a theme, so
//! the configuration knows nothing of the console.
use baton_workflow::Diagnostics;
use baton_workflow::diag::Reporter;
use baton_workflow::tree::{self, Entry, Node, Val};
use std::path::{Path, PathBuf};

mod actions;
mod stores;
pub use actions::{
    Arg, ArgError, ArgErrorKind, DEFAULT_TIMEOUT, Output as ActionOutput, Piece, Placeholder,
    Scope, UserAction, Values,
};
pub use stores::{
    Place as StorePlace, Remote as RemoteStore, StoreEntry, UnknownStore, valid_host,
    valid_name as valid_store_name,
};

/// How the console shows times until `t` toggles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeDisplay {
    /// `3m ago`, `+4m12s` from the run's start.
    #[default]
    Relative,
    /// `14:03:22` (with the date for other days).
    Clock,
}

/// How many colours the terminal shows (`color`), when detection gets it wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colors {
    Eight,
    Sixteen,
    Ansi256,
    TrueColor,
}

/// What leaving a console that drives runs does to them (`on_quit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnQuit {
    /// `q` asks (detach, interrupt or stay); a lost terminal (SIGHUP) detaches.
    #[default]
    Ask,
    /// `q` and SIGHUP hand each run to a background engine without asking.
    Detach,
    /// `q` asks; SIGHUP interrupts the runs (`baton resume` continues them).
    Interrupt,
}

/// Which console notifications are on (`[notifications]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    pub bell: bool,
    pub desktop: bool,
    pub gate_opened: bool,
    pub gate_warning: bool,
    pub run_finished: bool,
    /// A decision on the run on screen that this console did not make.
    pub decision: bool,
    /// A deadline of the run on screen, or of one of its steps, was missed.
    pub deadline_missed: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            bell: true,
            desktop: true,
            gate_opened: true,
            gate_warning: true,
            run_finished: true,
            decision: true,
            deadline_missed: true,
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
    /// `color`: `None` detects it from the terminal.
    pub color: Option<Colors>,
    /// `ascii = true`: ASCII glyphs and borders whatever the locale.
    pub ascii: bool,
    /// What leaving a console that drives runs does to them.
    pub on_quit: OnQuit,
    pub notifications: Notifications,
    /// `[keys]` as written, in file order; the console applies them to its defaults.
    pub keys: Vec<KeyEntry>,
    /// `[[action]]`: the operators' own commands on a key, in file order.
    pub actions: Vec<UserAction>,
    /// `[[store]]`: the stores reached by name (`--store NAME`), in file order.
    pub stores: Vec<StoreEntry>,
}

/// Where something is in the file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub line: usize,
    pub col: usize,
}

/// One `[keys]` entry: the action named and the keys given (strings, each where it is
/// written; what is not a string was reported already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub action: String,
    pub at: At,
    pub keys: Vec<(String, At)>,
}

/// A configuration as read, with every problem found in it (in source order); the
/// caller adds the console's own checks before deciding (see `cli`).
#[derive(Debug, Clone)]
pub struct Read {
    pub config: Config,
    pub problems: Diagnostics,
}

impl Read {
    fn into_result(self) -> Result<Config, Diagnostics> {
        if self.problems.is_empty() {
            Ok(self.config)
        } else {
            Err(self.problems)
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            theme: None,
            db: None,
            time: TimeDisplay::default(),
            mouse: true,
            color: None,
            ascii: false,
            on_quit: OnQuit::default(),
            notifications: Notifications::default(),
            keys: Vec::new(),
            actions: Vec::new(),
            stores: Vec::new(),
        }
    }
}

/// `$XDG_CONFIG_HOME/baton`, else `~/.config/baton`: the configuration and user themes.
pub fn dir() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    base.join("baton")
}

/// `$XDG_CONFIG_HOME/baton/config.toml`, else `~/.config/baton/config.toml`.
pub fn default_path() -> PathBuf {
    dir().join("config.toml")
}

const TOP: [&str; 11] = [
    "theme",
    "db",
    "time",
    "mouse",
    "color",
    "ascii",
    "on_quit",
    "notifications",
    "keys",
    "action",
    "store",
];
const NOTIFY: [&str; 7] = [
    "bell",
    "desktop",
    "gate_opened",
    "gate_warning",
    "run_finished",
    "decision",
    "deadline_missed",
];

/// Parse a configuration file's text; every problem is reported, in source order.
pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
    read_str(path, text).into_result()
}

/// Like [`parse`], keeping what was read beside the problems.
pub fn read_str(path: &Path, text: &str) -> Read {
    let mut r = Reporter::new(path.to_path_buf(), text);
    let root = match tree::parse(text) {
        Ok(n) => n,
        Err((message, span)) => {
            r.error(&span, message, "check the TOML syntax near here");
            return Read {
                config: Config::default(),
                problems: r.finish(),
            };
        }
    };
    let mut c = Config {
        file: Some(path.to_path_buf()),
        ..Config::default()
    };
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
            "color" => match string(&mut r, e).as_deref() {
                Some("8") => c.color = Some(Colors::Eight),
                Some("16") => c.color = Some(Colors::Sixteen),
                Some("256") => c.color = Some(Colors::Ansi256),
                Some("truecolor") => c.color = Some(Colors::TrueColor),
                Some(other) => r.error(
                    &e.node.span,
                    format!("`{other}` is not a number of colours"),
                    "write color = \"8\", \"16\", \"256\" or \"truecolor\"",
                ),
                None => {}
            },
            "ascii" => c.ascii = boolean(&mut r, e).unwrap_or(false),
            "on_quit" => match string(&mut r, e).as_deref() {
                Some("ask") => c.on_quit = OnQuit::Ask,
                Some("detach") => c.on_quit = OnQuit::Detach,
                Some("interrupt") => c.on_quit = OnQuit::Interrupt,
                Some(other) => r.error(
                    &e.node.span,
                    format!("`{other}` is not a way to leave a console"),
                    "write on_quit = \"ask\", \"detach\" or \"interrupt\"",
                ),
                None => {}
            },
            "notifications" => {
                if let Some(entries) = table(&mut r, e) {
                    notifications(&mut r, entries, &mut c.notifications);
                }
            }
            "keys" => {
                if let Some(entries) = table(&mut r, e) {
                    key_entries(&mut r, entries, &mut c.keys);
                }
            }
            "action" => actions::parse(&mut r, e, &mut c.actions),
            "store" => stores::parse(&mut r, e, &mut c.stores),
            _ => unknown(&mut r, e, &TOP, "the configuration"),
        }
    }
    Read {
        config: c,
        problems: r.finish(),
    }
}

/// `[notifications]`: each switch a boolean; an unknown one is reported.
fn notifications(r: &mut Reporter, entries: &[Entry], into: &mut Notifications) {
    for n in entries {
        let slot = match n.key.as_str() {
            "bell" => &mut into.bell,
            "desktop" => &mut into.desktop,
            "gate_opened" => &mut into.gate_opened,
            "gate_warning" => &mut into.gate_warning,
            "run_finished" => &mut into.run_finished,
            "decision" => &mut into.decision,
            "deadline_missed" => &mut into.deadline_missed,
            _ => {
                unknown(r, n, &NOTIFY, "[notifications]");
                continue;
            }
        };
        if let Some(b) = boolean(r, n) {
            *slot = b;
        }
    }
}

/// `[keys]`: each action's key or keys, with where each is written.
fn key_entries(r: &mut Reporter, entries: &[Entry], into: &mut Vec<KeyEntry>) {
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
                Val::Str(text) => keys.push((text.to_string(), at(r, &s.span))),
                _ => r.error(
                    &s.span,
                    format!("a key is a string, not {}", s.kind()),
                    "write the key in quotes, e.g. \"y\"",
                ),
            }
        }
        into.push(KeyEntry {
            action: k.key.to_string(),
            at: at(r, &k.key_span),
            keys,
        });
    }
}

fn at(r: &Reporter, span: &std::ops::Range<usize>) -> At {
    let (line, col) = r.map.line_col(span.start);
    At { line, col }
}

fn unknown(r: &mut Reporter, e: &Entry, known: &[&str], place: &str) {
    let hint = match baton_workflow::suggest(&e.key, known.iter().copied()) {
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
        Val::Str(s) if !s.trim().is_empty() => Some(s.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Config {
        parse(Path::new("config.toml"), text).unwrap_or_else(|d| panic!("{d}"))
    }

    fn errors(text: &str) -> String {
        parse(Path::new("config.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_key_is_optional() {
        let c = parse_ok("");
        assert_eq!(c.time, TimeDisplay::Relative);
        assert!(c.mouse && c.notifications.bell && c.notifications.desktop);
        assert_eq!(c.theme, None);
    }

    #[test]
    fn on_quit_is_read_and_checked() {
        assert_eq!(parse_ok("").on_quit, OnQuit::Ask);
        assert_eq!(parse_ok("on_quit = \"detach\"\n").on_quit, OnQuit::Detach);
        assert_eq!(
            parse_ok("on_quit = \"interrupt\"\n").on_quit,
            OnQuit::Interrupt
        );
        let e = errors("on_quit = \"leave\"\n");
        assert!(e.contains("`leave` is not a way to leave a console"), "{e}");
        assert!(e.contains("on_quit = \"ask\""), "{e}");
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
    fn colours_and_ascii_are_read_and_a_bad_count_is_named() {
        let c = parse_ok("color = \"16\"\nascii = true\n");
        assert_eq!(c.color, Some(Colors::Sixteen));
        assert!(c.ascii);
        assert_eq!(parse_ok("").color, None);
        for (v, want) in [
            ("8", Colors::Eight),
            ("256", Colors::Ansi256),
            ("truecolor", Colors::TrueColor),
        ] {
            assert_eq!(parse_ok(&format!("color = \"{v}\"")).color, Some(want));
        }
        let e = errors("color = \"24\"\n");
        assert!(
            e.contains("config.toml:1:9") && e.contains("`24` is not a number of colours"),
            "{e}"
        );
        assert!(e.contains("\"truecolor\""), "{e}");
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
    fn the_default_path_follows_xdg() {
        assert!(default_path().ends_with("baton/config.toml"));
    }
}
