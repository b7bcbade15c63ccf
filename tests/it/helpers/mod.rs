//! Helpers shared by the integration tests; a test module takes them all with
//! `use crate::helpers::*;`.
mod daemons;
mod env;
mod exec;
mod own_process;
mod store;
mod term;
mod wait;

pub(crate) use daemons::*;
pub(crate) use env::*;
pub(crate) use exec::*;
pub(crate) use own_process::*;
pub(crate) use store::*;
pub(crate) use term::*;
pub(crate) use wait::*;
