//! `deadline = { at = "06:00", within = "2h", notify = ["oncall"] }` at the top level
//! (the run's) and on a `[[step]]`: when it should be done by. Read after the steps are
//! resolved and the `[[notify]]` blocks known, so `notify` names are checked here.
use super::*;
use baton_model::deadline::TimeOfDay;

pub(super) const DEADLINE_FIELDS: &[&str] = &["at", "within", "notify"];

impl Loader<'_, '_> {
    /// The run's `deadline`, and each `[[step]]` table's into `steps[i].deadline`
    /// (`steps` in file order, one per table).
    pub(super) fn deadlines(
        &mut self,
        top: &[Entry],
        steps: &mut [Step],
        notify: &[Notifier],
    ) -> Option<Deadline> {
        if let Some(Val::Array(items)) = get(top, "step").map(|n| &n.val) {
            let tables = items.iter().filter_map(Node::entries);
            for (fields, step) in tables.zip(steps.iter_mut()) {
                let what = format!("step `{}`", step.id);
                if let Some(d) =
                    get(fields, "deadline").and_then(|n| self.deadline(n, &what, notify))
                {
                    step.deadline = Some(Box::new(d));
                }
            }
        }
        get(top, "deadline").and_then(|n| self.deadline(n, "the workflow", notify))
    }

    fn deadline(&mut self, n: &Node, of: &str, notify: &[Notifier]) -> Option<Deadline> {
        let what = format!("the `deadline` of {of}");
        let fields = self.table(
            n,
            &what,
            "deadline = { within = \"2h\" } or deadline = { at = \"06:00\", notify = [\"oncall\"] }",
        )?;
        self.unknown_fields(fields, DEADLINE_FIELDS, &format!("in {what}"));
        let at = get(fields, "at").and_then(|n| self.time_of_day(n, &what));
        let within =
            get(fields, "within").and_then(|n| self.duration(n, &format!("`within` of {what}")));
        let notify = get(fields, "notify")
            .map(|n| self.notify_names(n, &what, notify))
            .unwrap_or_default();
        let (has_at, has_within) = (get(fields, "at"), get(fields, "within"));
        if has_at.is_none() && has_within.is_none() {
            self.err(
                &n.span,
                format!("{what} says no time"),
                "give `within` (a duration from the start, e.g. within = \"2h\") or `at` (a time of day, e.g. at = \"06:00\"), or both",
            );
            return None;
        }
        (at.is_some() || within.is_some()).then_some(Deadline { at, within, notify })
    }

    fn time_of_day(&mut self, n: &Node, what: &str) -> Option<TimeOfDay> {
        let text = self.string(n, &format!("`at` of {what}"))?;
        let t = TimeOfDay::parse(text.trim());
        if t.is_none() {
            self.err(
                &n.span,
                format!("`at` of {what} is not a time of day: \"{text}\""),
                "write a 24-hour time, HH:MM or HH:MM:SS (the hour may have one digit), e.g. at = \"06:00\" (read in the schedule's time zone, else the local one)",
            );
        }
        t
    }

    /// `notify = ["oncall"]`: each a `[[notify]]` block's `name`.
    fn notify_names(&mut self, n: &Node, what: &str, notify: &[Notifier]) -> Vec<usize> {
        let names: Vec<&str> = notify.iter().filter_map(|b| b.name.as_deref()).collect();
        let Val::Array(items) = &n.val else {
            self.type_error(
                n,
                &format!("`notify` of {what}"),
                "an array of [[notify]] names",
                "notify = [\"oncall\"]",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(name) = self.string(item, &format!("each name in `notify` of {what}")) else {
                continue;
            };
            match notify.iter().position(|b| b.name.as_deref() == Some(name)) {
                Some(i) if !out.contains(&i) => out.push(i),
                Some(_) => {}
                None if names.is_empty() => self.err(
                    &item.span,
                    format!("`notify` of {what} names `{name}`, but no [[notify]] block has a name"),
                    format!("give the block to tell name = \"{name}\" (and, e.g., run = 'curl -fsS -d \"$BATON_PROMPT\" \"$HOOK\"')"),
                ),
                None => self.err(
                    &item.span,
                    format!("`notify` of {what} names `{name}`, which no [[notify]] block is called"),
                    did_you_mean(name, &names, "[[notify]] names"),
                ),
            }
        }
        out
    }
}
