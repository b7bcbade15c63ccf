//! A step's `repeat` (Dagu's `repeatPolicy`): as written, then its condition checked
//! once every step is known.
use super::resolve::Site;
use super::*;
use crate::condition::{self, Name};
use crate::repeat::{Repeat, RepeatMode};

pub(super) const REPEAT_FIELDS: &[&str] = &[
    "while",
    "until",
    "exit_code",
    "until_exit_code",
    "limit",
    "interval",
];
const EXAMPLE: &str = "repeat = { until = \"steps.ID.outputs.status == 'done'\", limit = 10, interval = \"30s\" }, or repeat = { exit_code = [75], limit = 5 }";

/// `repeat` as written: its condition not yet parsed.
#[derive(Debug, Clone)]
pub(super) struct RawRepeat<'n> {
    mode: RepeatMode,
    cond: Option<(&'n str, Span)>,
    exit_codes: Vec<i32>,
    limit: Option<u32>,
    interval: Duration,
}

impl Loader<'_, '_> {
    /// A step's `repeat` table: one of `while`/`until` (a condition) or `exit_code`.
    pub(super) fn repeat<'n>(&mut self, n: &'n Node, label: &str) -> Option<RawRepeat<'n>> {
        let what = format!("`repeat` of {label}");
        let t = self.table(n, &what, EXAMPLE)?;
        self.unknown_fields(t, REPEAT_FIELDS, &format!("in {what}"));
        let mut cond = None;
        let mut mode = RepeatMode::While;
        for (key, m) in [("while", RepeatMode::While), ("until", RepeatMode::Until)] {
            if let Some(c) = get(t, key) {
                if cond.is_some() {
                    self.err(&c.span, format!("{what} has both `while` and `until`"), "keep one: `while` runs it again while the condition holds, `until` until it holds");
                }
                mode = m;
                cond = self
                    .string(c, &format!("`{key}` of {what}"))
                    .map(|s| (s, c.span.clone()));
            }
        }
        let mut exit_codes = get(t, "exit_code")
            .map(|c| self.exit_codes(c, &what))
            .unwrap_or_default();
        // `until_exit_code`: again until the code is one listed (Dagu's `repeat: until`
        // with `exitCode`).
        if let Some(e) = get_entry(t, "until_exit_code") {
            if cond.is_some() || get(t, "exit_code").is_some() {
                self.err(
                    &e.key_span,
                    format!("{what} has `until_exit_code` and another test"),
                    "keep one of `while`, `until`, `exit_code` and `until_exit_code`",
                );
            }
            exit_codes = self.exit_codes(&e.node, &what);
            mode = RepeatMode::Until;
        }
        match (&cond, exit_codes.is_empty(), get_entry(t, "exit_code")) {
            (Some(_), _, Some(e)) => self.err(&e.key_span, format!("{what} has a condition and `exit_code`"), "keep one: the condition is decided after an execution that succeeded, `exit_code` after any"),
            (None, true, _) => self.err(&n.span, format!("{what} says neither when to run again"), format!("write {EXAMPLE}")),
            _ => {}
        }
        let limit = get(t, "limit")
            .and_then(|l| self.int_at_least(l, &format!("`limit` of {what}"), 1))
            .map(|l| u32::try_from(l).unwrap_or(u32::MAX));
        let interval = get(t, "interval")
            .and_then(|d| self.duration(d, &format!("`interval` of {what}")))
            .unwrap_or_default();
        Some(RawRepeat {
            mode,
            cond,
            exit_codes,
            limit,
            interval,
        })
    }

    fn exit_codes(&mut self, n: &Node, what: &str) -> Vec<i32> {
        let items = match &n.val {
            Val::Array(items) => items,
            _ => {
                self.type_error(
                    n,
                    &format!("`exit_code` of {what}"),
                    "a list of exit codes",
                    "exit_code = [75, 1]",
                );
                return Vec::new();
            }
        };
        let mut codes = Vec::new();
        for item in items {
            match item.val {
                Val::Int(c) if (0..=255).contains(&c) => codes.push(c as i32),
                _ => self.err(
                    &item.span,
                    format!(
                        "`exit_code` of {what} lists {}",
                        self.r.map.text(&item.span).unwrap_or("?")
                    ),
                    "an exit code is a whole number from 0 to 255",
                ),
            }
        }
        codes
    }

    /// Step `site.i`'s `repeat`, its condition parsed: it reads params, `run.id` and
    /// the step's own outputs (the last execution's), nothing another step decides.
    pub(super) fn resolve_repeat(
        &mut self,
        site: &Site<'_, '_, '_>,
        label: &str,
    ) -> Option<Box<Repeat>> {
        let r = site.raw[site.i].repeat.as_ref()?;
        let own = site.raw[site.i].id.as_ref().map_or("", |(id, _)| *id);
        let condition = match &r.cond {
            None => None,
            Some((text, span)) => {
                let what = format!("`repeat.{}` of {label}", r.mode.as_str());
                let at = self.placer((text, span));
                let mut c = match condition::parse(text) {
                    Ok(c) => c,
                    Err(e) => {
                        self.err(&at(&e.at), format!("{what}: {}", e.message), e.hint);
                        return None;
                    }
                };
                let mut ok = true;
                for (name, place) in c.names() {
                    let fine = match name {
                        Name::Param(p) => site.param_names.contains(&p.as_str()),
                        Name::RunId => true,
                        Name::StepOutput { step_id, .. } => step_id == own,
                        _ => false,
                    };
                    if !fine {
                        ok = false;
                        self.err(&at(&place), format!("{what} reads `{name}`"), format!("a repeat condition reads the step's own outputs (`steps.{own}.outputs.KEY`, the last execution's), declared params and `run.id`"));
                    }
                }
                let i = site.i;
                c.resolve_steps(|_| i);
                if !ok {
                    return None;
                }
                Some(c)
            }
        };
        Some(Box::new(Repeat {
            mode: r.mode,
            condition,
            exit_codes: r.exit_codes.clone(),
            limit: r.limit,
            interval: r.interval,
        }))
    }
}
