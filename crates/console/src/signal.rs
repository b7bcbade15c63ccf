//! What the console tells the operator outside its own screen: a bell and a desktop
//! notification when a gate opens, when 80% of a gate's time has passed and when a run
//! ends (`[notifications]` in the config turns each off), and the clipboard (OSC 52).
//! The decision is pure (`notices`, from two successive views); the bytes are built
//! here and written by the event loop.
use base64::Engine as _;
use baton_link::config::Notifications;
use baton_model::RunView;
use baton_model::inbox::{WaitKind, Waiting};

/// Something worth interrupting the operator for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    GateOpened {
        step: String,
        prompt: String,
    },
    GateWarning {
        step: String,
        prompt: String,
    },
    RunFinished {
        state: String,
    },
    /// A deadline of the run or of a step passed before it was done (`deadline_missed`).
    DeadlineMissed {
        text: String,
    },
    /// A decision someone else recorded (`app::notices`): who, what, why.
    Decision {
        text: String,
    },
    /// A store-level ask (`baton ask` run by no step) this account may answer: it has
    /// no workflow and no `[[notify]]`, so the console says so.
    Asked {
        who: String,
        prompt: String,
    },
    /// A gate this account may decide opened on a run not shown, in a console over
    /// several stores: named by its store.
    GateOpenedOn {
        store: String,
        step: String,
        prompt: String,
    },
}

impl Notice {
    /// The notification's title and body.
    pub(crate) fn text(&self, workflow: &str) -> (String, String) {
        match self {
            Notice::GateOpened { step, prompt } => {
                (format!("baton: {workflow}: gate {step}"), prompt.clone())
            }
            Notice::GateWarning { step, prompt } => (
                format!("baton: {workflow}: gate {step} times out soon"),
                prompt.clone(),
            ),
            Notice::RunFinished { state } => (
                format!("baton: {workflow}"),
                format!("the run ended: {state}"),
            ),
            Notice::Decision { text } | Notice::DeadlineMissed { text } => {
                (format!("baton: {workflow}"), text.clone())
            }
            Notice::Asked { who, prompt } => (format!("baton: {who}"), prompt.clone()),
            Notice::GateOpenedOn {
                store,
                step,
                prompt,
            } => (
                format!("baton: {workflow} on store {store}: gate {step}"),
                prompt.clone(),
            ),
        }
    }
}

/// The notices between two views of the same run that the config lets through. A view
/// of another run (the operator opened one) is no news.
pub(crate) fn notices(prev: &RunView, next: &RunView, on: &Notifications) -> Vec<Notice> {
    let mut out = Vec::new();
    if prev.run_id != next.run_id {
        return out;
    }
    for g in &next.gates {
        let before = prev.gates.iter().find(|p| p.step_id == g.step_id);
        if before.is_none() && on.gate_opened {
            out.push(Notice::GateOpened {
                step: g.step_id.clone(),
                prompt: g.prompt.clone(),
            });
        }
        if g.warned && !before.is_some_and(|p| p.warned) && on.gate_warning {
            out.push(Notice::GateWarning {
                step: g.step_id.clone(),
                prompt: g.prompt.clone(),
            });
        }
    }
    for d in next.deadlines.iter().filter(|_| on.deadline_missed) {
        let was = prev.deadlines.iter().find(|p| p.step == d.step);
        if d.missed.is_some() && was.is_none_or(|p| p.missed.is_none()) {
            out.push(Notice::DeadlineMissed {
                text: format!(
                    "{} deadline missed: not done {}",
                    d.step.as_deref().unwrap_or("run"),
                    d.rule()
                ),
            });
        }
    }
    if next.state.is_final() && !prev.state.is_final() && on.run_finished {
        out.push(Notice::RunFinished {
            state: next.state.to_string(),
        });
    }
    out
}

/// The store-level asks new in `next` (the Waiting list) that this account may
/// answer, when the config lets gate openings through: an ask's opening is a gate's.
pub(crate) fn ask_notices(prev: &[Waiting], next: &[Waiting], on: &Notifications) -> Vec<Notice> {
    if !on.gate_opened {
        return Vec::new();
    }
    let store_level = |w: &Waiting| w.kind == WaitKind::Ask && w.ask.as_ref() == Some(&w.run_id);
    next.iter()
        .filter(|w| store_level(w) && w.mine)
        .filter(|w| !prev.iter().any(|p| p.ask == w.ask))
        .map(|w| Notice::Asked {
            who: w.workflow.clone(),
            prompt: w.prompt.clone(),
        })
        .collect()
}

