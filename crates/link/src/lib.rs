//! The console's link to the session, as data: the requests the console sends
//! ([`ConsoleRequest`]), the frames and data it is sent ([`ConsoleLink`]: the shown run's
//! view, the run list, what waits, the schedules [`Board`], the [`News`], the
//! [`Expected`] durations, a fork's [`ForkPreview`], a new run's [`RunForm`], two runs'
//! [`RunsDiff`]), and the user's configuration
//! ([`config`]). `baton-session` serves this link; `baton-console` is built against it
//! alone, so an edit of the engine, the store or SQLite rebuilds no console (the root
//! crate wires the two together). [`wire`] is the same link on the wire, for a store on
//! another host (`baton link`, docs/link-protocol.md).
pub mod config;
pub mod desk;
mod fork;
pub mod lines;
mod link;
mod news;
mod schedules;
mod start;
pub mod wire;

pub use desk::Desk;
pub use fork::{ForkParam, Preview as ForkPreview, RetryPreview};
pub use link::{ConsoleLink, ConsoleRequest, Expected, LinkState, StoreStatus};
pub use news::News;
pub use schedules::{Act, Board, COLUMNS, Listed};
pub use start::{FormParam, RunForm, RunsDiff, Started};
