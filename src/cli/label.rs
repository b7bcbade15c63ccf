//! `baton label RUN k=v [k-]…`: set and remove a run's labels by hand. Sent as every
//! operator command is (`control::send`): to the engine that drives the run, or, on a
//! run no engine drives, recorded alone (`session::label`: no takeover, no secret
//! given again); on record (`run_labelled`) under the OS account. `--label`
//! of `run` and `runs` parse here too, so each problem has one wording
//! (`model::labels`).
use super::control::{self, Target};
use super::run::operator_name;
use crate::model::Command;
use crate::model::labels::{self, Change, LabelError};
use crate::session;
use clap::Args;
use std::collections::BTreeMap;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    baton label 01jd4 ticket=OPS-137 team=infra\n  \
    baton label 01jd4 ticket-            # removes the label `ticket`\n  \
    baton runs --label ticket=OPS-137")]
pub struct LabelArgs {
    #[command(flatten)]
    pub target: Target,
    /// `KEY=VALUE` sets a label, `KEY-` removes one. A key is 1 to 63 letters, digits,
    /// `.`, `_`, `/` or `-`; a value up to 200 characters of plain text.
    #[arg(required = true, value_name = "KEY=VALUE|KEY-", value_parser = labels::parse_change)]
    pub changes: Vec<Change>,
}

/// `--label KEY=VALUE` (of `baton run`), checked.
pub fn parse_label(s: &str) -> Result<(String, String), LabelError> {
    labels::parse_pair(s)
}

/// `--label KEY=VALUE` or `--label KEY` (of `baton runs`): a run with that label (of
/// that value).
pub fn parse_filter(s: &str) -> Result<(String, Option<String>), LabelError> {
    match s.split_once('=') {
        Some(_) => labels::parse_pair(s).map(|(k, v)| (k, Some(v))),
        None if labels::key_ok(s) => Ok((s.to_string(), None)),
        None => Err(LabelError::BadKey(crate::model::sanitize::one_line(s))),
    }
}

pub fn label(a: LabelArgs) -> i32 {
    let operator = match operator_name(a.target.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => return session::report(&e),
    };
    let mut set = BTreeMap::new();
    let mut removed = Vec::new();
    for c in a.changes {
        match c {
            Change::Set(k, v) => {
                set.insert(k, v);
            }
            Change::Remove(k) => removed.push(k),
        }
    }
    let command = Command::Label {
        operator,
        set,
        removed,
    };
    control::send(&a.target, command)
}
