//! `[params]`, `secrets` and `[tools]` (whose parameters are declared like the
//! workflow's).
use super::*;

pub(super) const PARAM_FIELDS: &[&str] = &[
    "type",
    "required",
    "default",
    "pattern",
    "secret",
    "description",
    "values",
];
pub(super) const TOOL_FIELDS: &[&str] = &["run", "params", "description"];
pub(super) const TOOL_PARAM_FIELDS: &[&str] =
    &["type", "required", "default", "description", "values"];

impl Loader<'_, '_> {
    /// The run's `[params]`; the secret ones' names kept (`secret_params`).
    pub(super) fn params(&mut self, n: &Node) -> Vec<ParamSpec> {
        let params: Vec<ParamSpec> =
            match self.table(n, "`params`", "[params.version] with type = \"string\"") {
                Some(entries) => self
                    .typed_values(entries, "parameter", "", PARAM_FIELDS, false)
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect(),
                None => Vec::new(),
            };
        self.secret_params = params
            .iter()
            .filter(|p| p.secret)
            .map(|p| p.name.clone())
            .collect();
        params
    }

    /// A table of named, typed values (`[params]`, a gate's `inputs`): each name checked
    /// and each declaration read by [`Self::param_spec`]. `of` names the owner in
    /// messages (" of the gate of step `x`"). `templated`: a gate's inputs, whose
    /// `default` and `values` may be templates (returned as written, resolved with the
    /// step's other templates).
    pub(super) fn typed_values(
        &mut self,
        entries: &[Entry],
        noun: &str,
        of: &str,
        fields: &[&str],
        templated: bool,
    ) -> Vec<(ParamSpec, RawInputTemplates)> {
        let mut out = Vec::new();
        for e in entries {
            if !is_name(&e.key, true) {
                self.err(
                    &e.key_span,
                    format!("{noun} name `{}`{of} is invalid", e.key),
                    "use letters, digits, '_' and '-', starting with a letter or '_'",
                );
            }
            let what = format!("{noun} `{}`{of}", e.key);
            if let Some(p) = self.param_spec(&e.node, &what, fields, templated) {
                let spec = ParamSpec {
                    name: e.key.to_string(),
                    ty: p.ty,
                    required: p.required,
                    default: p.default,
                    pattern: p.pattern,
                    secret: p.secret,
                    description: p.description,
                    from_run: None,
                };
                out.push((spec, p.templates));
            }
        }
        out
    }

    /// A parameter's `type` (a string unless it says otherwise); an enum whose
    /// `values` the run makes keeps their template in `templates`.
    fn param_type(
        &mut self,
        entries: &[Entry],
        what: &str,
        values: Option<&Node>,
        values_template: Option<&(String, Span)>,
        templates: &mut RawInputTemplates,
    ) -> ParamType {
        let mut ty = ParamType::String;
        if let Some(t) = get(entries, "type") {
            match self.string(t, &format!("`type` of {what}")) {
                Some("string") => {}
                Some("int") => ty = ParamType::Int,
                Some("bool") => ty = ParamType::Bool,
                Some("list") => ty = ParamType::List,
                Some("enum") if values_template.is_some() => {
                    ty = ParamType::Enum(Vec::new());
                    templates.values = values_template.cloned();
                }
                Some("enum") => {
                    let list = match values {
                        Some(v) => self.string_list(
                            v,
                            &format!("`values` of {what}"),
                            "values = [\"staging\", \"production\"]",
                        ),
                        None => Vec::new(),
                    };
                    if list.is_empty() {
                        self.err(
                            &t.span,
                            format!("{what} is an enum but lists no `values`"),
                            "add the allowed values, e.g. values = [\"staging\", \"production\"]",
                        );
                    }
                    ty = ParamType::Enum(list.into_iter().map(|(s, _)| s.to_string()).collect());
                }
                Some(other) => {
                    let hint = did_you_mean(
                        other,
                        &["string", "int", "bool", "enum", "list"],
                        "parameter types",
                    );
                    self.err(
                        &t.span,
                        format!("unknown type \"{other}\" for {what}"),
                        format!(
                            "{hint} (a type is \"string\", \"int\", \"bool\", \"enum\" or \"list\")"
                        ),
                    );
                }
                None => {}
            }
        }
        ty
    }

