//! `baton link`: the console's link over this host's store, on stdin and stdout
//! (docs/link-protocol.md). Not typed by people: a console on another machine runs it
//! through `ssh HOST baton link` for `baton tui --store NAME`.
use super::db::DbOpt;
use super::exit;
use crate::session;
use clap::Args;

#[derive(Debug, Args)]
pub struct LinkArgs {
    #[command(flatten)]
    pub db: DbOpt,
    /// Look only: the store opened read-only, every command refused
    #[arg(long)]
    pub readonly: bool,
}

pub fn exec(a: &LinkArgs) -> i32 {
    let operator = match session::os_account() {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let rt = match session::runtime() {
        Ok(rt) => rt,
        Err(e) => return session::report(&e),
    };
    let db = a.db.path();
    let served = rt.block_on(session::link_server::serve_link(
        (&db, a.readonly),
        &operator,
        env!("CARGO_PKG_VERSION"),
        tokio::io::stdin(),
        tokio::io::stdout(),
    ));
    match served {
        Ok(()) => exit::OK,
        Err(e) => session::report(&e),
    }
}
