//! The workflow format: TOML with source spans → typed spec → validated, immutable `Plan`.
pub mod plan;
pub mod template;

pub use plan::*;
pub use template::{Template, TemplateRef, TemplateSegment};
