//! The console: pure rendering of a `RunView` (`views`), the UI state and
//! its pure `update` (`app`), one keymap for keys, footer and help (`keymap`), themes,
//! the settings it is drawn and driven with (`console_config`),
//! the DAG layout, bells, notifications and the clipboard (`signal`), what the terminal
//! can show (`term`: colours, ASCII, whether a console fits it at all), and the tokio
//! event loop that ties them to a terminal (`event_loop`).
mod action_run;
mod app;
mod console_config;
mod editor;
mod event_loop;
// Fixed views for tests, benches and screenshots: not part of the shipped library.
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod keymap;
mod layout;
mod logfile;
mod logmerge;
mod output;
mod signal;
mod term;
mod theme;
mod timeline;
mod views;

pub use app::{
    Action, ActionEnded, ActionFinished, ActionPrepared, ConsoleExit, Dialog, ForkPreview, Hit,
    Request, Tab, UiState, offered, shown_steps, update,
};
pub use console_config::ConsoleConfig;
pub use editor::read_back;
pub use event_loop::{ConsoleLink, ConsoleRequest, TuiError, run_console_with};
pub use keymap::checked as checked_config;
pub use layout::layout;
pub use logfile::{LogFile, LogReaders};
pub use term::{Caps, ColorDepth, TermEnv, Unusable};
pub use theme::{Theme, ThemeError};
pub use views::common::count;
pub use views::log::text_rows;
pub use views::render;
// One part of the screen, for the snapshot tests.
#[cfg(any(test, feature = "fixtures"))]
pub use views::{Part, render_part};
