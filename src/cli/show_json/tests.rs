use super::*;
use crate::model::ProbeKind;
use serde_json::Value;
use std::collections::BTreeSet;

/// A view with every optional field of the document filled (maps left empty: their
/// keys are data, not fields).
/// An artifact a step kept, every field set (schema 9).
fn artifact() -> crate::model::view::ArtifactView {
    crate::model::view::ArtifactView {
        record: crate::model::ArtifactRecord {
            name: "model".into(),
            path: "out/m.ckpt".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            size: 4,
        },
        run: "01J9Z3QK7V2M4P8R6T0W5X1Y3A".into(),
        attempt: 1,
    }
}

/// A note on the run's `build` step and the first step's summary (schema 10).
fn noted(v: &mut RunView) {
    v.notes = vec![crate::model::note::NoteView {
        at: v.now,
        by: "alice".into(),
        step: Some("build".into()),
        text: "looked at: the runner was slow".into(),
    }];
    if let Some(s) = v.steps.first_mut() {
        s.summary = Some("# Built\n3 images".into());
    }
}

/// Both ends of a trigger's chain, every field set (schema 11).
fn chained(v: &mut RunView) {
    let trigger = |run: &str| crate::model::view::TriggerLink {
        trigger: "publish#1".into(),
        kind: "run_ended".into(),
        event: "run 01J9Z3QK7V2M4P8R6T0W5X1Y3D of build succeeded".into(),
        fate: "started".into(),
        run: Some(run.into()),
        why: Some("the trigger is paused".into()),
        events: Vec::new(),
    };
    let mut by = trigger(&v.run_id.clone());
    by.events = vec!["file /in/a.csv".into(), "file /in/b.csv".into()];
    v.triggers.started_by = Some(by);
    v.triggers.started = vec![trigger("01J9Z3QK7V2M4P8R6T0W5X1Y3E")];
}

fn full() -> RunView {
    let mut v = crate::console::fixtures::cluster_jobs();
    v.driven_by = Some("pid 4242 on build-1".into());
    v.finished_at = Some(Timestamp(v.now.0 + 1_000));
    v.summary = Some("3 of 9 steps succeeded".into());
    v.workflow_hash = Some("3f2a9c1b7d0e".into());
    noted(&mut v);
    let link = |run: &str| crate::model::view::ForkLink {
        run: run.into(),
        step: "build".into(),
    };
    v.forked_from = Some(link("01J9Z3QK7V2M4P8R6T0W5X1Y3A"));
    v.forked_into = vec![link("01J9Z3QK7V2M4P8R6T0W5X1Y3B")];
    v.parent = Some(crate::model::view::ParentLink {
        run: "01J9Z3QK7V2M4P8R6T0W5X1Y3C".into(),
        step: "deploy".into(),
        attempt: 1,
    });
    chained(&mut v);
    if v.health.terms.is_empty() {
        v.health.terms.push(HealthTerm {
            label: "succeeded".into(),
            count: 1,
            value: 1.0,
        });
    }
    if let Some(b) = v.budget.as_mut() {
        b.burn = vec![crate::model::burn::Burn {
            dimension: "cost".into(),
            per_minute: 0.5,
            left_ms: Some(60_000),
        }];
    }
    for s in &mut v.steps {
        s.artifacts = vec![artifact()];
        s.usage = Some(crate::model::Usage {
            cost: 0.25,
            tokens: 600,
            calls: 1,
        });
        s.outputs.clear();
        s.exit_code = Some(0);
        s.signal = Some(9);
        s.started_at = Some(v.now);
        s.finished_at = Some(v.now);
        s.cached_from = Some("01J9Z3QK7V2M4P8R6T0W5X1Y3A".into());
        s.reused_from = Some("01J9Z3QK7V2M4P8R6T0W5X1Y3A".into());
        s.child_run = Some("01J9Z3QK7V2M4P8R6T0W5X1Y3D".into());
        s.why = Some("condition false: params.event == 'release' (params.event = \"push\")".into());
        s.marked = Some(Box::new(crate::model::view::MarkView {
            state: StepState::Succeeded,
            by: "olivia".into(),
            reason: "fixed by hand".into(),
            at: v.now,
        }));
        s.hold = Some(Box::new(crate::model::view::HoldView {
            by: "olivia".into(),
            reason: "change freeze".into(),
            at: v.now,
            until: Some(v.now),
            frozen: true,
            exhausted: false,
            budget: false,
        }));
        s.probe = Some(Box::new(ProbeView {
            probe: ProbeKind::Live,
            check: "tcp 127.0.0.1:5432".into(),
            ok: true,
            detail: "connected".into(),
            failures: 0,
            at: v.now,
        }));
    }
    for e in &mut v.errors {
        e.context.clear();
    }
    // A fanned-out step and its instance (`fan_out`, `instance_of`).
    let (p, n) = (0, v.steps.len());
    let mut inst = v.steps[p].clone();
    inst.id = format!("{}[0]", inst.id);
    inst.parent = Some(p);
    v.steps.push(inst);
    v.steps[p].fan = Some(crate::model::fan::FanView {
        instances: n..n + 1,
        counts: crate::model::fan::FanCounts::pending(1),
    });
    crate::model::fan::recount(&mut v);
    v.deadlines = vec![crate::model::deadline::DeadlineView {
        step: Some("build".into()),
        due: Some(v.now),
        at: Some("06:00".into()),
        zone: Some("Europe/Paris".into()),
        within_ms: Some(7_200_000),
        missed: Some(v.now),
        met: false,
    }];
    v
}

