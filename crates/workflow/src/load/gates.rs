//! A step's `gate`, `[approvals]` (the allowed-signers file) and the rules of signed
//! gates.
use super::resolve::Site;
use super::*;
use crate::condition::Name;

pub(super) const GATE_FIELDS: &[&str] = &[
    "prompt",
    "approvers",
    "quorum",
    "timeout",
    "on_timeout",
    "allow_self_approval",
    "signed",
    "inputs",
    "auto",
    "revise",
    "rounds",
];
/// A gate's rounds (issue 44 point 3): `rounds` when `revise` is given without it.
pub(crate) const DEFAULT_ROUNDS: u32 = 3;
/// More rounds than this is a loop, not a review.
pub(crate) const MAX_ROUNDS: u32 = 20;
/// One rule of a gate's `auto`.
pub(super) const AUTO_FIELDS: &[&str] = &["if", "decide", "reason"];
/// A gate's policy is read by people: a longer list is a program, not a policy.
pub(super) const MAX_AUTO_RULES: usize = 64;

/// One rule of a gate's `auto`, as written: its `if` is checked with the step's other
/// conditions once the steps are known.
pub(super) struct RawAuto<'n> {
    pub(super) cond: (&'n str, Span),
    pub(super) decide: AutoDecide,
    pub(super) reason: String,
}
/// What an approver supplies: the types of `params`, never secret (the values are on
/// record and in the audit).
pub(super) const INPUT_FIELDS: &[&str] = &[
    "type",
    "required",
    "default",
    "pattern",
    "description",
    "values",
];
pub(super) const APPROVALS_FIELDS: &[&str] = &["allowed_signers"];
/// An allowed-signers file is a list of public keys: a larger one is a mistake.
pub(super) const MAX_SIGNERS_BYTES: u64 = 1 << 20;

