//! The generic value readers: a string, a boolean, a bounded integer, a duration, a
//! list, a table of texts; each reports a wrong type with what to write instead.
use super::*;

impl Loader<'_, '_> {
    pub(super) fn unknown_fields(&mut self, entries: &[Entry], allowed: &[&str], place: &str) {
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let hint = did_you_mean(&e.key, allowed, "allowed fields");
                self.err(
                    &e.key_span,
                    format!("unknown field `{}` {place}", e.key),
                    hint,
                );
            }
        }
    }

    pub(super) fn type_error(&mut self, n: &Node, what: &str, expected: &str, example: &str) {
        self.err(
            &n.span,
            format!("{what} must be {expected}, found {}", n.kind()),
            format!("write it as {example}"),
        );
    }

    pub(super) fn table<'n>(
        &mut self,
        n: &'n Node,
        what: &str,
        example: &str,
    ) -> Option<&'n [Entry]> {
        let t = n.entries();
        if t.is_none() {
            self.type_error(n, what, "a table", example);
        }
        t
    }

    pub(super) fn string<'n>(&mut self, n: &'n Node, what: &str) -> Option<&'n str> {
        match &n.val {
            Val::Str(s) => Some(s),
            _ => {
                self.type_error(n, what, "a string", "a quoted string, e.g. \"text\"");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, n: &Node, what: &str) -> Option<bool> {
        match n.val {
            Val::Bool(b) => Some(b),
            _ => {
                self.type_error(n, what, "a boolean", "true or false (without quotes)");
                None
            }
        }
    }

    pub(super) fn int_at_least(&mut self, n: &Node, what: &str, min: i64) -> Option<i64> {
        match n.val {
            Val::Int(i) if i >= min => Some(i),
            Val::Int(i) => {
                self.err(
                    &n.span,
                    format!("{what} must be at least {min}, found {i}"),
                    format!("use a whole number of {min} or more"),
                );
                None
            }
            _ => {
                self.type_error(
                    n,
                    what,
                    "an integer",
                    "a whole number without quotes, e.g. 4",
                );
                None
            }
        }
    }

    pub(super) fn non_negative_number(&mut self, n: &Node, what: &str) -> Option<f64> {
        let v = match n.val {
            Val::Int(i) => i as f64,
            Val::Float(f) => f,
            _ => {
                self.type_error(n, what, "a number", "a number without quotes, e.g. 2.5");
                return None;
            }
        };
        if v.is_finite() && v >= 0.0 {
            Some(v)
        } else {
            self.err(
                &n.span,
                format!("{what} must be a finite number of 0 or more, found {v}"),
                "use a number such as 0.5",
            );
            None
        }
    }

    pub(super) fn duration(&mut self, n: &Node, what: &str) -> Option<Duration> {
        let s = self.duration_text(n, what)?;
        match parse_duration(s) {
            Ok(d) if d.is_zero() => {
                self.err(
                    &n.span,
                    format!("{what} must be longer than zero, found \"{s}\""),
                    "use a positive duration such as \"30s\"",
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) if d_too_long(&e) => {
                self.err(
                    &n.span,
                    format!("{what}: {}", short(&e.to_string())),
                    "durations are at most 30 days (\"30d\"); for a longer wait, use a gate without a timeout",
                );
                None
            }
            Err(e) => {
                self.err(
                    &n.span,
                    format!("{what}: {}", short(&e.to_string())),
                    Some(duration_hint(what)),
                );
                None
            }
        }
    }

    pub(super) fn duration_text<'n>(&mut self, n: &'n Node, what: &str) -> Option<&'n str> {
        match &n.val {
            Val::Str(s) => Some(s),
            _ => {
                self.type_error(
                    n,
                    what,
                    "a duration string",
                    &duration_hint(what).replace("write ", ""),
                );
                None
            }
        }
    }

    pub(super) fn string_list<'n>(
        &mut self,
        n: &'n Node,
        what: &str,
        example: &str,
    ) -> Vec<(&'n str, Span)> {
        let Val::Array(items) = &n.val else {
            self.type_error(n, what, "an array of strings", example);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.val {
                Val::Str(s) => out.push((s.as_str(), item.span.clone())),
                _ => self.type_error(item, &format!("each entry of {what}"), "a string", example),
            }
        }
        out
    }

    /// [`Self::string_list`]'s checks, the list left in the tree: a step's `needs` are
    /// read where they are written ([`strings`]), with no copy of them per step (100,000
    /// steps' copies were 13 MB at the load's peak).
    pub(super) fn string_items<'n>(
        &mut self,
        n: &'n Node,
        what: &str,
        example: &str,
    ) -> &'n [Node] {
        let Val::Array(items) = &n.val else {
            self.type_error(n, what, "an array of strings", example);
            return &[];
        };
        for item in items {
            if !matches!(item.val, Val::Str(_)) {
                self.type_error(item, &format!("each entry of {what}"), "a string", example);
            }
        }
        items
    }

    /// A table whose values are text (strings; numbers and booleans are taken as text).
    pub(super) fn text_table<'n>(
        &mut self,
        n: &'n Node,
        what: &str,
        env_names: bool,
    ) -> Vec<TextEntry<'n>> {
        let Some(entries) = self.table(n, what, "{ NAME = \"value\" }") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            if env_names && !is_name(&e.key, false) {
                self.err(
                    &e.key_span,
                    format!(
                        "`{}` in {what} is not a valid environment variable name",
                        e.key
                    ),
                    "use letters, digits and underscores, not starting with a digit (e.g. API_URL)",
                );
                continue;
            }
            let value = match &e.node.val {
                Val::Str(s) => s.to_string(),
                Val::Int(i) => i.to_string(),
                Val::Float(f) => f.to_string(),
                Val::Bool(b) => b.to_string(),
                _ => {
                    self.type_error(
                        &e.node,
                        &format!("`{}` in {what}", e.key),
                        "a string",
                        "a quoted string, e.g. \"text\"",
                    );
                    continue;
                }
            };
            self.no_nul(&value, &e.node.span, &format!("`{}` in {what}", e.key));
            out.push(TextEntry {
                key: &e.key,
                key_span: e.key_span.clone(),
                value,
                span: e.node.span.clone(),
            });
        }
        out
    }

    /// `${{` in shell code is refused: values never become shell code.
    pub(super) fn no_template_in_shell(&mut self, s: &str, span: &Span, what: &str, is_run: bool) {
        if s.contains("${{") {
            let var = "VALUE";
            self.err(
                span,
                format!("{what} contains a template (\"${{{{ … }}}}\"); templates are not expanded in shell code"),
                format!(
                    "pass the value through `env` and use the variable instead: env = {{ {var} = \"${{{{ … }}}}\" }} and \"${var}\" in {}; values never become shell code",
                    if is_run { "`run`" } else { "`compensate`" }
                ),
            );
        }
    }

    /// A NUL byte cannot pass through `execve` (arguments and environment are C strings):
    /// refused here rather than when the step starts.
    pub(super) fn no_nul(&mut self, s: &str, span: &Span, what: &str) {
        if let Some(at) = s.find('\0') {
            self.err(
                span,
                format!("{what} contains a NUL byte (\\u0000) at character {}", s[..at].chars().count() + 1),
                "remove the \\u0000 escape: commands, directories and environment values cannot hold NUL bytes",
            );
        }
    }
}

