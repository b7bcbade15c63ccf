//! The console: pure rendering of a `RunView` (`views`), the UI state and
//! its pure `update` (`app`), one keymap for keys, footer and help (`keymap`), themes,
//! the settings it is drawn and driven with (`console_config`),
//! the DAG layout, bells, notifications and the clipboard (`signal`), what the terminal
//! can show (`term`: colours, ASCII, whether a console fits it at all), and the tokio
//! event loop that ties them to a terminal (`event_loop`).
pub mod app;
pub mod console_config;
pub mod editor;
pub mod event_loop;
pub mod fixtures;
pub mod keymap;
pub mod layout;
pub mod logfile;
pub mod output;
pub mod signal;
pub mod term;
pub mod theme;
pub mod timeline;
pub mod views;

pub use app::{Action, ConsoleExit, Request, Tab, UiState, update};
pub use console_config::ConsoleConfig;
pub use event_loop::{ConsoleLink, ConsoleRequest, TuiError, run_console_with};
pub use theme::{Theme, ThemeError};
pub use views::render;
