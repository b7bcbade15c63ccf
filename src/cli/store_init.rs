//! `baton store init`: make a store, private (0700/0600) or shared by a group.
use super::db::{DbOpt, fail};
use super::exit;
use crate::store::Store;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton store init                                   # a private store at the default path\n  baton store init --db /srv/baton/baton.db --group deployers"
)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCmd,
}

#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Make a new store: private to you, or with --group shared by that group's members
    /// (directory 2770 setgid, files 0660; each decision is still made as its account)
    #[command(
        after_help = "Example:\n  sudo groupadd deployers && sudo usermod -aG deployers alice\n  baton store init --db /srv/baton/baton.db --group deployers"
    )]
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub db: DbOpt,
    /// Share the store with the members of this group (recorded in the store: group
    /// write is accepted for this group only).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
}

pub fn run(a: StoreArgs) -> i32 {
    let StoreCmd::Init(a) = a.command;
    let path = a.db.path();
    let made = match a.group.as_deref() {
        Some(g) => Store::init_group(&path, g),
        None if path.exists() => {
            crate::stdio::errln!("error: {} already exists", path.display());
            return exit::USAGE;
        }
        None => Store::open(&path),
    };
    match made.and_then(|mut store| record_made(&mut store).map(|()| store)) {
        Ok(store) => {
            match store.group() {
                Some(g) => crate::stdio::outln!(
                    "made {} shared by group {g} (directory 2770, files 0660)",
                    path.display()
                ),
                None => crate::stdio::outln!("made {} (private: 0700/0600)", path.display()),
            }
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// The store's making, on its audit chain as the OS account's decision (`baton audit`
/// lists it; `audit verify` covers it as every row).
fn record_made(store: &mut Store) -> Result<(), crate::store::StoreError> {
    use crate::model::history::{AuditAction, Decision};
    let group = store.group();
    // An account without a name is still recorded, by its uid.
    let actor =
        crate::session::os_account().unwrap_or_else(|_| format!("uid {}", nix::unistd::getuid()));
    store.record_store_decision(&Decision {
        actor,
        action: AuditAction::StoreInitialized,
        step: None,
        reason: None,
        summary: match &group {
            Some(g) => format!("made the store, shared by group {g}"),
            None => "made the store, private".to_string(),
        },
        details: serde_json::json!({ "group": group }),
    })
}
