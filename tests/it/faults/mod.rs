//! Faults (issue 16): commands, bounded inputs, load, processes that are ours, the store.
mod commands;
mod inputs;
mod load;
mod processes;
mod store;
