//! Metrics for Prometheus: the store's figures (`Store::metrics`, plain data in
//! `model::metrics`) rendered as text (`exposition`, pure), printed by `baton metrics`,
//! kept in a file for node_exporter's textfile collector or served at `/metrics`
//! while a run is driven (`export`).
pub mod export;
pub mod exposition;
mod hosts;
mod peers;

pub use exposition::{Format, render};
