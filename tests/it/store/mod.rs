//! The store: migrations, projection, audit chain, the read-only CLI, history agreement.
mod audit;
mod basic;
mod cli;
mod faults;
mod history_agreement;
mod log_layout;
mod projection;
mod slots;
