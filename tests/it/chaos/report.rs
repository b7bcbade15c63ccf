//! What the campaign did (counted as it goes) and its report: the counts, then each
//! promise held or broken with its evidence.
use super::checks::Verdict;
use super::plan::Target;
use super::stamps::Stamp;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// Counts kept while the campaign runs.
#[derive(Default, Debug)]
pub(super) struct Tally {
    /// Signals sent, by target and signal name.
    pub signals: BTreeMap<(Target, &'static str), usize>,
    /// Signal actions that found no process of their target alive.
    pub no_target: usize,
    pub bursts: usize,
    /// Bursts not made: too many engines alive already.
    pub bursts_held_back: usize,
    pub runs_submitted: usize,
    pub resumes: usize,
    pub consoles_started: usize,
    /// Approvals typed into a console (a reason `console-N`).
    pub console_approvals_typed: usize,
    pub serves_started: usize,
    pub triggers: usize,
    /// Runs of `team` started as `gmalice` on the group store.
    pub team_runs: usize,
    /// Decide actions that found no open gate in the inbox.
    pub no_gate: usize,
}

/// A decision the campaign made through the CLI, and what the CLI answered.
#[derive(Debug)]
pub(super) struct Decision {
    pub run: String,
    pub step: String,
    pub approve: bool,
    /// The reason given: `chaos-N` (unique), found again on the audit chain.
    pub reason: String,
    /// The verdict's JSON (`--json`, the first line of its output): `accepted`,
    /// `refused` (with its code) or `recorded`; `None` if it printed none (killed).
    pub verdict: Option<String>,
    /// The OS account it was issued as on the team's group store (`team.rs`); `None`:
    /// this process's, on the campaign's store.
    pub account: Option<&'static str>,
}

impl Decision {
    pub(super) fn accepted(&self) -> bool {
        self.verdict
            .as_deref()
            .is_some_and(|v| v.contains("\"accepted\""))
    }

    /// Recorded for the run's next engine (another account's undriven run in a group
    /// store: commands.md, `--no-drive`): applied or refused later, by that engine.
    pub(super) fn recorded(&self) -> bool {
        self.verdict
            .as_deref()
            .is_some_and(|v| v.contains("\"recorded\""))
    }
}

/// The report: what was done, then each promise.
pub(super) struct Report {
    pub header: String,
    pub tally: Tally,
    pub forged: super::forge::Forged,
    pub ops: super::ops::Ops,
    pub decisions: Vec<Decision>,
    /// Runs by workflow and by final state.
    pub runs: BTreeMap<String, BTreeMap<String, usize>>,
    pub console_decisions: usize,
    pub stamps: Vec<Stamp>,
    pub verdicts: Vec<Verdict>,
}

impl Report {
    pub(super) fn held(&self) -> bool {
        self.verdicts.iter().all(|v| v.broken.is_empty())
    }

    /// The broken promises alone, each with its evidence: the last lines a failed
    /// campaign prints, so that a log cut to its end (CI's) still names them.
    pub(super) fn broken(&self) -> String {
        let mut f = String::new();
        for v in self.verdicts.iter().filter(|v| !v.broken.is_empty()) {
            verdict(&mut f, v);
        }
        f
    }

    fn kills(&self, f: &mut String) {
        for t in Target::ALL {
            let sent: Vec<String> = self
                .tally
                .signals
                .iter()
                .filter(|((target, _), _)| *target == t)
                .map(|((_, sig), n)| format!("{sig} {n}"))
                .collect();
            let total: usize = self
                .tally
                .signals
                .iter()
                .filter(|((target, _), _)| *target == t)
                .map(|(_, n)| n)
                .sum();
            let _ = writeln!(f, "  {:<13} {total:>3}  ({})", t.name(), sent.join(", "));
        }
    }