impl Loader<'_, '_> {
    pub(super) fn gate<'n>(&mut self, n: &'n Node, label: &str) -> Option<RawGate<'n>> {
        let what = format!("`gate` of {label}");
        let entries = self.table(
            n,
            &what,
            "gate = { prompt = \"Ship it?\", approvers = [\"alice\"] }",
        )?;
        self.unknown_fields(entries, GATE_FIELDS, &format!("in the gate of {label}"));
        let prompt = get(entries, "prompt").and_then(|p| {
            self.string(p, &format!("`prompt` of {what}"))
                .map(|s| (s, p.span.clone()))
        });
        let approvers = self.approvers(entries, &what, label);
        let quorum = get(entries, "quorum").and_then(|q| {
            self.int_at_least(q, &format!("`quorum` of {what}"), 1)
                .map(|v| (v.min(u32::MAX as i64) as u32, q.span.clone()))
        });
        let timeout =
            get(entries, "timeout").and_then(|t| self.duration(t, &format!("`timeout` of {what}")));
        let on_timeout = self.on_timeout(entries, &what);
        let allow_self_approval = get(entries, "allow_self_approval")
            .and_then(|b| self.boolean(b, &format!("`allow_self_approval` of {what}")))
            .unwrap_or(true);
        let signed = get(entries, "signed").and_then(|b| {
            self.boolean(b, &format!("`signed` of {what}"))
                .filter(|s| *s)
                .map(|_| b.span.clone())
        });
        let (inputs, input_templates): (Vec<_>, Vec<_>) = get(entries, "inputs")
            .and_then(|n| {
                self.table(
                    n,
                    &format!("`inputs` of {what}"),
                    "inputs = { tag = { type = \"string\", required = true } }",
                )
            })
            .map(|list| {
                let of = format!(" of the gate of {label}");
                self.typed_values(list, "input", &of, INPUT_FIELDS, true)
            })
            .unwrap_or_default()
            .into_iter()
            .unzip();
        if on_timeout == OnTimeout::Approve {
            self.check_timeout_approval(get(entries, "on_timeout"), &inputs, label);
        }
        let auto = get(entries, "auto")
            .map(|n| self.auto_rules(n, label, signed.is_some(), &inputs))
            .unwrap_or_default();
        let (revise, rounds) = self.revise(entries, label);
        if let Some((q, span)) = &quorum
            && !approvers.is_empty()
            && *q as usize > approvers.len()
        {
            self.err(
                span,
                format!(
                    "the gate of {label} needs a quorum of {q} but lists only {} approver(s)",
                    approvers.len()
                ),
                format!(
                    "lower `quorum` to at most {} or add approvers",
                    approvers.len()
                ),
            );
        }
        Some(RawGate {
            span: n.span.clone(),
            prompt,
            approvers,
            quorum,
            timeout,
            on_timeout,
            on_timeout_span: get(entries, "on_timeout").map(|o| o.span.clone()),
            allow_self_approval,
            signed,
            inputs,
            input_templates,
            auto,
            revise,
            rounds,
        })
    }

    /// A gate's `approvers`: account names, each once.
    fn approvers(&mut self, entries: &[Entry], what: &str, label: &str) -> Vec<(String, Span)> {
        let listed = get(entries, "approvers")
            .map(|a| {
                self.string_list(
                    a,
                    &format!("`approvers` of {what}"),
                    "approvers = [\"alice\", \"bob\"]",
                )
            })
            .unwrap_or_default();
        // Account names: kept trimmed; an empty one is nobody, a repeated one (in any
        // case) one person, and either would make the quorum mean less than it says.
        let mut approvers: Vec<(String, Span)> = Vec::new();
        for (name, span) in listed {
            match baton_model::clean_name(name) {
                None => self.err(
                    &span,
                    format!("an empty name in the `approvers` of {label}"),
                    "list OS account names, e.g. approvers = [\"alice\", \"bob\"]".to_string(),
                ),
                Some(n) if approvers.iter().any(|(a, _)| baton_model::same_actor(a, n)) => self.err(
                    &span,
                    format!("`{n}` is listed twice in the `approvers` of {label} (names are compared case-insensitively)"),
                    "list each account once".to_string(),
                ),
                Some(n) => approvers.push((n.to_string(), span)),
            }
        }
        approvers
    }

    /// A gate's `on_timeout` ("reject" unless it says otherwise).
    fn on_timeout(&mut self, entries: &[Entry], what: &str) -> OnTimeout {
        match get(entries, "on_timeout") {
            Some(o) => match self.string(o, &format!("`on_timeout` of {what}")) {
                Some("approve") => OnTimeout::Approve,
                Some("reject") => OnTimeout::Reject,
                Some("fail") => OnTimeout::Fail,
                Some(other) => {
                    let hint = did_you_mean(other, &["approve", "reject", "fail"], "choices");
                    self.err(
                        &o.span,
                        format!("unknown `on_timeout` \"{other}\" in {what}"),
                        format!("{hint} (`on_timeout` is \"reject\" (the default), \"approve\" or \"fail\")"),
                    );
                    OnTimeout::Reject
                }
                None => OnTimeout::Reject,
            },
            None => OnTimeout::Reject,
        }
    }

    /// `revise = ["draft"]` and `rounds = M`: the steps a push-back runs again (checked
    /// against the steps once they are known) and the cap on the gate's rounds.
    #[allow(clippy::type_complexity)]
    fn revise<'n>(
        &mut self,
        entries: &'n [Entry],
        label: &str,
    ) -> (Vec<(&'n str, Span)>, Option<(u32, Span)>) {
        let what = format!("the gate of {label}");
        let revise: Vec<(&'n str, Span)> = get(entries, "revise")
            .map(|r| self.string_list(r, &format!("`revise` of {what}"), "revise = [\"draft\"]"))
            .unwrap_or_default();
        let rounds = get(entries, "rounds").and_then(|r| {
            let v = self.int_at_least(r, &format!("`rounds` of {what}"), 1)?;
            if v > i64::from(MAX_ROUNDS) {
                self.err(
                    &r.span,
                    format!("{what} has `rounds = {v}`, more than {MAX_ROUNDS}"),
                    format!(
                        "keep `rounds` between 1 and {MAX_ROUNDS}: each round is a person's review"
                    ),
                );
                return None;
            }
            Some((v as u32, r.span.clone()))
        });
        if let (Some((_, span)), true) = (&rounds, revise.is_empty()) {
            self.err(
                span,
                format!("{what} has `rounds` but no `revise`"),
                "name the steps a push-back runs again, e.g. revise = [\"draft\"], or remove `rounds`",
            );
        }
        let mut seen: Vec<&str> = Vec::new();
        for (name, span) in &revise {
            if seen.contains(name) {
                self.err(
                    span,
                    format!("`{name}` is listed twice in the `revise` of {what}"),
                    "list each step once",
                );
            }
            seen.push(name);
        }
        (revise, rounds)
    }

    /// An approving rule that tests a value the step's command gets (`bound`: a tool
    /// parameter, or a name its `env` or `with` reads) with `starts_with`, `contains`
    /// or `ends_with`: a warning at the name, for `git status && touch x` starts with
    /// `git status`.
    pub(super) fn warn_text_tests(
        &mut self,
        condition: &crate::condition::Condition,
        written: (&str, &Span),
        what: &str,
        bound: &dyn Fn(&crate::condition::Name) -> bool,
    ) {
        let at = self.placer(written);
        for (f, name, place) in condition.text_tests(bound) {
            let func = f.name();
            self.r.warn(
                &at(&place),
                format!(
                    "{what} approves by `{func}({name}, …)`: a test of the text of a value the step's command gets is fooled by shell (`git status && touch x` starts with `git status`)"
                ),
                format!(
                    "match the command's words instead: argv({name}) == 'git status' (exact, no shell operator), {func}(argv({name}), …), or is_simple({name}) && …"
                ),
            );
        }
    }

    /// `auto = [{ if = "…", decide = "approve" | "reject", reason = "…" }]`. A signed
    /// gate is approved only by signatures, and a rule cannot give a required input:
    /// either is an error at the rule's `decide`.
    fn auto_rules<'n>(
        &mut self,
        n: &'n Node,
        label: &str,
        signed: bool,
        inputs: &[ParamSpec],
    ) -> Vec<RawAuto<'n>> {
        let example =
            "auto = [{ if = \"with.cmd == 'ls'\", decide = \"approve\", reason = \"read-only\" }]";
        let Val::Array(items) = &n.val else {
            self.type_error(
                n,
                &format!("`auto` of the gate of {label}"),
                "an array of tables",
                example,
            );
            return Vec::new();
        };
        if items.len() > MAX_AUTO_RULES {
            self.err(
                &n.span,
                format!(
                    "the gate of {label} has {} `auto` rules, more than {MAX_AUTO_RULES}",
                    items.len()
                ),
                "keep a gate's policy short enough to read: join rules with || and &&",
            );
        }
        let mut out = Vec::new();
        for (k, item) in items.iter().enumerate().take(MAX_AUTO_RULES) {
            let what = format!("rule {} of the `auto` of the gate of {label}", k + 1);
            let Some(fields) = self.table(item, &what, example) else {
                continue;
            };
            self.unknown_fields(fields, AUTO_FIELDS, &format!("in {what}"));
            let cond = match get(fields, "if") {
                Some(c) => self
                    .string(c, &format!("`if` of {what}"))
                    .map(|s| (s, c.span.clone())),
                None => {
                    self.err(
                        &item.span,
                        format!("{what} has no `if`"),
                        "add if = \"<condition>\": the rule decides when it holds",
                    );
                    None
                }
            };
            let decide = match get(fields, "decide") {
                Some(d) => match self.string(d, &format!("`decide` of {what}")) {
                    Some("approve") => Some((AutoDecide::Approve, d)),
                    Some("reject") => Some((AutoDecide::Reject, d)),
                    Some(other) => {
                        let hint = did_you_mean(other, &["approve", "reject"], "decisions");
                        self.err(
                            &d.span,
                            format!("unknown `decide` \"{other}\" in {what}"),
                            format!("{hint} (`decide` is \"approve\" or \"reject\")"),
                        );
                        None
                    }
                    None => None,
                },
                None => {
                    self.err(
                        &item.span,
                        format!("{what} has no `decide`"),
                        "add decide = \"approve\" or decide = \"reject\"",
                    );
                    None
                }
            };
            let reason = get(fields, "reason")
                .and_then(|r| self.string(r, &format!("`reason` of {what}")))
                .map(str::to_string)
                .unwrap_or_default();
            if let Some((AutoDecide::Approve, d)) = &decide {
                let required: Vec<&str> = inputs
                    .iter()
                    .filter(|p| p.required)
                    .map(|p| p.name.as_str())
                    .collect();
                if signed {
                    self.err(
                        &d.span,
                        format!("{what} approves a signed gate"),
                        "a signed gate is approved only by its approvers' signatures: a rule may only reject it (decide = \"reject\")",
                    );
                } else if !required.is_empty() {
                    self.err(
                        &d.span,
                        format!("{what} approves, but the gate's input(s) `{}` are required: a rule has no value to give", required.join("`, `")),
                        "give the input(s) a default (a rule approves with the defaults), or decide = \"reject\"",
                    );
                }
            }
            if let (Some(cond), Some((decide, _))) = (cond, decide) {
                out.push(RawAuto {
                    cond,
                    decide,
                    reason,
                });
            }
        }
        out
    }

    /// A timeout approves with no approver to give inputs: it takes the defaults, so
    /// every input an approval needs must have one (issue 42: a required one would be
    /// approved without a value).
    fn check_timeout_approval(&mut self, on: Option<&Node>, inputs: &[ParamSpec], label: &str) {
        let Some(on) = on else { return };
        let without: Vec<&str> = inputs
            .iter()
            .filter(|p| p.required && p.default.is_none())
            .map(|p| p.name.as_str())
            .collect();
        if without.is_empty() {
            return;
        }
        let names = without
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let (input, is) = if without.len() == 1 {
            ("input", "is")
        } else {
            ("inputs", "are")
        };
        self.err(
            &on.span,
            format!(
                "the gate of {label} approves itself on timeout, but its {input} {names} {is} required with no default: a timeout has no approver to give a value"
            ),
            format!(
                "use on_timeout = \"reject\" or \"fail\", or give {names} a default instead of required = true (a timeout approves with the defaults)"
            ),
        );
    }

    /// `[approvals]`: the allowed-signers file, read now (or taken from the run's record).
    pub(super) fn approvals(&mut self, n: &Node, base_dir: &Path) -> Option<Approvals> {
        let entries = self.table(
            n,
            "`approvals`",
            "[approvals] with allowed_signers = \"allowed_signers\"",
        )?;
        self.unknown_fields(entries, APPROVALS_FIELDS, "in `approvals`");
        let Some(p) = get(entries, "allowed_signers") else {
            self.err(
                &n.span,
                "`approvals` has no `allowed_signers`",
                "add allowed_signers = \"allowed_signers\": the OpenSSH allowed-signers file (as git uses for signed commits), relative to the workflow file",
            );
            return None;
        };
        let rel = self.string(p, "`approvals.allowed_signers`")?;
        if rel.trim().is_empty() {
            self.err(
                &p.span,
                "`approvals.allowed_signers` is empty",
                "name the allowed-signers file, e.g. allowed_signers = \"allowed_signers\"",
            );
            return None;
        }
        let path = base_dir.join(rel);
        let text = match self.recorded_signers.clone() {
            None => match read_signers(&path) {
                Ok(t) => t,
                Err(why) => {
                    self.err(
                        &p.span,
                        format!("cannot read the allowed signers `{rel}`: {why}"),
                        "give the path of an OpenSSH allowed-signers file (lines of `principal ssh-ed25519 AAAA…`), relative to the workflow file",
                    );
                    return None;
                }
            },
            Some(Some(t)) => t,
            Some(None) => {
                self.err(
                    &n.span,
                    "this run was started without `[approvals]`: allowed signers cannot be added to a run under way",
                    "start a new run with the workflow as it is now (the allowed signers are recorded when a run starts)",
                );
                return None;
            }
        };
        match baton_signing::AllowedSigners::parse(&text) {
            Ok(signers) => Some(Approvals {
                path,
                written: rel.to_string(),
                signers: std::sync::Arc::new(signers),
            }),
            Err(e) => {
                self.err(
                    &p.span,
                    format!("the allowed signers `{rel}`, {e}"),
                    "each line is `principal[,principal…] [namespaces=\"…\"] keytype base64 [comment]`, the key as in a .pub file",
                );
                None
            }
        }
    }

    /// A signed gate needs the allowed signers, approvers that are principals in it,
    /// and no way to pass it unsigned.
    pub(super) fn check_signed_gates(
        &mut self,
        raw: &[RawStep<'_>],
        approvals: Option<&Approvals>,
        approvals_node: Option<&Node>,
    ) {
        for s in raw {
            let Some(g) = &s.gate else { continue };
            let Some(signed) = &g.signed else { continue };
            let label = match &s.id {
                Some((id, _)) => format!("step `{id}`"),
                None => "this step".to_string(),
            };
            if g.approvers.is_empty() {
                self.err(
                    &g.span,
                    format!("the gate of {label} is signed but lists no `approvers`"),
                    "a signed gate is decided by the principals it names: add approvers = [\"alice@example.com\"], as listed in the allowed-signers file",
                );
            }
            if g.on_timeout == OnTimeout::Approve {
                let span = g.on_timeout_span.clone().unwrap_or_else(|| g.span.clone());
                self.err(
                    &span,
                    format!("the gate of {label} is signed, so it cannot approve itself on timeout"),
                    "use on_timeout = \"reject\" or \"fail\": only approvers' signatures pass a signed gate",
                );
            }
            let Some(a) = approvals else {
                // Reported once per file below when the section is missing altogether.
                if approvals_node.is_none() {
                    self.err(
                        signed,
                        format!("the gate of {label} is signed, but the workflow has no `[approvals]` with `allowed_signers`"),
                        "add [approvals] allowed_signers = \"allowed_signers\" (the OpenSSH allowed-signers file listing each approver's public key), or remove `signed = true`",
                    );
                }
                continue;
            };
            for (name, span) in &g.approvers {
                if !a.signers.has_principal(name) {
                    self.err(
                        span,
                        format!(
                            "approver `{name}` of the signed gate of {label} is not a principal in the allowed signers `{}`",
                            a.written
                        ),
                        format!("add a line `{name} ssh-ed25519 AAAA…` (their public key) to that file, or list an approver it names"),
                    );
                }
            }
        }
    }
}

