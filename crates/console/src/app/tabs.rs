//! The console's tabs, each described once (issue 54 point 4): its title, its `:`
//! names, what `/` filters on it, its own keys, its update and its view. The tab line,
//! the number keys, `Tab`/`S-Tab`, `:` names, the help's sections and the footer's keys
//! are read from this one list ([`tabs!`] below): a new tab is a [`TabSpec`] and one
//! line there.
use super::actions::{Action, Hits, Request};
use super::filter::Filter;
use super::state::UiState;
use crate::keymap::Binding;
use crate::theme::Theme;
use crate::views;
use baton_model::{RunView, StepView};
use ratatui::Frame;
use ratatui::layout::Rect;

/// What a tab does with a key its context binds (after the keys every tab shares).
pub(crate) type Update = fn(&mut UiState, &RunView, Action) -> Vec<Request>;
/// How a tab draws its body (the screen between the header and the footer).
pub(crate) type Render = fn(&mut Frame, Rect, &RunView, &UiState, &Theme, &mut Hits);

/// What `/` filters on a tab.
pub(crate) struct TabFilter {
    /// What the filter being typed matches, said under it.
    pub hint: &'static str,
    /// What is wrong with a filter for the tab's rows (`Filter::problem` of its row).
    pub problem: fn(&Filter) -> Option<String>,
    /// The tab's filter in the UI state (tabs listing the same rows share one).
    pub text: fn(&UiState) -> &String,
    pub text_mut: fn(&mut UiState) -> &mut String,
    /// `:NAME WORDS` opens the tab with that filter; `None`: the tab takes none there.
    pub from_jump: Option<fn(&mut UiState, String)>,
    /// Its update takes `/` and Esc itself; else `/` types the filter and Esc clears it.
    pub own_keys: bool,
}

/// A tab, described once.
pub(crate) struct TabSpec {
    pub title: &'static str,
    /// Its title on a tab line too narrow for the whole titles.
    pub short: &'static str,
    /// What its number key does, in the help.
    pub about: &'static str,
    /// What `:` takes for it besides its title (lowercase).
    pub names: &'static [&'static str],
    pub filter: TabFilter,
    /// Its rows are the run's steps: a step clicked there is selected there (on any
    /// other tab a clicked step opens the DAG).
    pub steps: bool,
    /// What the tab line counts after its title (` (3)`; its room kept while 0).
    pub count: Option<fn(&RunView, &UiState) -> usize>,
    /// Its own keys, for the keymap, the footer and the help (the older tabs' are in
    /// the main table, `keymap::bindings`, under their context).
    pub keys: &'static [Binding],
    /// Cancel, approve, reject, push back and mark act on the run on screen; `false`:
    /// the tab's update takes them, about its own selection (another run's item).
    pub run_keys: bool,
    /// Its body is the run on screen: while another run is opening it says so instead.
    pub of_run: bool,
    pub update: Update,
    pub render: Render,
}

