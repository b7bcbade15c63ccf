//! The store: migrations, projection, audit chain, the read-only CLI, history agreement.
mod audit;
mod basic;
mod cli;
mod each_event;
mod faults;
mod history_agreement;
mod projection;
mod slots;
