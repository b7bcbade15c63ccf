//! Error records (docs/architecture.md, "Errors, quality and health"): every failure becomes one, built with a fluent builder.
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorKind {
    SpawnFailed,
    ExitNonzero,
    KilledBySignal,
    Timeout,
    OutputInvalid,
    TemplateError,
    DependencyFailed,
    GateRejected,
    GateTimeout,
    BudgetExceeded,
    RateLimited,
    Cancelled,
    CompensationFailed,
    Interrupted,
    Storage,
    /// A service's readiness probe did not pass in time, or its liveness probe failed
    /// too often in a row.
    ProbeFailed,
    /// A service's process ended by itself while its dependants still needed it.
    ServiceExited,
    /// The step said so itself: a `::error::`/`::warning::` line in its `$BATON_OUTPUT`
    /// (an imported GitHub step's workflow command), `model::reported`.
    Reported,
}

impl ErrorKind {
    pub const ALL: &'static [ErrorKind] = <ErrorKind as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The severity a record of this kind gets unless the builder says otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            ErrorKind::CompensationFailed | ErrorKind::Storage => Severity::Critical,
            ErrorKind::SpawnFailed
            | ErrorKind::ExitNonzero
            | ErrorKind::KilledBySignal
            | ErrorKind::Timeout
            | ErrorKind::OutputInvalid
            | ErrorKind::TemplateError
            | ErrorKind::BudgetExceeded
            | ErrorKind::ProbeFailed
            | ErrorKind::ServiceExited => Severity::High,
            ErrorKind::GateRejected
            | ErrorKind::GateTimeout
            | ErrorKind::Interrupted
            | ErrorKind::RateLimited
            | ErrorKind::Reported => Severity::Medium,
            ErrorKind::DependencyFailed | ErrorKind::Cancelled => Severity::Low,
        }
    }

    /// Whether running the step again may help, by default.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::ExitNonzero
                | ErrorKind::KilledBySignal
                | ErrorKind::Timeout
                | ErrorKind::RateLimited
                | ErrorKind::Interrupted
                | ErrorKind::Storage
                | ErrorKind::ProbeFailed
                | ErrorKind::ServiceExited
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: &'static [Severity] = <Severity as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Health penalty of one open record of this severity (docs/architecture.md, "Errors, quality and health").
    pub fn penalty(self) -> f64 {
        match self {
            Severity::Critical => 20.0,
            Severity::High => 10.0,
            Severity::Medium => 3.0,
            Severity::Low => 0.0,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// Unique within the run: `<step>#<attempt>:<kind>` or a sequence assigned by the core.
    pub id: String,
    pub run: String,
    pub step: Option<String>,
    pub attempt: u32,
    pub kind: ErrorKind,
    pub severity: Severity,
    pub message: String,
    /// Facts about the failure: exit_code, signal, duration_ms, stderr_tail, …
    pub context: BTreeMap<String, String>,
    pub retryable: bool,
    pub suggestion: String,
    pub at: Timestamp,
    /// An open record counts against health; a later success of the step closes it.
    #[serde(default = "yes")]
    pub open: bool,
}

fn yes() -> bool {
    true
}

impl ErrorRecord {
    pub fn builder(kind: ErrorKind, message: impl Into<String>) -> ErrorRecordBuilder {
        ErrorRecordBuilder {
            rec: ErrorRecord {
                id: String::new(),
                run: String::new(),
                step: None,
                attempt: 0,
                kind,
                severity: kind.default_severity(),
                message: message.into(),
                context: BTreeMap::new(),
                retryable: kind.default_retryable(),
                suggestion: String::new(),
                at: Timestamp(0),
                open: true,
            },
        }
    }
}

/// Fluent builder: `ErrorRecord::builder(kind, msg).run(id).step("x", 2).context("exit_code", 1).build(now)`.
#[derive(Debug, Clone)]
pub struct ErrorRecordBuilder {
    rec: ErrorRecord,
}

impl ErrorRecordBuilder {
    pub fn run(mut self, run: impl Into<String>) -> Self {
        self.rec.run = run.into();
        self
    }
    pub fn step(mut self, step: impl Into<String>, attempt: u32) -> Self {
        self.rec.step = Some(step.into());
        self.rec.attempt = attempt;
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.rec.severity = s;
        self
    }
    pub fn retryable(mut self, r: bool) -> Self {
        self.rec.retryable = r;
        self
    }
    pub fn suggestion(mut self, s: impl Into<String>) -> Self {
        self.rec.suggestion = s.into();
        self
    }
    pub fn context(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.rec.context.insert(key.into(), value.to_string());
        self
    }
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.rec.id = id.into();
        self
    }
    pub fn build(mut self, at: Timestamp) -> ErrorRecord {
        self.rec.at = at;
        if self.rec.id.is_empty() {
            self.rec.id = match &self.rec.step {
                Some(s) => format!("{s}#{}:{}", self.rec.attempt, self.rec.kind),
                None => format!("run:{}:{}", self.rec.kind, at.0),
            };
        }
        self.rec
    }
}

/// A problem with what an attempt left behind, as the shell reports it to the core:
/// each becomes an error record on the step, and neither fails it.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputProblem {
    /// Its log could not be written: the output after that point was not kept.
    LogLost(String),
    /// A malformed `$BATON_OUTPUT`/`$BATON_USAGE` line, an unreadable file, a cache
    /// that could not be used: ignored.
    Ignored(String),
    /// `$BATON_OUTPUT` was larger than its bound, which fell inside this output's
    /// value: the output is not kept, and a step reading it fails saying so.
    Cut(String),
}
