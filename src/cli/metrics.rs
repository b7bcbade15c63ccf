//! `baton metrics [RUN]`: the store's metrics in the Prometheus text format.
use super::db::{DbOpt, fail};
use super::exit;
use crate::metrics::{Format, render};
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton metrics | promtool check metrics\n  baton metrics 01J9Z3\n  baton metrics --openmetrics\n\nWhile a run is driven, `baton run --metrics-file PATH` keeps this text in a file \
                  (node_exporter's textfile collector) and `--metrics-listen 127.0.0.1:PORT` serves it at /metrics."
)]
pub struct MetricsArgs {
    /// Only this run (its id, or a unique prefix); default every run in the store
    pub run: Option<String>,
    /// OpenMetrics 1.0 text instead of the Prometheus text format 0.0.4
    #[arg(long)]
    pub openmetrics: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: MetricsArgs) -> i32 {
    let metrics = args.db.open().and_then(|s| {
        let run = args.run.as_deref().map(|r| s.resolve_run(r)).transpose()?;
        let mut m = s.metrics(run.as_deref())?;
        crate::session::add_budgets(&s, &mut m, crate::model::Timestamp::now());
        Ok(m)
    });
    let metrics = match metrics {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    let format = if args.openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    crate::stdio::out!("{}", render(&metrics, format));
    exit::OK
}