    /// A parameter's `pattern`, a regular expression its values must match.
    fn param_pattern(&mut self, entries: &[Entry], what: &str) -> Option<regex::Regex> {
        get(entries, "pattern").and_then(|p| {
            let s = self.string(p, &format!("`pattern` of {what}"))?;
            regex::Regex::new(s)
                .map_err(|e| {
                    let first = regex_error(&e);
                    self.err(
                    &p.span,
                    format!("`pattern` of {what} is not a valid regular expression: {first}"),
                    "write a Rust regex in a literal string, e.g. pattern = '^\\d+\\.\\d+\\.\\d+$'",
                )
                })
                .ok()
        })
    }

    /// A typed parameter (run param or tool param: `fields` says which keys apply;
    /// `templated`: a gate input, whose `default` and `values` may be templates).
    pub(super) fn param_spec(
        &mut self,
        n: &Node,
        what: &str,
        fields: &[&str],
        templated: bool,
    ) -> Option<RawParam> {
        let entries = self.table(n, what, "{ type = \"string\", required = true }")?;
        self.unknown_fields(entries, fields, &format!("in {what}"));
        let mut templates = RawInputTemplates::default();
        let values = get(entries, "values");
        // `values = "${{ … }}"`: a JSON list the run makes, rendered when the gate opens.
        let values_template = values.and_then(|v| match &v.val {
            Val::Str(s) if templated && s.contains("${{") => Some((s.to_string(), v.span.clone())),
            _ => None,
        });
        let ty = self.param_type(
            entries,
            what,
            values,
            values_template.as_ref(),
            &mut templates,
        );
        if let Some(v) = values
            && !matches!(ty, ParamType::Enum(_))
        {
            self.err(
                &v.span,
                format!("{what} has `values` but is not an enum"),
                "add type = \"enum\", or remove `values`",
            );
        }
        let required = get(entries, "required")
            .and_then(|r| self.boolean(r, &format!("`required` of {what}")))
            .unwrap_or(false);
        let secret = get(entries, "secret")
            .and_then(|r| self.boolean(r, &format!("`secret` of {what}")))
            .unwrap_or(false);
        let description = get(entries, "description")
            .and_then(|d| self.string(d, &format!("`description` of {what}")))
            .map(str::to_string);
        let pattern = self.param_pattern(entries, what);
        let default = get(entries, "default").and_then(|d| {
            if let Val::Str(s) = &d.val
                && templated
                && s.contains("${{")
            {
                // Checked against its type and pattern once rendered, when the gate opens.
                templates.default = Some((s.to_string(), d.span.clone()));
                return None;
            }
            let text = match &d.val {
                Val::Str(s) => s.to_string(),
                Val::Int(i) => i.to_string(),
                Val::Bool(b) => b.to_string(),
                _ => {
                    self.type_error(
                        d,
                        &format!("`default` of {what}"),
                        "a string, integer or boolean",
                        "default = \"value\"",
                    );
                    return None;
                }
            };
            self.no_nul(&text, &d.span, &format!("`default` of {what}"));
            if templates.values.is_some() {
                // An enum whose choices the run makes: checked against them when it opens.
            } else if let Err(e) = ty.check(&text) {
                self.err(
                    &d.span,
                    format!("`default` of {what}: {e}"),
                    format!("give a default of type {}", ty.describe()),
                );
            } else if let Some(re) = &pattern
                && !re.is_match(&text)
            {
                self.err(
                    &d.span,
                    format!(
                        "`default` of {what} (\"{text}\") does not match its pattern {}",
                        re.as_str()
                    ),
                    "change the default so that it matches the pattern",
                );
            }
            Some((text, d.span.clone()))
        });
        let default_span = default
            .as_ref()
            .map(|(_, s)| s)
            .or(templates.default.as_ref().map(|(_, s)| s));
        if required && let Some(span) = default_span {
            self.err(
                span,
                format!("{what} is required and also has a default"),
                "a default makes a parameter optional: remove `required = true` or the default",
            );
        }
        Some(RawParam {
            ty,
            required,
            default: default.map(|(t, _)| t),
            pattern,
            secret,
            description,
            templates,
        })
    }