/// The tab enum and its description, in tab-line order (`1` the first).
macro_rules! tabs {
    ($($(#[doc = $doc:literal])* $(#[cfg($cfg:meta)])? $tab:ident => $spec:expr,)+) => {
        /// Its name (`tab_dag`) is that of the action that shows it in the config's
        /// `[keys]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
        #[strum(serialize_all = "snake_case", prefix = "tab_")]
        pub enum Tab {
            $($(#[doc = $doc])* $(#[cfg($cfg)])? $tab,)+
        }

        impl Tab {
            /// Its description.
            pub(crate) fn spec(self) -> &'static TabSpec {
                match self {
                    $($(#[cfg($cfg)])? Tab::$tab => &$spec,)+
                }
            }
        }
    };
}

tabs! {
    Dag => DAG,
    Approvals => APPROVALS,
    Errors => ERRORS,
    Audit => AUDIT,
    Runs => RUNS,
    /// What waits on the operator across every run (`app::waiting`).
    Waiting => WAITING,
    /// What `baton serve` serves (`app::schedules`).
    Schedules => SCHEDULES,
    /// The run's steps on a time axis: waits, attempts, gates (`app::timeline`).
    Timeline => TIMELINE,
    /// A tab only the tests have: what a new tab takes (`app::tabs::probe`).
    #[cfg(test)]
    Probe => probe::PROBE,
}

#[cfg(test)]
pub(super) mod probe;

impl Default for Tab {
    fn default() -> Tab {
        Tab::ALL[0]
    }
}

impl Tab {
    pub const ALL: &'static [Tab] = <Tab as strum::VariantArray>::VARIANTS;
    pub fn title(self) -> &'static str {
        self.spec().title
    }
    pub(super) fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// The DAG's and the Timeline's rows: the run's steps.
const STEP_FILTER: TabFilter = TabFilter {
    hint: "step id words; state:NAME (e.g. state:failed)",
    problem: |f| f.problem::<StepView>(),
    text: |u| &u.filter,
    text_mut: |u| &mut u.filter,
    from_jump: Some(|u, f| u.filter = f),
    own_keys: true,
};

static DAG: TabSpec = TabSpec {
    title: "DAG",
    short: "DAG",
    about: "DAG tab",
    names: &[],
    filter: STEP_FILTER,
    steps: true,
    count: None,
    keys: &[],
    run_keys: true,
    of_run: true,
    update: super::dag::dag,
    render: views::dag::render,
};

static APPROVALS: TabSpec = TabSpec {
    title: "Approvals",
    short: "Gates",
    about: "Approvals tab (open gates)",
    names: &["gates"],
    filter: TabFilter {
        hint: "step, prompt or approver words; state:gate|budget|warned",
        problem: |f| f.problem::<baton_model::GateView>(),
        text: |u| &u.gates_filter,
        text_mut: |u| &mut u.gates_filter,
        from_jump: None,
        own_keys: false,
    },
    steps: false,
    count: Some(|v, _| v.gates.len()),
    keys: &[],
    run_keys: true,
    of_run: true,
    update: super::update::approvals_tab,
    render: views::approvals::render,
};

static ERRORS: TabSpec = TabSpec {
    title: "Errors",
    short: "Errors",
    about: "Errors tab",
    names: &[],
    filter: TabFilter {
        hint: "step or message words; state:SEVERITY|KIND|open|closed",
        problem: |f| f.problem::<baton_model::ErrorRecord>(),
        text: |u| &u.errors_filter,
        text_mut: |u| &mut u.errors_filter,
        from_jump: None,
        own_keys: false,
    },
    steps: false,
    count: Some(|v, _| v.open_errors()),
    keys: &[],
    run_keys: true,
    of_run: true,
    update: super::update::errors_tab,
    render: views::errors::render,
};

static AUDIT: TabSpec = TabSpec {
    title: "Audit",
    short: "Audit",
    about: "Audit tab (decisions)",
    names: &[],
    filter: TabFilter {
        hint: "actor, step or reason words; state:ACTION",
        problem: |f| f.problem::<baton_model::view::AuditView>(),
        text: |u| &u.audit_filter,
        text_mut: |u| &mut u.audit_filter,
        from_jump: None,
        own_keys: false,
    },
    steps: false,
    count: None,
    keys: &[],
    run_keys: true,
    of_run: true,
    update: |u, v, a| {
        u.move_in_list(v, &a);
        Vec::new()
    },
    render: views::audit::render,
};

static RUNS: TabSpec = TabSpec {
    title: "Runs",
    short: "Runs",
    about: "Runs tab (the store's runs)",
    names: &[],
    filter: TabFilter {
        hint: "id, workflow or operator words; state:NAME; wf:NAME",
        problem: |f| f.problem::<baton_model::RunSummary>(),
        text: |u| &u.runs_filter,
        text_mut: |u| &mut u.runs_filter,
        from_jump: Some(|u, f| {
            u.runs_filter = f;
            u.run_sel = 0;
        }),
        own_keys: true,
    },
    steps: false,
    count: None,
    keys: &[],
    // `c` cancels its selected run, not the one on screen.
    run_keys: false,
    of_run: false,
    update: super::runs::runs_tab,
    render: views::runs::render,
};

static WAITING: TabSpec = TabSpec {
    title: "Waiting",
    short: "Wait",
    about: "Waiting tab (what waits on you, every run)",
    names: &["wait"],
    filter: TabFilter {
        hint: "run, step or prompt words; state:KIND or run state; wf:NAME",
        problem: |f| f.problem::<baton_model::inbox::Waiting>(),
        text: |u| &u.waiting_filter,
        text_mut: |u| &mut u.waiting_filter,
        from_jump: None,
        own_keys: false,
    },
    steps: false,
    count: Some(|_, u| u.waiting_mine()),
    keys: &[],
    // Its keys are about its selected item's run, not the one on screen.
    run_keys: false,
    of_run: false,
    update: super::waiting::waiting_tab,
    render: views::waiting::render,
};

static SCHEDULES: TabSpec = TabSpec {
    title: "Schedules",
    short: "Sched",
    about: "Schedules tab (what `baton serve` serves)",
    names: &["sched"],
    filter: TabFilter {
        hint: "name, cron or file words; state:paused|active|broken; wf:NAME",
        problem: |f| f.problem::<super::schedules::SchedulePick>(),
        text: |u| &u.schedules_filter,
        text_mut: |u| &mut u.schedules_filter,
        from_jump: None,
        own_keys: false,
    },
    steps: false,
    count: None,
    keys: &[],
    // Its keys are about its selected schedule.
    run_keys: false,
    of_run: false,
    update: |u, _, a| super::schedules::schedules_tab(u, a),
    render: views::schedules::render,
};

static TIMELINE: TabSpec = TabSpec {
    title: "Timeline",
    short: "Time",
    about: "Timeline tab (waits and attempts in time)",
    names: &["gantt"],
    filter: STEP_FILTER,
    steps: true,
    count: None,
    keys: crate::keymap::TIMELINE_KEYS,
    run_keys: true,
    of_run: true,
    update: super::timeline::timeline_tab,
    render: views::timeline::render,
};