    fn steps(&self, f: &mut String) {
        let mut by_place: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.stamps {
            *by_place.entry(s.place.as_str()).or_default() += 1;
        }
        let remote: usize = by_place
            .iter()
            .filter(|(p, _)| **p != "local")
            .map(|(_, n)| n)
            .sum();
        let killed = self.stamps.iter().filter(|s| s.end.is_none()).count();
        let stopped = self
            .stamps
            .iter()
            .filter(|s| s.end.as_ref().is_some_and(|(_, how)| how == "signal"))
            .count();
        let _ = writeln!(
            f,
            "steps: {} processes stamped, {remote} remote ({by_place:?}); {stopped} stopped by a signal, {killed} with no end stamp",
            self.stamps.len()
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tally;
        let mut f = String::new();
        let _ = writeln!(f, "{}", self.header);
        let total: usize = t.signals.values().sum();
        let _ = writeln!(f, "signals sent: {total} ({} found no target)", t.no_target);
        self.kills(&mut f);
        let runs: usize = self.runs.values().flat_map(|m| m.values()).sum();
        let _ = writeln!(f, "runs: {runs}");
        for (wf, states) in &self.runs {
            let _ = writeln!(f, "  {wf:<8} {states:?}");
        }
        let accepted = self.decisions.iter().filter(|d| d.accepted()).count();
        let approvals = self.decisions.iter().filter(|d| d.approve).count();
        let _ = writeln!(
            f,
            "decisions: {} through the CLI ({approvals} approve, {} reject; {accepted} accepted; {} as another OS account on the group store, {} team runs), {} through a console ({} typed), {} schedule triggers",
            self.decisions.len(),
            self.decisions.len() - approvals,
            self.decisions
                .iter()
                .filter(|d| d.account.is_some())
                .count(),
            t.team_runs,
            self.console_decisions,
            t.console_approvals_typed,
            t.triggers
        );
        let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
        for d in &self.decisions {
            let code = d
                .verdict
                .as_deref()
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
                .and_then(|v| v["refused"]["code"].as_str().map(String::from));
            if let Some(code) = code {
                let who = d.account.unwrap_or("this account");
                *refusals.entry(format!("{code} ({who})")).or_default() += 1;
            }
        }
        let _ = writeln!(f, "  refused: {refusals:?}");
        self.steps(&mut f);
        let (fd, o) = (&self.forged, &self.ops);
        let _ = writeln!(
            f,
            "forged rows: {} approve commands, {} trigger rows, {} ask answers, {} runs' text rewritten by {} and forked, and a decision in a copy's audit table; {} found no subject{}",
            fd.commands.len(),
            fd.triggers.len(),
            fd.answers.len(),
            fd.rewrites.len(),
            super::team::BOB,
            fd.no_subject,
            if fd.failed.is_empty() {
                String::new()
            } else {
                format!(", not made: {:?}", fd.failed)
            }
        );
        let _ = writeln!(
            f,
            "operators: {} holds, {} releases, {} forks, {} push-backs ({} found no subject)",
            o.holds, o.releases, o.forks, o.push_backs, o.no_subject
        );
        let _ = writeln!(
            f,
            "processes started: {} bursts ({} runs, {} held back), {} resumes, {} consoles, {} serves",
            t.bursts,
            t.runs_submitted,
            t.bursts_held_back,
            t.resumes,
            t.consoles_started,
            t.serves_started
        );
        let _ = writeln!(f, "promises:");
        for v in &self.verdicts {
            verdict(&mut f, v);
        }
        out.write_str(&f)
    }
}

/// One promise's lines: held or broken, what was looked at, and each way it broke.
fn verdict(f: &mut String, v: &Verdict) {
    let word = if v.broken.is_empty() {
        "held  "
    } else {
        "BROKEN"
    };
    let _ = writeln!(
        f,
        "  {word} {}: {} [{}]",
        v.invariant, v.sentence, v.checked
    );
    for b in &v.broken {
        let _ = writeln!(f, "         - {b}");
    }
}
