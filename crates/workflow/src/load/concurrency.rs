//! `concurrency = { group = "…", on_conflict = "…" }`: the workflow's concurrency
//! group (at most one active run per group in a store), checked at load time.
use super::*;

pub(super) const CONCURRENCY_FIELDS: &[&str] = &["group", "on_conflict", "max_pending"];
const EXAMPLE: &str =
    "concurrency = { group = \"deploy-${{ params.env }}\", on_conflict = \"queue\" }";
/// A group name is a label shown in `runs` and the console, not a text.
const GROUP_MAX: usize = 200;

impl Loader<'_, '_> {
    pub(super) fn concurrency(&mut self, n: &Node, params: &[ParamSpec]) -> Option<Concurrency> {
        let entries = self.table(n, "`concurrency`", EXAMPLE)?;
        self.unknown_fields(entries, CONCURRENCY_FIELDS, "in `concurrency`");
        let on_conflict = get(entries, "on_conflict").map(|o| self.on_conflict(o));
        let max_pending = get(entries, "max_pending").map(|n| {
            self.int_at_least(n, "`max_pending` of `concurrency`", 1)
                .map(|n| n as usize)
        });
        let Some(g) = get(entries, "group") else {
            self.err(
                &n.span,
                "`concurrency` has no `group`",
                format!("name the group its runs share, e.g. {EXAMPLE}"),
            );
            return None;
        };
        let text = self.string(g, "`group` of `concurrency`")?;
        let group = match parse_template(text) {
            Ok(t) => t,
            Err(msg) => {
                self.err(
                    &g.span,
                    msg.to_string(),
                    "the group may read parameters: \"deploy-${{ params.env }}\"",
                );
                return None;
            }
        };
        let mut ok = true;
        for r in group.refs() {
            let param = match r {
                TemplateRef::Param(p) => params.iter().find(|s| &s.name == p),
                _ => {
                    self.err(
                        &g.span,
                        format!("the concurrency group reads `{r}`, which is not known when the run is made"),
                        "a group may read only parameters: \"deploy-${{ params.env }}\"",
                    );
                    ok = false;
                    continue;
                }
            };
            match param {
                None => {
                    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                    let hint =
                        match did_you_mean(&r.to_string()["params.".len()..], &names, "parameters")
                        {
                            h if h.starts_with("did you mean") => h,
                            h => format!("{h}; declare it under [params]"),
                        };
                    self.err(
                        &g.span,
                        format!("the concurrency group reads unknown parameter `{r}`"),
                        hint,
                    );
                    ok = false;
                }
                Some(p) if p.secret => {
                    self.err(
                        &g.span,
                        format!("the concurrency group reads the secret parameter `{}`", p.name),
                        "a group's name is stored and shown in `runs`: read a parameter that is not secret",
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        if text.trim().is_empty() {
            self.err(
                &g.span,
                "the concurrency group is empty",
                format!("name it, e.g. {EXAMPLE}"),
            );
            ok = false;
        }
        if text.chars().count() > GROUP_MAX || text.chars().any(char::is_control) {
            self.err(
                &g.span,
                format!("the concurrency group must be one line of at most {GROUP_MAX} characters"),
                "use a short name such as \"deploy-prod\"",
            );
            ok = false;
        }
        let on_conflict = match on_conflict {
            None => OnConflict::default(),
            Some(c) => c?,
        };
        let max_pending = match max_pending {
            None => DEFAULT_MAX_PENDING,
            Some(n) => n?,
        };
        ok.then_some(Concurrency {
            group,
            on_conflict,
            max_pending,
        })
    }

    fn on_conflict(&mut self, o: &Node) -> Option<OnConflict> {
        let s = self.string(o, "`on_conflict` of `concurrency`")?;
        let found = OnConflict::ALL.iter().copied().find(|c| c.as_str() == s);
        if found.is_none() {
            let names: Vec<&str> = OnConflict::ALL.map(OnConflict::as_str).to_vec();
            let hint = did_you_mean(s, &names, "choices");
            self.err(
                &o.span,
                format!("unknown `on_conflict` \"{s}\" in `concurrency`"),
                format!(
                    "{hint} (`on_conflict` is \"queue\" (the default: wait for the group), \"skip\" (end as skipped) or \"cancel_running\" (cancel the active run))"
                ),
            );
        }
        found
    }
}

impl Loader<'_, '_> {
    /// `scope` of a pool: `"run"` (the default) or `"store"`.
    pub(super) fn pool_scope(&mut self, n: &Node, what: &str) -> Option<PoolScope> {
        match self.string(n, &format!("`scope` of {what}"))? {
            "run" => Some(PoolScope::Run),
            "store" => Some(PoolScope::Store),
            other => {
                let hint = did_you_mean(other, &["run", "store"], "choices");
                self.err(
                    &n.span,
                    format!("unknown `scope` \"{other}\" of {what}"),
                    format!(
                        "{hint} (`scope` is \"run\" (the default: counted within each run) or \"store\" (counted over every run in the store))"
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DEFAULT_MAX_PENDING, load_str};
    use std::path::Path;

    fn with(extra: &str) -> String {
        format!(
            "name = \"d\"\nconcurrency = {{ group = \"deploy\"{extra} }}\n[[step]]\nid = \"a\"\nrun = \"true\"\n"
        )
    }

    #[test]
    fn max_pending_defaults_to_one_and_is_at_least_one() {
        let plan = load_str(&with(""), Path::new("w.toml")).unwrap();
        let c = plan.concurrency.unwrap();
        assert_eq!(c.max_pending, DEFAULT_MAX_PENDING);
        assert_eq!(DEFAULT_MAX_PENDING, 1);
        let plan = load_str(&with(", max_pending = 3"), Path::new("w.toml")).unwrap();
        assert_eq!(plan.concurrency.unwrap().max_pending, 3);
        let e = load_str(&with(", max_pending = 0"), Path::new("w.toml")).unwrap_err();
        assert!(
            e.to_string().contains("w.toml:2:") && e.to_string().contains("max_pending"),
            "{e}"
        );
    }
}
