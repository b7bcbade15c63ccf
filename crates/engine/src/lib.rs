//! The engine: the driver (tokio) does the I/O around one `baton_core::Core`, which
//! decides (pure, deterministic, replayable). The core and its small pure helpers are
//! re-exported here under the paths the driver and the front ends use.
pub mod cache_files;
pub mod driver;
pub mod notify;
pub mod printer;

pub use baton_core as core;
pub use baton_core::{
    CacheRequest, Core, Effect, Input, Opening, ReplayError, RunConfig, SpawnAction, SpawnSpec,
};
pub use baton_core::{bucket, cache, digest, retry};
