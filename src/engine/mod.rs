//! The engine: `core` decides (pure, deterministic, replayable); the driver (tokio) does
//! the I/O. Helpers here are small pure functions the core uses.
pub mod bucket;
pub mod cache;
pub mod cache_files;
pub mod core;
pub mod digest;
pub mod driver;
pub mod notify;
pub mod printer;
pub mod retry;

pub use self::core::{
    CacheRequest, Core, Effect, Input, Opening, ReplayError, RunConfig, SpawnAction, SpawnSpec,
};