/// A units error saying the duration is over the ceiling.
pub(super) fn d_too_long(e: &DurationError) -> bool {
    matches!(e, DurationError::TooLong(_))
}

pub(super) fn duration_hint(what: &str) -> String {
    let key = what
        .trim_start_matches('`')
        .split('`')
        .next()
        .unwrap_or("timeout")
        .rsplit('.')
        .next()
        .unwrap_or("timeout")
        .to_string();
    format!("write a duration such as {key} = \"30s\" (units: ms, s, m, h, d)")
}

/// The last line of a regex error ("unclosed group"), without its "error: " prefix.
pub(super) fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// A units error without its generic "write …" tail (the hint says that).
pub(super) fn short(e: &str) -> &str {
    e.split("; write").next().unwrap_or(e)
}

/// "`retry` of step `a`" + "delay" → "`retry.delay` of step `a`".
pub(super) fn sub(what: &str, field: &str) -> String {
    match what.strip_prefix('`').and_then(|w| w.split_once('`')) {
        Some((key, rest)) => format!("`{key}.{field}`{rest}"),
        None => format!("{what}.{field}"),
    }
}

/// The strings of a list checked by [`Loader::string_items`], each with where it is
/// written (its other entries were reported there).
pub(super) fn strings(items: &[Node]) -> impl Iterator<Item = (&str, &Span)> {
    items.iter().filter_map(|n| match &n.val {
        Val::Str(s) => Some((s.as_str(), &n.span)),
        _ => None,
    })
}
