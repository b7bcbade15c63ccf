//! `baton tui`: the console over every run in the store, live and past, served by the
//! session's console service: runs driven elsewhere are followed through the store, and
//! acting on a run no engine drives makes this console its engine.
use super::db::DbOpt;
use super::drive::{self, load_console};
use super::exit;
use super::run::operator_name;
use crate::console::{Tab, UiState};
use crate::console::{TermEnv, Unusable};
use crate::session::Service;
use crate::session::{self};
use clap::Args;
use std::io::IsTerminal;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton tui            # pick a run with 5, open it with Enter; R resumes an interrupted run"
)]
pub struct TuiArgs {
    /// The database file [default: `db` in config.toml, else $XDG_STATE_HOME/baton/baton.db or ~/.local/state/baton/baton.db]
    #[arg(long, value_name = "PATH", env = "BATON_DB")]
    pub db: Option<std::path::PathBuf>,
    /// A `[[store]]` of config.toml by its name, instead of --db; given again, one
    /// console over each store named (a store on another host through ssh)
    #[arg(long, value_name = "NAME")]
    pub store: Vec<String>,
    /// One console over every `[[store]]` of config.toml
    #[arg(long, conflicts_with = "store")]
    pub all_stores: bool,
    /// Console colour theme: default, light, high-contrast, or a user theme.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Refused: who decides is the operating-system account running baton.
    #[arg(long, hide = true)]
    pub operator: Option<String>,
    /// Look only: open the store read-only; approve, reject, retry, cancel, resume and
    /// the config's dangerous [[action]]s are neither offered nor done.
    #[arg(long)]
    pub readonly: bool,
}

/// The console's configuration (its theme) and the runtime it runs on, for a local
/// store and a remote one alike; the exit code to end with when either fails.
pub(super) fn console_and_runtime(
    theme: Option<&str>,
) -> Result<(crate::console::ConsoleConfig, tokio::runtime::Runtime), i32> {
    let config = load_console(theme).map_err(|e| {
        crate::stdio::errln!("error: {e}");
        exit::USAGE
    })?;
    let rt = session::runtime().map_err(|e| session::report(&e))?;
    Ok((config, rt))
}

impl TuiArgs {
    /// Whether this console is over several stores (`console_desk`).
    pub fn is_desk(&self) -> bool {
        self.all_stores || self.store.len() > 1
    }

    /// The one store's `--db`/`--store`, as the other commands take them.
    fn db_opt(&self) -> DbOpt {
        DbOpt {
            db: self.db.clone(),
            store: self.store.first().cloned(),
        }
    }
}

pub fn exec(a: TuiArgs) -> i32 {
    if !std::io::stdout().is_terminal() {
        crate::stdio::errln!(
            "error: baton tui needs a terminal (use `baton runs` / `baton show` in scripts)"
        );
        return exit::USAGE;
    }
    if let Err(why) = TermEnv::read().usable() {
        crate::stdio::errln!("error: baton tui cannot open here: {why}");
        crate::stdio::errln!("  {}", Unusable::INSTEAD);
        return exit::USAGE;
    }
    if a.is_desk() {
        return super::console_desk::exec(&a);
    }
    let db_opt = a.db_opt();
    if let Some(name) = &db_opt.store
        && let Ok(store) = crate::config::get().store(name)
        && let crate::config::StorePlace::Ssh(r) = &store.place
    {
        return super::console_remote::exec(&a, name, r);
    }
    let (config, rt) = match console_and_runtime(a.theme.as_deref()) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let operator = match operator_name(a.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    // A store this account may not write is looked at, never acted on: the console
    // opens it read-only (and says so in its header) rather than failing.
    let db = db_opt.path();
    let readonly = a.readonly || !may_write(&db);
    let result = rt.block_on(async {
        let (mut service, link) = if readonly {
            Service::read_only(&db_opt.path(), &operator)?
        } else {
            Service::new(&db_opt.path(), &operator, Vec::new())?
        };
        service.open_opening_run();
        let mut ui = UiState::new(operator.clone());
        ui.readonly = readonly;
        ui.db = drive::db_value(&db);
        // What waits on someone comes first; else the store's runs.
        ui.tab = if link.waiting.borrow().is_empty() {
            Tab::Runs
        } else {
            Tab::Waiting
        };
        Ok::<_, session::SessionError>(drive::console(service, link, config, ui).await)
    });
    match result {
        Ok(Ok((signal, outcomes))) => {
            super::drive::print_ended(&db_opt.path(), outcomes);
            signal.unwrap_or(exit::OK)
        }
        Ok(Err(e)) => {
            crate::stdio::errln!("error: {e}");
            exit::FAILED
        }
        Err(e) => session::report(&e),
    }
}

/// Whether this account may write the store: a file that exists and opens for writing
/// (nothing is written), or none yet (it is created).
fn may_write(db: &std::path::Path) -> bool {
    !db.exists() || std::fs::OpenOptions::new().write(true).open(db).is_ok()
}
