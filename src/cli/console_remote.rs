//! `baton tui --store NAME` on a store on another host (issue 59): the console over
//! `ssh HOST baton link` (`session::link_client`), the same console as over a local
//! store. Every decision is made there, by the remote baton, as the account ssh logs in
//! as; the link comes back by itself after a drop.
use super::console::TuiArgs;
use super::exit;
use crate::config::RemoteStore;
use crate::console::{Tab, UiState};
use crate::session::{self, link_client};
use std::time::Duration;

/// How long the first frames may take before the console opens anyway.
const FIRST_FRAMES: Duration = Duration::from_secs(2);

pub(super) fn exec(a: &TuiArgs, name: &str, r: &RemoteStore) -> i32 {
    let (config, rt) = match super::console::console_and_runtime(a.theme.as_deref()) {
        Ok(both) => both,
        Err(code) => return code,
    };
    // Who this console is, as shown; the remote baton decides as its own account.
    let operator = match session::os_account() {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    rt.block_on(async {
        let link = match link_client::connect(name, r, env!("CARGO_PKG_VERSION"), a.readonly).await
        {
            Ok(l) => l,
            Err(why) => {
                crate::stdio::errln!("error: store `{name}` cannot be opened: {why}");
                return exit::STORAGE;
            }
        };
        console_over(link, config, (operator, a.readonly)).await
    })
}

/// The console over `link` (one store's or a desk's) until it ends or a signal stops
/// it: its first tab Waiting when something waits once the first frames came (they
/// follow each hello at once; [`FIRST_FRAMES`] at most), else Runs.
pub(super) async fn console_over(
    link: crate::link::ConsoleLink,
    config: crate::console::ConsoleConfig,
    (operator, readonly): (String, bool),
) -> i32 {
    let mut waiting = link.waiting.clone();
    let _ = tokio::time::timeout(FIRST_FRAMES, waiting.changed()).await;
    let mut ui = UiState::new(operator);
    ui.readonly = readonly;
    ui.tab = if link.waiting.borrow().is_empty() {
        Tab::Runs
    } else {
        Tab::Waiting
    };
    let mut signals = match crate::exec::ShutdownSignals::install() {
        Ok(s) => s,
        Err(e) => {
            crate::stdio::errln!("error: {e}");
            return exit::FAILED;
        }
    };
    tokio::select! {
        sig = signals.recv() => sig.exit_code(),
        r = crate::console::run_console_with(link, config, ui) => match r {
            Ok(_) => exit::OK,
            Err(e) => {
                crate::stdio::errln!("error: {e}");
                exit::FAILED
            }
        },
    }
}
