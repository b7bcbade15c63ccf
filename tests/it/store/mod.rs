//! The store: migrations, projection, audit chain, the read-only CLI, history agreement.
mod audit;
mod basic;
mod cli;
mod each_event;
mod faults;
mod fence;
mod history_agreement;
mod log_layout;
mod projection;
mod slots;