/// Why the allowed-signers file could not be read (the loader names the file).
#[derive(Debug, thiserror::Error)]
pub(super) enum SignersFileError {
    #[error("no such file")]
    NotFound,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file")]
    NotAFile,
    #[error(
        "{0} bytes, more than the {max} an allowed-signers file may have",
        max = MAX_SIGNERS_BYTES
    )]
    TooBig(u64),
    #[error("not UTF-8 text")]
    NotUtf8,
}

/// The allowed-signers file, bounded (it is a list of public keys).
pub(super) fn read_signers(path: &Path) -> Result<String, SignersFileError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SignersFileError::NotFound,
        _ => e.into(),
    })?;
    if !meta.is_file() {
        return Err(SignersFileError::NotAFile);
    }
    if meta.len() > MAX_SIGNERS_BYTES {
        return Err(SignersFileError::TooBig(meta.len()));
    }
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes).map_err(|_| SignersFileError::NotUtf8)
}

/// What a gate's rules read of their step: its label and id, and what its command gets.
pub(super) struct GateOf<'s> {
    pub label: &'s str,
    pub id: &'s str,
    pub action: &'s Action,
    pub env: &'s BTreeMap<String, Template>,
    pub with: &'s BTreeMap<String, Template>,
    /// Its tool is declared (else its rules read its `with` as written).
    pub tool_declared: bool,
}

