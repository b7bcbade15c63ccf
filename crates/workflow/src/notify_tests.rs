//! `[[notify]]` targets and `escalate`: each read into the plan, each mistake an error
//! at its `LINE:COL`.
use super::*;
use crate::{Plan, load_str};

const HEAD: &str = "name = \"deploy\"\n[[step]]\nid = \"go\"\nrun = \"true\"\n";

fn load(body: &str) -> Result<Plan, Vec<String>> {
    load_str(&format!("{HEAD}{body}"), Path::new("/w/deploy.toml")).map_err(|d| {
        d.0.iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect()
    })
}

#[test]
fn targets_and_an_escalation_list_are_read() {
    let plan = load(
        r#"[[notify]]
name = "first"
on = ["gate_opened"]
ntfy = "https://ntfy.example/baton-alice"
escalate = [{ after = "15m", to = "lead" }, { after = "1h", to = "pager" }]
[[notify]]
name = "chat"
on = ["run_finished"]
slack = { file = "slack-hook" }
[[notify]]
name = "lead"
webhook = { env = "LEAD_HOOK" }
timeout = "5s"
[[notify]]
name = "pager"
run = "page-the-lead"
"#,
    )
    .unwrap();
    let n = &plan.notify;
    assert_eq!(
        n[0].target,
        Some(Target {
            kind: TargetKind::Ntfy,
            url: UrlSource::Literal("https://ntfy.example/baton-alice".into()),
            slack: None,
        })
    );
    assert_eq!(n[0].run, "");
    assert_eq!(
        n[0].escalate,
        [
            Escalation {
                after: Duration::from_secs(900),
                to: "lead".into()
            },
            Escalation {
                after: Duration::from_secs(3600),
                to: "pager".into()
            },
        ]
    );
    assert_eq!(
        n[1].target.as_ref().map(|t| (&t.kind, &t.url)),
        Some((
            &TargetKind::Slack,
            &UrlSource::Secret(SecretSource::File("/w/slack-hook".into()))
        )),
        "a relative secret file is the workflow directory's"
    );
    assert_eq!(
        n[2].target.as_ref().map(|t| &t.url),
        Some(&UrlSource::Secret(SecretSource::Env("LEAD_HOOK".into())))
    );
    assert_eq!(n[2].timeout, Duration::from_secs(5));
}

#[test]
fn each_bad_target_or_step_is_an_error_at_its_place() {
    let errors = load(
        r#"[[notify]]
on = ["gate_opened"]
webhook = "ftp://files.example/x"
[[notify]]
on = ["run_finished"]
run = "true"
ntfy = "https://ntfy.example/t"
[[notify]]
on = ["gate_opened"]
slack = 3
[[notify]]
on = ["gate_opened"]
[[notify]]
on = ["gate_opened"]
ntfy = { vault = "x" }
[[notify]]
name = "a"
on = ["run_finished"]
ntfy = "https://ntfy.example/a"
escalate = [{ after = "1h", to = "a" }, { after = "30m", to = "nobody" }, { after = "2h" }]
"#,
    )
    .unwrap_err();
    let want = [
        "7:11: the `webhook` of [[notify]] #1 is not an http:// or https:// URL",
        "11:1: [[notify]] #2 has both `run` and `ntfy`",
        "14:9: the `slack` of [[notify]] #3 must be a URL or a secret source, found an integer",
        "15:1: [[notify]] #4 has no `run` and no target",
        "19:10: unknown field `vault`",
        "24:12: [[notify]] #6 escalates but does not hear `gate_opened`",
        "24:51: the `after` of a step of the `escalate` of [[notify]] #6 is not later than the step before",
        "24:63: `escalate` names no [[notify]] block `nobody`",
        "24:75: a step of the `escalate` of [[notify]] #6 has no `to`",
    ];
    for w in want {
        assert!(
            errors.iter().any(|e| e.contains(w)),
            "no error like {w:?} in {errors:#?}"
        );
    }
}

/// `slack_api` is read with its channel's ID, its token's secret source and, when
/// given, another server's `api`; an escalation to a Slack incoming webhook is an
/// error (it can neither be read back nor take a key); a channel's name and a missing
/// token are errors.
#[test]
fn a_slack_web_api_target_is_read_and_an_incoming_webhook_in_a_list_refused() {
    let hook = load(
        r#"[[notify]]
name = "first"
on = ["gate_opened"]
slack_api = { channel = "C0123ABCD", token = { credential = "slack-bot" } }
escalate = [{ after = "5m", to = "hook" }]
[[notify]]
name = "hook"
slack = { file = "slack-hook" }
"#,
    )
    .unwrap_err();
    assert!(
        hook.iter().any(|e| e.contains(
            "`escalate` tells `hook`, a Slack incoming webhook, which can neither be read back nor take a key"
        )),
        "{hook:#?}"
    );
    let plan = load(
        r#"[[notify]]
name = "first"
on = ["gate_opened"]
slack_api = { channel = "C0123ABCD", token = { credential = "slack-bot" } }
escalate = [{ after = "5m", to = "hook" }, { after = "1h", to = "other" }]
[[notify]]
name = "hook"
ntfy = "https://ntfy.example/oncall"
[[notify]]
name = "other"
slack_api = { channel = "C9", token = { env = "TOK" }, api = "http://127.0.0.1:9/api" }
"#,
    )
    .unwrap();
    let t = plan.notify[0].target.as_ref().unwrap();
    assert_eq!(t.kind, TargetKind::SlackApi);
    assert_eq!(t.url, UrlSource::Literal(SLACK_API.into()));
    assert_eq!(
        t.slack,
        Some(SlackApi {
            channel: "C0123ABCD".into(),
            token: SecretSource::Credential("slack-bot".into()),
        })
    );
    let other = plan.notify[2].target.as_ref().unwrap();
    assert_eq!(
        other.url,
        UrlSource::Literal("http://127.0.0.1:9/api".into())
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let errors = load(
        r##"[[notify]]
on = ["gate_opened"]
slack_api = { channel = "#general", token = { env = "TOK" } }
[[notify]]
on = ["gate_opened"]
slack_api = { channel = "C1" }
"##,
    )
    .unwrap_err();
    for w in [
        "7:25: the `channel` of the `slack_api` of [[notify]] #1 is not a channel's ID",
        "10:13: the `slack_api` of [[notify]] #2 has no `token`",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(w)),
            "no error like {w:?} in {errors:#?}"
        );
    }
}
