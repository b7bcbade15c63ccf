//! Helpers shared by the integration tests.
pub mod common;
pub mod exec_support;
pub mod support;
