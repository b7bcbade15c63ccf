//! The `--db PATH` option shared by every command that touches the store, and the
//! mapping of store errors to exit codes (usage 2, storage 3).
use super::exit;
use crate::store::{Store, StoreError};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct DbOpt {
    /// The database file [default: `db` in config.toml, else $XDG_STATE_HOME/baton/baton.db or ~/.local/state/baton/baton.db]
    #[arg(long, value_name = "PATH", env = "BATON_DB")]
    pub db: Option<PathBuf>,
    /// A `[[store]]` of config.toml by its name, instead of --db; a store on another host runs the command there, over ssh
    #[arg(long, value_name = "NAME")]
    pub store: Option<String>,
}

impl DbOpt {
    pub fn path(&self) -> PathBuf {
        crate::session::db_path(self.db.as_deref())
    }

    /// The store, which must exist: reading commands never create one.
    pub fn open(&self) -> Result<Store, StoreError> {
        Store::open_existing(&self.path())
    }
}

/// Print a store error and return the exit code it stands for.
pub fn fail(e: &StoreError) -> i32 {
    crate::stdio::errln!("error: {e}");
    if e.is_usage() {
        exit::USAGE
    } else {
        exit::STORAGE
    }
}