/// In a console over several stores (`desk`), the gates new in `next` (the joined
/// Waiting list) that this account may decide, opened since the console watches
/// (`since`, less 2 s for the hosts' clocks) on a run other than the one `shown` (its
/// view rings for it): each with its workflow, named by its store.
pub(crate) fn desk_notices(
    (prev, next): (&[Waiting], &[Waiting]),
    desk: &baton_link::Desk,
    shown: &str,
    since: baton_model::Timestamp,
    on: &Notifications,
) -> Vec<(Notice, String)> {
    if !on.gate_opened || !desk.is_many() {
        return Vec::new();
    }
    let key = |w: &Waiting| (w.run_id.clone(), w.step.clone());
    next.iter()
        .filter(|w| w.kind == WaitKind::Gate && w.ask.is_none() && w.mine)
        .filter(|w| w.run_id != shown && w.since.0 >= since.0 - 2_000)
        .filter(|w| {
            !prev
                .iter()
                .any(|p| p.kind == WaitKind::Gate && key(p) == key(w))
        })
        .map(|w| {
            let n = Notice::GateOpenedOn {
                store: desk.name_of(&w.run_id).to_string(),
                step: w.step.clone(),
                prompt: w.prompt.clone(),
            };
            (n, w.workflow.clone())
        })
        .collect()
}

/// Text that may sit inside an OSC string: no control characters (which would end it
/// or start another sequence) and, for OSC 777's fields, no `;`.
fn osc_text(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == ';' { ' ' } else { c })
        .take(max)
        .collect()
}

/// The bytes for one notice: BEL, then OSC 9 (iTerm2, WezTerm, Windows Terminal, kitty)
/// and OSC 777 (foot, rxvt, kitty); a terminal ignores the one it does not know.
pub(crate) fn notice_bytes(n: &Notice, workflow: &str, on: &Notifications) -> Vec<u8> {
    let mut b = Vec::new();
    if on.bell {
        b.push(0x07);
    }
    if on.desktop {
        let (title, body) = n.text(workflow);
        let (title, body) = (osc_text(&title, 120), osc_text(&body, 400));
        b.extend_from_slice(format!("\x1b]9;{title}: {body}\x1b\\").as_bytes());
        b.extend_from_slice(format!("\x1b]777;notify;{title};{body}\x1b\\").as_bytes());
    }
    b
}