/// The JSON type of a value, as the field list names it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field path of a document (`steps[].jobs[].state`), maps' keys included.
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn fields() -> BTreeSet<String> {
    let v = full();
    let doc = serde_json::to_value(of(&v)).unwrap();
    let mut out = BTreeSet::new();
    paths(&doc, "", &mut out);
    out
}

/// The type of the field at `path` in a document of the full view: of its first
/// value that is not null, across every element of the arrays on the way.
fn type_at(doc: &Value, path: &str) -> &'static str {
    fn values<'v>(v: &'v Value, parts: &[&str], out: &mut Vec<&'v Value>) {
        let Some((part, rest)) = parts.split_first() else {
            out.push(v);
            return;
        };
        let name = part.trim_end_matches("[]");
        let arrays = (part.len() - name.len()) / 2;
        let mut here = vec![&v[name]];
        for _ in 0..arrays {
            here = here
                .into_iter()
                .flat_map(|a| a.as_array().into_iter().flatten())
                .collect();
        }
        for h in here {
            values(h, rest, out);
        }
    }
    if path.ends_with("[]") {
        return "array";
    }
    let parts: Vec<&str> = path.split('.').collect();
    let mut found = Vec::new();
    values(doc, &parts, &mut found);
    found
        .into_iter()
        .map(kind)
        .find(|k| *k != "null")
        .unwrap_or("null")
}

/// The field list of each schema version is a snapshot named by the version: a field
/// changed without bumping `SCHEMA` changes the snapshot of a released version.
#[test]
fn the_fields_of_the_document_are_those_of_its_schema_version() {
    let doc = serde_json::to_value(of(&full())).unwrap();
    let list: Vec<String> = fields()
        .into_iter()
        .map(|f| format!("{f}: {}", type_at(&doc, &f)))
        .collect();
    assert!(list.contains(&"steps[].jobs[].running_at: string".to_string()));
    assert!(list.contains(&"steps[].probe.failures: integer".to_string()));
    assert!(list.contains(&"errors[].suggestion: string".to_string()));
    insta::assert_snapshot!(format!("fields_of_schema_{SCHEMA}"), list.join("\n"));
}

/// `docs/show-json.md` documents the current version and every one of its fields.
#[test]
fn the_documentation_names_the_version_and_every_field() {
    let doc = include_str!("../../../docs/show-json.md");
    assert!(
        doc.contains(&format!("Schema version: **{SCHEMA}**")),
        "docs/show-json.md must name schema version {SCHEMA}"
    );
    let missing: Vec<String> = fields()
        .into_iter()
        .filter(|f| !doc.contains(&format!("`{f}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/show-json.md does not document {missing:?}"
    );
}

/// Plan order, each instance right after its fanned-out step.
#[test]
fn the_document_lists_every_step_in_plan_order() {
    let v = full();
    let doc = of(&v);
    let ids: Vec<&str> = doc.steps.iter().map(|s| s.id).collect();
    let mut plan: Vec<&str> = v.steps.iter().map(|s| s.id.as_str()).collect();
    let inst = plan.pop().unwrap();
    plan.insert(1, inst);
    assert_eq!(ids, plan);
    assert_eq!(doc.steps[1].instance_of, Some(doc.steps[0].id));
    assert_eq!(doc.steps[0].fan_out.map(|c| c.total), Some(1));
}

#[test]
fn a_step_names_its_latest_attempts_job_or_runs_locally() {
    let v = full();
    let doc = serde_json::to_value(of(&v)).unwrap();
    let step = |id: &str| {
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    let package = step("package");
    assert_eq!(package["executor"], "hpc");
    assert_eq!(package["job_id"], "48213");
    assert_eq!(package["jobs"][0]["reason"], "Resources");
    assert_eq!(package["jobs"][0]["running_at"], Value::Null);
    let built = step("build");
    assert_eq!(built["executor"], "local");
    assert_eq!(built["job_id"], Value::Null);
    assert_eq!(built["jobs"], serde_json::json!([]));
    assert_eq!(built["cached"], true);
    assert_eq!(doc["schema"], SCHEMA);
    assert_eq!(doc["started_at"], v.started_at.unwrap().to_rfc3339());
}
