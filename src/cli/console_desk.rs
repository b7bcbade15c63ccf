//! `baton tui --store A --store B …` and `baton tui --all-stores` (issue 59 point 3):
//! one console over several `[[store]]`s, local and remote alike. Each store is
//! reached through its own `baton link` (`ssh HOST baton link` for one on another host,
//! this baton's `baton link --db PATH` for one here), and the links are joined into one
//! (`session::desk`): every store's runs and gates, each row naming its store; a
//! request goes to its run's store, where that store's baton decides as the account
//! it runs as. A store that does not answer is shown with why and hides no other.
use super::console::TuiArgs;
use super::exit;
use crate::config::{self, StorePlace};
use crate::session::link_client::{self, Reach};
use crate::session::{self, desk};

/// Each store named, with where it is; a name not configured is a usage error.
fn stores(a: &TuiArgs) -> Result<Vec<(String, Reach)>, i32> {
    let cfg = config::get();
    let names: Vec<String> = if a.all_stores {
        cfg.stores.iter().map(|s| s.name.clone()).collect()
    } else {
        a.store.clone()
    };
    if names.is_empty() {
        crate::stdio::errln!(
            "error: --all-stores opens a console over the [[store]]s of config.toml, and it has none; add one per store (docs/configuration.md, \"Stores\")"
        );
        return Err(exit::USAGE);
    }
    let mut out: Vec<(String, Reach)> = Vec::new();
    for name in names {
        if out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let entry = cfg.store(&name).map_err(|e| {
            crate::stdio::errln!("error: --store {name}: {e}");
            exit::USAGE
        })?;
        let reach = match &entry.place {
            StorePlace::Local(p) => Reach::Local(p.clone()),
            StorePlace::Ssh(r) => Reach::Ssh(r.clone()),
        };
        out.push((name, reach));
    }
    Ok(out)
}

pub(super) fn exec(a: &TuiArgs) -> i32 {
    let named = match stores(a) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (config, rt) = match super::console::console_and_runtime(a.theme.as_deref()) {
        Ok(both) => both,
        Err(code) => return code,
    };
    // Who this console is, as shown; each store's baton decides as its own account.
    let operator = match session::os_account() {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    rt.block_on(async {
        let baton = env!("CARGO_PKG_VERSION");
        let links = named
            .into_iter()
            .map(|(name, reach)| link_client::open(&name, reach, baton, a.readonly))
            .collect();
        let link = desk::join(links);
        super::console_remote::console_over(link, config, (operator, a.readonly)).await
    })
}