impl Loader<'_, '_> {
    /// A step's gate resolved: its prompt, inputs, `auto` rules and `revise` steps.
    pub(super) fn step_gate(
        &mut self,
        g: &RawGate<'_>,
        of: &GateOf<'_>,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Gate {
        let prompt = match &g.prompt {
            Some((p, span)) => {
                let te = TextEntry {
                    key: "prompt",
                    key_span: span.clone(),
                    value: p.to_string(),
                    span: span.clone(),
                };
                self.step_template(&te, TemplateSite::Prompt, site, refs)
                    .unwrap_or_default()
            }
            None => Template::literal(format!("Approve step {}?", of.id)),
        };
        let inputs = self.input_templates(g, site, refs);
        let auto = self.resolve_auto_rules(g, of, site, refs);
        let revise = self.revise_steps(g, of.label, site, refs);
        let rounds = if revise.is_empty() {
            1
        } else {
            g.rounds.as_ref().map_or(DEFAULT_ROUNDS, |(r, _)| *r)
        };
        Gate {
            prompt,
            revise,
            rounds,
            approvers: g.approvers.iter().map(|(a, _)| a.clone()).collect(),
            quorum: g.quorum.as_ref().map_or(1, |(q, _)| *q),
            timeout: g.timeout,
            on_timeout: g.on_timeout,
            allow_self_approval: g.allow_self_approval,
            signed: g.signed.is_some(),
            inputs,
            auto,
        }
    }

