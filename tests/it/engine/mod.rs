//! The engine through the real binary: cache, crashes, leases, signals, write-ahead commits.
mod big_values;
mod budget;
mod budget_gate;
mod cache;
mod conditions;
mod crash;
mod fallback;
mod fanout;
mod fork;
mod hold;
mod hold_untraced;
mod lease;
mod live_usage;
mod mark_outputs;
mod signals;
mod store_path;
mod write_ahead;
