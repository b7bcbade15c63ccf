//! What the console is drawn and driven with: one value the shell builds at start-up
//! from the configuration and passes down, so rendering and the event loop read no
//! global.
use super::keymap::{self, Keymap};
use super::term::Caps;
use super::theme::Theme;
use baton_link::config::{Config, Notifications, OnQuit, TimeDisplay};
use baton_workflow::Diagnostics;

#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub theme: Theme,
    /// The bindings in force: the defaults with the config's `[keys]` applied.
    pub keys: Keymap,
    /// How times show until `t` toggles them.
    pub time: TimeDisplay,
    /// Clicks and the wheel.
    pub mouse: bool,
    pub notifications: Notifications,
    /// What leaving with runs driven here does to them (`q`, SIGHUP).
    pub on_quit: OnQuit,
    /// What the terminal shows: its colours, and whether only ASCII.
    pub caps: Caps,
    /// The `[[action]]`s, in file order (`keys` binds each as `Action::User(index)`).
    pub actions: std::sync::Arc<Vec<baton_link::config::UserAction>>,
}

impl ConsoleConfig {
    /// `theme` with every other setting at its default (tests, benchmarks).
    pub fn with_theme(theme: Theme) -> ConsoleConfig {
        ConsoleConfig::of(&Config::default(), theme, Keymap::defaults())
    }

    /// The configuration's settings for the console, with `theme`; or what is wrong with
    /// its `[keys]`, each at its place in the file.
    pub fn from_config(c: &Config, theme: Theme) -> Result<ConsoleConfig, Diagnostics> {
        Ok(ConsoleConfig::of(c, theme, keymap::from_config(c)?))
    }

    /// The same settings for a terminal with `caps`.
    pub fn on(self, caps: Caps) -> ConsoleConfig {
        ConsoleConfig { caps, ..self }
    }

    fn of(c: &Config, theme: Theme, keys: Keymap) -> ConsoleConfig {
        ConsoleConfig {
            theme,
            keys,
            time: c.time,
            mouse: c.mouse,
            notifications: c.notifications,
            on_quit: c.on_quit,
            caps: Caps::default(),
            actions: std::sync::Arc::new(c.actions.clone()),
        }
    }
}