    /// A gate's `auto` rules, their conditions checked against the step's names.
    fn resolve_auto_rules(
        &mut self,
        g: &RawGate<'_>,
        of: &GateOf<'_>,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Vec<AutoRule> {
        let (s, label) = (&site.raw[site.i], of.label);
        // What the step's command gets: a tool's parameters, and what its `env`
        // and `with` read (a builtin runs no shell).
        let shell = matches!(
            of.action,
            Action::Shell { .. } | Action::Tool { .. } | Action::Workflow { .. }
        );
        let read: Vec<String> = of
            .env
            .values()
            .chain(of.with.values())
            .flat_map(|t| t.refs().map(|r| r.to_string()))
            .collect();
        let bound =
            |n: &Name| shell && (matches!(n, Name::With(_)) || read.contains(&n.to_string()));
        // A step whose tool is not declared (said once, at its `uses`): its
        // rules read the `with` as written, not a second error per name.
        let with_keys: Vec<&str> = match (of.tool_declared, &s.with) {
            (false, Some((given, _))) if s.uses.is_some() => given.iter().map(|e| e.key).collect(),
            _ => of.with.keys().map(String::as_str).collect(),
        };
        g.auto
            .iter()
            .enumerate()
            .filter_map(|(k, r)| {
                let what = format!(
                    "`if` of rule {} of the `auto` of the gate of {label}",
                    k + 1
                );
                let (text, span) = &r.cond;
                let condition =
                    self.check_condition(site, &what, (*text, span), Some(&with_keys), refs)?;
                if r.decide == AutoDecide::Approve {
                    self.warn_text_tests(&condition, (*text, span), &what, &bound);
                }
                Some(AutoRule {
                    condition,
                    decide: r.decide,
                    reason: r.reason.clone(),
                })
            })
            .collect()
    }

    /// The steps a gate's push-back runs again (`revise`), as indices; a name that is
    /// not a step, or a fanned-out step, is an error.
    fn revise_steps(
        &mut self,
        g: &RawGate<'_>,
        label: &str,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Vec<usize> {
        let mut revise = Vec::new();
        for (name, span) in &g.revise {
            match site.index.get(name) {
                Some(&j) if site.raw[j].fanout.is_some() => self.err(
                    span,
                    format!("the gate of {label} revises `{name}`, a `matrix` or `for_each` step"),
                    "a push-back runs single steps again: revise a step that makes the list, or a step after the instances",
                ),
                Some(&j) => {
                    revise.push(j);
                    refs.push(StepRef {
                        from: site.i,
                        target: j,
                        key: String::new(),
                        read: Read::Revise,
                        span: span.clone(),
                    });
                }
                None => {
                    let hint = did_you_mean(name, &super::resolve::written_ids(site.raw), "step ids");
                    self.err(
                        span,
                        format!("the gate of {label} revises \"{name}\", which is not a step"),
                        hint,
                    );
                }
            }
        }
        revise
    }
}
