//! A cached step's stored result, as the store keeps it and the core's cache decision
//! reads it (`baton_core::cache::decide`): a type of the vocabulary, so the pure decision
//! does not depend on the store.
use crate::Timestamp;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A stored result: what a run's successful attempt left for later runs.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    pub key: String,
    pub workflow: String,
    pub step: String,
    pub run_id: String,
    pub outputs: BTreeMap<String, String>,
    /// Each product (relative to the step's directory) and the SHA-256 of its content.
    pub products: Vec<(PathBuf, String)>,
    pub created: Timestamp,
}
