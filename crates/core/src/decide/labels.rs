//! A run's labels (`model::labels`): those its start records, those a step writes to
//! `$BATON_LABELS` (riding in its outputs) and those set by hand (`baton label`).
//! Each change is a `run_labelled` event, so a resumed or replayed run has them all.
use super::*;
use baton_model::labels::{self, Labels};

/// The run's labels as its events left them, and those its start is to record.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelsRt {
    pub now: Labels,
    at_start: Labels,
}

impl Core {
    /// Labels the run's start records right after `run_started` (given with `baton run
    /// --label`, the console's run form or a schedule's `labels`: checked by then).
    pub fn label_at_start(&mut self, labels: Labels) {
        if self.events.is_empty() {
            self.labels.at_start = labels;
        }
    }

    /// In a start, after `run_started`: the labels it was given.
    pub(super) fn record_start_labels(&mut self, now: Timestamp, fx: &mut Fx) {
        let set = std::mem::take(&mut self.labels.at_start);
        let set = self.keep_labels(set, &mut Vec::new());
        if set.is_empty() {
            return;
        }
        let kind = EventKind::RunLabelled {
            set,
            removed: Vec::new(),
            actor: self.cfg.operator.clone(),
            step: None,
        };
        self.emit(kind, now, fx);
    }

    /// `set` without what a label may not be (a bad key or value, a secret in a value),
    /// each left out named in `problems`; within the bound a run holds.
    fn keep_labels(&self, set: Labels, problems: &mut Vec<String>) -> Labels {
        let mut kept = Labels::new();
        for (k, v) in set {
            match labels::check(&k, &v) {
                Err(e) => problems.push(e.to_string()),
                Ok(()) if self.mask(&v) != v => {
                    problems.push(format!(
                        "label `{k}`: its value holds a secret; labels are shown everywhere"
                    ));
                }
                Ok(()) => {
                    kept.insert(k, v);
                }
            }
        }
        kept
    }

    /// `baton label RUN k=v k-`: the labels set and removed, on record under the
    /// operator's name; a bad one refuses the whole command (nothing changes).
    pub(super) fn on_label(
        &mut self,
        operator: &str,
        set: &Labels,
        removed: &[String],
        now: Timestamp,
        fx: &mut Fx,
    ) -> Result<String, Refusal> {
        let mut problems = Vec::new();
        let kept = self.keep_labels(set.clone(), &mut problems);
        for k in removed.iter().filter(|k| !labels::key_ok(k)) {
            problems
                .push(labels::LabelError::BadKey(baton_model::sanitize::one_line(k)).to_string());
        }
        if let Err(e) = labels::applied(&self.labels.now, &kept, removed) {
            problems.push(e.to_string());
        }
        if !problems.is_empty() {
            return Err(Refusal::BadLabels { problems });
        }
        if kept.is_empty() && removed.is_empty() {
            return Err(Refusal::BadLabels {
                problems: vec!["no label given: KEY=VALUE sets one, KEY- removes one".into()],
            });
        }
        let kind = EventKind::RunLabelled {
            set: kept,
            removed: removed.to_vec(),
            actor: operator.to_string(),
            step: None,
        };
        self.emit(kind, now, fx);
        Ok(format!("labels now: {}", labels::text(&self.labels.now)))
    }

    /// `baton label` on a run no engine drives (ended, or interrupted): a label change
    /// is a record, not driving, so its labels change on record and nothing else moves
    /// (no step starts, no state changes, no takeover, no secret needed). The events to
    /// commit and the answer, or the refusal (nothing recorded).
    pub fn label_undriven(
        &mut self,
        command: &Command,
        now: Timestamp,
    ) -> Result<(Vec<Event>, String), Refusal> {
        let Command::Label {
            operator,
            set,
            removed,
        } = command
        else {
            return Err(Refusal::BadLabels {
                problems: vec!["only a label change is recorded on a run no engine drives".into()],
            });
        };
        if self.events.is_empty() {
            return Err(Refusal::NotStarted);
        }
        if baton_model::clean_name(operator).is_none() {
            return Err(Refusal::NoOperator);
        }
        let mut fx = Fx::new();
        let message = self.on_label(operator, set, removed, now, &mut fx)?;
        let events = fx
            .into_iter()
            .filter_map(|e| match e {
                Effect::Persist(ev) => Some(ev),
                _ => None,
            })
            .collect();
        Ok((events, message))
    }

    /// The labels step `i` wrote to `$BATON_LABELS` (checked again here: they came
    /// from a file the step wrote), on record as the step's; over the bound a run holds,
    /// none of them is taken.
    pub(super) fn label_from_step(&mut self, i: usize, set: Labels, now: Timestamp, fx: &mut Fx) {
        let set = self.keep_labels(set, &mut Vec::new());
        let changed: Labels = set
            .into_iter()
            .filter(|(k, v)| self.labels.now.get(k) != Some(v))
            .collect();
        if changed.is_empty() || labels::applied(&self.labels.now, &changed, &[]).is_err() {
            return;
        }
        let kind = EventKind::RunLabelled {
            set: changed,
            removed: Vec::new(),
            actor: baton_model::history::ENGINE.to_string(),
            step: Some(self.id(i)),
        };
        self.emit(kind, now, fx);
    }

    /// Replay of a `run_labelled` event.
    pub(crate) fn fold_labelled(&mut self, set: &Labels, removed: &[String]) {
        for k in removed {
            self.labels.now.remove(k);
        }
        self.labels
            .now
            .extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;
