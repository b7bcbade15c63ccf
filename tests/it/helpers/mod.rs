//! Helpers shared by the integration tests; a test module takes them all with
//! `use crate::helpers::*;`.
mod daemons;
mod env;
mod exec;
mod store;
mod term;
mod wait;

pub use daemons::*;
pub use env::*;
pub use exec::*;
pub use store::*;
pub use term::*;
pub use wait::*;