    /// `secrets`: a list, the older form (names of baton's environment every step
    /// inherits), or a table, `[secrets]` (`crate::secrets`).
    pub(super) fn secret_decls(
        &mut self,
        top: &[Entry],
        base_dir: &std::path::Path,
    ) -> (Vec<String>, Vec<crate::secrets::Secret>) {
        match get(top, "secrets") {
            Some(n) => match n.entries() {
                Some(entries) => (
                    Vec::new(),
                    crate::secrets::SecretReader { r: self.r }.table(entries, base_dir),
                ),
                None => (self.secrets(n), Vec::new()),
            },
            None => Default::default(),
        }
    }

    fn secrets(&mut self, n: &Node) -> Vec<String> {
        let list = self.string_list(
            n,
            "`secrets`",
            "secrets = [\"API_TOKEN\"] (names of baton's environment), or a table: [secrets] DB = { file = \"/run/secrets/db\" }",
        );
        let mut out = Vec::new();
        for (s, span) in list {
            if is_name(s, false) {
                out.push(s.to_string());
            } else {
                self.err(
                    &span,
                    format!("secret `{s}` is not a valid environment variable name"),
                    "name the environment variable that holds the secret, e.g. \"API_TOKEN\"",
                );
            }
        }
        out
    }

    pub(super) fn tools(&mut self, n: &Node) -> BTreeMap<String, Tool> {
        let Some(entries) = self.table(n, "`tools`", "[tools.notify] with run = \"…\"") else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for e in entries {
            if !is_step_id(&e.key) {
                self.err(
                    &e.key_span,
                    format!("tool name `{}` is invalid", e.key),
                    "use 1 to 64 lowercase letters, digits, '_' or '-' (names starting with \"builtin.\" are reserved)",
                );
            }
            let what = format!("tool `{}`", e.key);
            let Some(fields) = self.table(&e.node, &what, "[tools.notify] with run = \"…\"")
            else {
                continue;
            };
            self.unknown_fields(fields, TOOL_FIELDS, &format!("in {what}"));
            let run = match get(fields, "run") {
                Some(r) => self.string(r, &format!("`run` of {what}")).map(|s| {
                    self.no_template_in_shell(s, &r.span, &format!("`run` of {what}"), true);
                    self.no_nul(s, &r.span, &format!("`run` of {what}"));
                    s.to_string()
                }),
                None => {
                    self.err(
                        &e.key_span,
                        format!("{what} has no `run` command"),
                        "add run = \"…\": the command, which reads its parameters from the environment",
                    );
                    None
                }
            };
            let description = get(fields, "description")
                .and_then(|d| self.string(d, &format!("`description` of {what}")))
                .map(str::to_string);
            let mut params = Vec::new();
            if let Some(p) = get(fields, "params")
                && let Some(list) = self.table(
                    p,
                    &format!("`params` of {what}"),
                    "params = { MESSAGE = { type = \"string\", required = true } }",
                )
            {
                for pe in list {
                    if !is_name(&pe.key, false) {
                        self.err(
                                &pe.key_span,
                                format!("parameter `{}` of {what} is not a valid environment variable name", pe.key),
                                "tool parameters reach the command as environment variables: use letters, digits and '_' (e.g. MESSAGE)",
                            );
                    }
                    let pwhat = format!("parameter `{}` of {what}", pe.key);
                    if let Some(rp) = self.param_spec(&pe.node, &pwhat, TOOL_PARAM_FIELDS, false) {
                        params.push(ToolParam {
                            name: pe.key.to_string(),
                            ty: rp.ty,
                            required: rp.required,
                            default: rp.default,
                            description: rp.description,
                        });
                    }
                }
            }
            out.insert(
                e.key.to_string(),
                Tool {
                    name: e.key.to_string(),
                    description,
                    run: Some(run.unwrap_or_default()),
                    params,
                },
            );
        }
        out
    }
}

pub(super) struct RawParam {
    ty: ParamType,
    required: bool,
    default: Option<String>,
    pattern: Option<regex::Regex>,
    secret: bool,
    description: Option<String>,
    templates: RawInputTemplates,
}

/// A gate input's `default` and `values` written as templates, with where.
#[derive(Default)]
pub(super) struct RawInputTemplates {
    pub(super) default: Option<(String, Span)>,
    pub(super) values: Option<(String, Span)>,
}