/// OSC 52: put `text` on the system clipboard through the terminal (tmux with
/// `set-clipboard on` keeps it in its buffer).
pub(crate) fn clipboard_bytes(text: &str) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{data}\x07").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use baton_model::RunState;

    #[test]
    fn a_new_gate_a_warning_and_the_end_are_news_once() {
        let on = Notifications::default();
        let mut before = fixtures::release();
        let after = before.clone();
        let gate = before.gates.remove(0);
        let n = notices(&before, &after, &on);
        assert_eq!(
            n,
            vec![Notice::GateOpened {
                step: gate.step_id.clone(),
                prompt: gate.prompt.clone()
            }]
        );
        assert!(notices(&after, &after, &on).is_empty(), "nothing new");
        let mut warned = after.clone();
        warned.gates[0].warned = true;
        assert!(matches!(
            notices(&after, &warned, &on)[..],
            [Notice::GateWarning { .. }]
        ));
        let mut ended = warned.clone();
        ended.state = RunState::Failed;
        ended.gates.clear();
        assert_eq!(
            notices(&warned, &ended, &on),
            vec![Notice::RunFinished {
                state: "failed".into()
            }]
        );
        // Another run in the console is not news about this one.
        let mut other = after.clone();
        other.run_id = "01OTHER".into();
        assert!(notices(&before, &other, &on).is_empty());
    }

    #[test]
    fn a_missed_deadline_is_news_once_and_can_be_turned_off() {
        let before = fixtures::deadline_missed();
        let mut not_yet = before.clone();
        not_yet.deadlines[0].missed = None;
        let n = notices(&not_yet, &before, &Notifications::default());
        assert_eq!(
            n,
            vec![Notice::DeadlineMissed {
                text: "run deadline missed: not done within 5m00s".into()
            }]
        );
        assert!(notices(&before, &before, &Notifications::default()).is_empty());
        let off = Notifications {
            deadline_missed: false,
            ..Notifications::default()
        };
        assert!(notices(&not_yet, &before, &off).is_empty());
    }

    #[test]
    fn each_notice_can_be_turned_off() {
        let mut before = fixtures::release();
        let after = before.clone();
        before.gates.clear();
        let off = Notifications {
            gate_opened: false,
            ..Notifications::default()
        };
        assert!(notices(&before, &after, &off).is_empty());
        let n = Notice::RunFinished {
            state: "succeeded".into(),
        };
        let quiet = Notifications {
            bell: false,
            desktop: false,
            ..Notifications::default()
        };
        assert!(notice_bytes(&n, "w", &quiet).is_empty());
        let bell_only = Notifications {
            desktop: false,
            ..Notifications::default()
        };
        assert_eq!(notice_bytes(&n, "w", &bell_only), b"\x07");
    }

    #[test]
    fn notification_text_cannot_break_out_of_its_sequence() {
        let n = Notice::GateOpened {
            step: "deploy".into(),
            prompt: "ship?\x07\x1b]52;c;ZXZpbA==\x07; rm".into(),
        };
        let b = String::from_utf8(notice_bytes(&n, "release", &Notifications::default())).unwrap();
        assert!(b.starts_with('\x07'));
        assert!(b.contains("\x1b]9;baton: release: gate deploy: ship?"));
        assert!(b.contains("\x1b]777;notify;baton: release: gate deploy;ship?"));
        // One BEL (the bell itself) and exactly two OSC introducers: nothing injected.
        assert_eq!(b.matches('\x07').count(), 1, "{b:?}");
        assert_eq!(b.matches("\x1b]").count(), 2, "{b:?}");
    }

    #[test]
    fn over_several_stores_a_gate_new_since_the_console_watches_rings_naming_its_store() {
        use baton_link::{Desk, LinkState, StoreStatus};
        let on = Notifications::default();
        let gate = |run: &str, since: i64| {
            let mut w = baton_model::ask::waiting(&test_ask(), "alice", None);
            (w.kind, w.ask, w.mine) = (WaitKind::Gate, None, true);
            (w.run_id, w.step, w.workflow) = (run.into(), "deploy".into(), "ship".into());
            w.since = baton_model::Timestamp(since);
            w
        };
        let store = |name: &str| StoreStatus {
            name: name.into(),
            host: "h".into(),
            state: LinkState::Connected,
        };
        let desk = Desk {
            stores: vec![store("here"), store("gpu")],
            of_run: [("r-gpu".to_string(), 1), ("r-old".to_string(), 1)]
                .into_iter()
                .collect(),
        };
        let since = baton_model::Timestamp(10_000);
        let (new, old) = (gate("r-gpu", 10_500), gate("r-old", 1_000));
        let next = vec![new.clone(), old];
        let got = desk_notices((&[], &next), &desk, "r-shown", since, &on);
        // The gate that waited before the console opened is no news.
        assert_eq!(got.len(), 1, "{got:?}");
        let (title, body) = got[0].0.text(&got[0].1);
        assert_eq!(title, "baton: ship on store gpu: gate deploy");
        assert_eq!(body, "drop it?");
        // Once: in the list before, it rings no more; the shown run's rings by its view.
        assert!(desk_notices((&next, &next), &desk, "r-shown", since, &on).is_empty());
        assert!(desk_notices((&[], &next), &desk, "r-gpu", since, &on).is_empty());
        // Over one store, and with gate openings off: nothing.
        assert!(desk_notices((&[], &next), &Desk::default(), "", since, &on).is_empty());
        let off = Notifications {
            gate_opened: false,
            ..Notifications::default()
        };
        assert!(desk_notices((&[], &next), &desk, "", since, &off).is_empty());
    }

    #[test]
    fn the_clipboard_gets_base64() {
        assert_eq!(clipboard_bytes("01JXR3T5"), b"\x1b]52;c;MDFKWFIzVDU=\x07");
    }

    fn test_ask() -> baton_model::ask::Ask {
        ask_of("ask-0", None)
    }

    fn ask_of(id: &str, run: Option<&str>) -> baton_model::ask::Ask {
        baton_model::ask::Ask {
            id: id.into(),
            run_id: run.map(str::to_string),
            step_id: run.map(|_| "s".to_string()),
            workflow: None,
            prompt: "drop it?".into(),
            inputs: vec![],
            approvers: vec![],
            quorum: 1,
            allow_self_approval: false,
            signers: None,
            asker: baton_model::ask::Asker {
                account: "agent".into(),
                holder: "pid 1 on h".into(),
                command: "x".into(),
            },
            opened_at: baton_model::Timestamp(0),
            deadline: None,
            state: baton_model::ask::AskState::Open,
            votes: vec![],
            values: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        }
    }

    #[test]
    fn a_new_store_level_ask_this_account_may_answer_is_news_once() {
        let ask = ask_of;
        let on = Notifications::default();
        let a = baton_model::ask::waiting(&ask("ask-1", None), "alice", None);
        let step_s = baton_model::ask::waiting(&ask("ask-2", Some("01r")), "alice", None);
        let own = baton_model::ask::waiting(&ask("ask-3", None), "agent", None);
        let next = vec![a.clone(), step_s, own];
        assert_eq!(
            ask_notices(&[], &next, &on),
            vec![Notice::Asked {
                who: "ask by agent".into(),
                prompt: "drop it?".into()
            }],
            "a step's ask is its run's [[notify]]'s; the asker's own is not news to it"
        );
        assert!(ask_notices(&[a], &next, &on).is_empty(), "once");
        let off = Notifications {
            gate_opened: false,
            ..Notifications::default()
        };
        assert!(ask_notices(&[], &next, &off).is_empty());
    }
}
