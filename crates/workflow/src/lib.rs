//! The workflow format: TOML with source spans → typed spec → validated, immutable `Plan`.
//!
//! What other crates name is re-exported here. The public modules are namespaces whose
//! items read well only behind their name (`condition::Expr`, `fanout::instance_id`,
//! `batch`, `diag`, `input_choices`, `shape`, `tree`), used so across the workspace;
//! the rest are private.
pub mod batch;
mod builtins;
mod caching;
pub mod condition;
pub mod diag;
mod envrefs;
mod events;
mod executors;
pub mod fanout;
mod graph;
pub mod input_choices;
mod load;
mod notify;
mod params;
mod plan;
mod rare;
mod repeat;
mod retry;
mod secrets;
mod services;
pub mod shape;
mod source;
mod template;
pub mod tree;
mod trigger;
mod units;

pub use batch::{BatchArg, BatchOptions};
pub use builtins::{ValueError, builtin_tools};
pub use diag::{Diagnostic, Diagnostics, suggest};
pub use envrefs::{env_cycles, env_order};
pub use events::{
    BadPick, Burst, DEFAULT_TRIGGER_QUEUE, END_STATES, EventSource, EventTrigger,
    MAX_TRIGGER_DEPTH, MAX_TRIGGER_QUEUE, MissingPick, Pick, coalesced_params, event_params,
};
pub use load::{KEY_TABLES, KeyTable, SignersFrom, load_file, load_str, load_str_with};
pub use params::{
    Problem, Problems, Values, input_of_spec, resolve_params, resolve_values, spec_of_input,
};
pub use plan::*;
pub use rare::{Rare, StepRare};
pub use repeat::{Repeat, RepeatMode};
pub use retry::{ExitSet, RetryExits, RetryRules};
pub use secrets::{CREDENTIALS_DIRECTORY, MAX_SECRET_BYTES, SECRET_TIMEOUT, Secret, SecretSource};
pub use source::{DEFAULT_MAX_WORKFLOW_BYTES, MAX_WORKFLOW_BYTES_ENV, read_source};
pub use template::{
    Template, TemplateError, TemplateRef, TemplateSegment, UNRESOLVED_STEP, Unresolved,
    parse_template,
};
pub use trigger::{Trigger, Upstream, Verdict};
pub use units::{
    DurationError, RateError, format_duration, format_rate, parse_duration, parse_rate,
};
