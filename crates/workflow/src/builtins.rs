//! Built-in tools: run inside the engine, no process.
use super::plan::{Builtin, ParamType, Tool, ToolParam};

impl Builtin {
    pub const ALL: [Builtin; 3] = [Builtin::Noop, Builtin::Sleep, Builtin::Fail];

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// The built-in as a `Tool` (no `run`), with its typed parameters.
    pub fn tool(self) -> Tool {
        let (description, params) = match self {
            Builtin::Noop => ("Does nothing and succeeds.", vec![]),
            Builtin::Sleep => (
                "Waits for DURATION, then succeeds.",
                vec![ToolParam {
                    name: "DURATION".into(),
                    ty: ParamType::String,
                    required: true,
                    default: None,
                    description: Some("how long to wait, e.g. \"2s\" or \"500ms\"".into()),
                }],
            ),
            Builtin::Fail => (
                "Fails with MESSAGE (useful to test failure paths).",
                vec![ToolParam {
                    name: "MESSAGE".into(),
                    ty: ParamType::String,
                    required: false,
                    default: Some("failed by builtin.fail".into()),
                    description: Some("the error message".into()),
                }],
            ),
        };
        Tool {
            name: self.name().into(),
            description: Some(description.into()),
            run: None,
            params,
        }
    }
}

/// Every built-in tool, in a fixed order.
pub fn builtin_tools() -> Vec<Tool> {
    Builtin::ALL.iter().copied().map(Builtin::tool).collect()
}

impl ParamType {
    /// `string`, `int`, `bool`, `enum(a|b)` for listings and messages.
    pub fn describe(&self) -> String {
        match self {
            ParamType::String => "string".into(),
            ParamType::Int => "int".into(),
            ParamType::Bool => "bool".into(),
            ParamType::Enum(values) => format!("enum({})", values.join("|")),
            ParamType::List => "list".into(),
        }
    }

    /// Whether `value` is of this type; the error says what would be right.
    pub fn check(&self, value: &str) -> Result<(), ValueError> {
        match self {
            ParamType::String => Ok(()),
            ParamType::Int => value
                .trim()
                .parse::<i64>()
                .map(|_| ())
                .map_err(|_| ValueError::NotInt(value.to_string())),
            ParamType::Bool => match value {
                "true" | "false" => Ok(()),
                _ => Err(ValueError::NotBool(value.to_string())),
            },
            ParamType::Enum(values) => {
                if values.iter().any(|v| v == value) {
                    Ok(())
                } else {
                    Err(ValueError::NotOneOf {
                        value: value.to_string(),
                        allowed: values.clone(),
                    })
                }
            }
            ParamType::List => super::fanout::parse_list(value)
                .map(|_| ())
                .map_err(ValueError::NotList),
        }
    }
}

/// A value that is not of its parameter's type; each says what would be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("\"{0}\" is not an int; write a whole number such as 42")]
    NotInt(String),
    #[error("\"{0}\" is not a bool; write true or false")]
    NotBool(String),
    #[error("\"{value}\" is not one of {}", quote_list(.allowed))]
    NotOneOf { value: String, allowed: Vec<String> },
    #[error(transparent)]
    NotList(super::fanout::FanoutError),
}

pub(crate) fn quote_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
