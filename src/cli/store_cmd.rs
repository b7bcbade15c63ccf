//! `baton store init --group NAME`: a store several operators on one machine share
//! through a group, each deciding as their own account.
use super::db::{DbOpt, fail};
use super::exit;
use crate::store::Store;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCmd,
}

#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Make the store a group store: its directory setgid and group-writable (2770), its
    /// files 0660, of group NAME, which the store records. baton then accepts group write
    /// for that group only, and still refuses world-writable files.
    #[command(
        after_help = "Example:\n  sudo groupadd releasers && sudo usermod -aG releasers alice\n  baton store init --db /srv/baton/baton.db --group releasers"
    )]
    Init {
        #[command(flatten)]
        db: DbOpt,
        /// The group whose members share the store.
        #[arg(long, value_name = "NAME")]
        group: String,
    },
}

pub fn run(a: StoreArgs) -> i32 {
    match a.command {
        StoreCmd::Init { db, group } => {
            let path = db.path();
            match Store::init_group(&path, &group) {
                Ok(_) => {
                    crate::stdio::outln!(
                        "{} is a group store of `{group}`: its members share it, each deciding as their own account",
                        path.display()
                    );
                    exit::OK
                }
                Err(e) => fail(&e),
            }
        }
    }
}
