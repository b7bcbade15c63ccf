//! The parts of a plan's step most steps leave out (a condition, a gate, a fan-out,
//! fallbacks, outputs, secrets, …): one box, made on the first write and read as blank
//! until then, through `Deref` on [`Step`] (`step.gate`, `step.fallback`). Inline they
//! were half of every step's 520 bytes, and a 100,000-step plan is held for the whole
//! run (issue 62 point 5). A write that clears what is clear must not make the box: the
//! loader writes these only when it has something (`plain_steps_make_no_rare_part`).
use super::plan::{
    Alternative, Artifacts, CacheSpec, Deadline, Gate, OutputSpec, ServiceSpec, Step,
};
use super::template::Template;
use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;

/// A step's [`StepRare`], if it has one.
#[derive(Clone, Default)]
pub struct Rare(Option<Box<StepRare>>);

impl Rare {
    /// Nothing was ever written to it.
    pub fn is_blank(&self) -> bool {
        self.0.is_none()
    }
}

impl std::fmt::Debug for Rare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(r) => r.fmt(f),
            None => f.write_str("blank"),
        }
    }
}

/// What most steps leave out; see [`Rare`].
#[derive(Debug, Clone, Default)]
pub struct StepRare {
    /// `allow_failure = "${{ matrix.KEY }}"` (params and matrix values only, as
    /// GitHub's `continue-on-error: ${{ matrix.experimental }}`): decided when the run
    /// starts, and for a matrix step per instance.
    pub allow_failure_when: Option<Template>,
    /// `allow_failure = "${{ matrix.python == '3.14' }}"`: a condition of the `if`
    /// language over the same names, decided at the same moments.
    pub allow_failure_if: Option<Box<super::condition::Condition>>,
    /// `if`: decided once the trigger rule holds; false skips the step.
    pub condition: Option<Box<super::condition::Condition>>,
    /// `fallback`: what to run, in order, once the step (after its retries) failed;
    /// each complete, what it left out taken from the step (see [`Step::alternative`]).
    pub fallback: Vec<Alternative>,
    /// `deadline`: when the step should be done by (reported, never enforced).
    pub deadline: Option<Box<Deadline>>,
    pub pool: Option<usize>,
    /// Labels the step's executor must offer (`requires`).
    pub requires: Vec<String>,
    pub dir: Option<PathBuf>,
    pub outputs: BTreeMap<String, OutputSpec>,
    pub compensate: Option<String>,
    pub gate: Option<Box<Gate>>,
    /// `secrets = ["NAME"]`: the secrets the step gets in its environment, each a
    /// `[secrets]` entry (or a name of the older list, which every step gets anyway).
    pub secrets: Vec<String>,
    /// `retry`'s `exit_code`, `never_exit_code` and `if`: which failed attempts its
    /// retry tries again, whichever alternative ran.
    pub retry_rules: Option<Box<super::retry::RetryRules>>,
    /// `repeat`: run again after it ended (Dagu's `repeatPolicy`).
    pub repeat: Option<Box<super::repeat::Repeat>>,
    /// `cache = true` (or `[defaults] cache`): skip the step when its key is unchanged.
    pub cache: Option<Box<CacheSpec>>,
    /// `service = true`: the step keeps running while its dependants run (its
    /// `restart` is its `retry`).
    pub service: Option<Box<ServiceSpec>>,
    /// `artifacts` and `uses_artifacts` (and the `steps.ID.artifacts.NAME` its
    /// templates read).
    pub artifacts: Option<Box<Artifacts>>,
    /// `matrix` or `for_each`: the step runs as instances (`workflow::fanout`).
    pub fanout: Option<Box<super::fanout::Fanout>>,
    /// Set on an instance the engine made of a fanned-out step (never by the loader).
    pub instance: Option<Box<super::fanout::Instance>>,
}

static BLANK: std::sync::LazyLock<StepRare> = std::sync::LazyLock::new(StepRare::default);

impl Deref for Step {
    type Target = StepRare;
    fn deref(&self) -> &StepRare {
        match &self.rare.0 {
            Some(r) => r,
            None => &BLANK,
        }
    }
}

impl DerefMut for Step {
    fn deref_mut(&mut self) -> &mut StepRare {
        self.rare.0.get_or_insert_with(Box::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_step_is_small() {
        // It was 520 bytes with every rare part inline (issue 62 point 5).
        assert!(
            std::mem::size_of::<Step>() <= 280,
            "a plan step is {} bytes",
            std::mem::size_of::<Step>()
        );
    }

    #[test]
    fn plain_steps_make_no_rare_part() {
        let mut text = String::from("name = \"plain\"\n");
        for i in 0..70 {
            text.push_str(&format!(
                "\n[[step]]\nid = \"s{i}\"\nrun = \"true\"\ntimeout = \"5s\"\n"
            ));
            if i > 0 {
                text.push_str(&format!("needs = [\"s{}\"]\n", i - 1));
            }
        }
        text.push_str("\n[[step]]\nid = \"noop\"\nuses = \"builtin.noop\"\n");
        let plan = crate::load_str(&text, std::path::Path::new("plain.toml")).expect("loads");
        assert_eq!(plan.steps.len(), 71);
        for s in &plan.steps {
            assert!(
                s.rare.is_blank(),
                "{} made its rare part: {:?}",
                s.id,
                s.rare
            );
        }
    }

    #[test]
    fn a_rare_part_reads_as_written() {
        let text = "name = \"r\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\ndir = \"sub\"\ncompensate = \"echo undo\"\n";
        let plan = crate::load_str(text, std::path::Path::new("r.toml")).expect("loads");
        let s = &plan.steps[0];
        assert!(!s.rare.is_blank());
        assert!(s.dir.as_ref().is_some_and(|d| d.ends_with("sub")));
        assert_eq!(s.compensate.as_deref(), Some("echo undo"));
        assert!(s.gate.is_none() && s.fallback.is_empty());
    }
}
