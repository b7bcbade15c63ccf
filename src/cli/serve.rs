//! `baton serve --workflows DIR`: start each workflow of DIR at its schedules' slots and
//! drive the runs here, until SIGTERM or SIGINT.
use super::db::DbOpt;
use crate::metrics::export::Exports;
use crate::session::{self, Readiness, ServeOptions, SessionError};
use crate::store::Store;
use clap::Args;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Args)]
#[command(
    after_help = "Each `[[schedule]]` of each *.toml in DIR fires at its slots; a file added, changed or removed takes effect within 2 s. SIGTERM stops firing and leaves unfinished runs interrupted; the next serve resumes them.\n\nExamples:\n  baton serve --workflows /etc/baton/workflows --listen 127.0.0.1:9464\n  baton schedules                      # what is served, next slots, last runs"
)]
pub struct ServeArgs {
    /// The directory of workflow files (`*.toml`) to serve.
    #[arg(long, value_name = "DIR")]
    pub workflows: PathBuf,
    #[command(flatten)]
    pub db: DbOpt,
    /// Serve /metrics, /healthz and /ready at ADDR (`PORT` alone is 127.0.0.1:PORT).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve the approval page at /approve on --listen, as the browser reaches it at
    /// URL (`https://HOST` behind a TLS proxy, or `http://localhost:PORT`): a gate
    /// with `signed = true` is decided there by an approver's passkey.
    #[arg(long, value_name = "URL", requires = "listen")]
    pub approval_origin: Option<String>,
}

pub fn exec(args: ServeArgs) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(e) => session::report(&e),
    }
}

fn run(args: ServeArgs) -> Result<i32, SessionError> {
    let operator = session::os_account()?;
    if !args.workflows.is_dir() {
        return Err(SessionError::Usage(format!(
            "--workflows {}: not a directory; give the directory that holds the workflow files",
            args.workflows.display()
        )));
    }
    let db = args.db.path();
    // One serve per store: refused before anything is bound or loaded.
    let mut store = Store::open(&db)?;
    session::take_serve_lease(&mut store)?;
    drop(store);
    let page = match args.approval_origin.as_deref() {
        Some(origin) => Some(std::sync::Arc::new(
            crate::approval_page::Page::new(origin)
                .map_err(|e| SessionError::Usage(e.to_string()))?,
        )),
        None => None,
    };
    let mut exports = Exports::open(None, args.listen.as_deref())
        .map_err(|e| SessionError::Usage(e.to_string()))?;
    if let Some(page) = page {
        crate::stdio::errln!("approvals: serving {}/approve", page.origin());
        crate::engine::set_page_origin(page.origin());
        exports.page = Some(page);
    }
    // Webhook deliveries (`POST /hooks/…`) on the listener, handed to the serve's loop.
    let (desk, inbox) = session::hook_desk(&db);
    let hooks = exports.listener.is_some().then(|| {
        exports.hooks = Some(desk);
        inbox
    });
    let rt = session::serve_runtime()?;
    let ready: Readiness = Arc::new(Mutex::new(Some("loading the workflows".into())));
    let running = exports.start_with(&rt, &db, ready.clone());
    let code = rt.block_on(session::serve(ServeOptions {
        dir: args.workflows,
        db,
        operator,
        ready,
        hooks,
    }));
    running.finish();
    code
}
