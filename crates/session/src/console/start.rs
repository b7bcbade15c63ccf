//! The console's new runs (issue 58 point 6) and two runs' differences (point 8): a
//! workflow's params read for the run form, the run started as `baton run FILE --param
//! …` starts it (`prepare::load_new`'s checks, `concurrency::create`, under this
//! console's OS account) and driven here, and `baton diff`'s computation for the Runs tab.
use super::{Back, Reply, Service, refusal};
use crate::SessionError;
use crate::concurrency::Admission;
use crate::prepare::{NewRunSpec, Ready, load_new};
use baton_link::{FormParam, RunForm, RunsDiff, Started};
use baton_model::Refusal;
use baton_store::Store;
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;

impl Service {
    /// The run form of `file` (of its `schedule`), read off the service's thread
    /// (nothing is written).
    pub(super) fn run_form(
        &self,
        file: PathBuf,
        schedule: Option<u32>,
        reply: oneshot::Sender<Result<RunForm, Refusal>>,
    ) {
        tokio::task::spawn_blocking(move || {
            let _ = reply.send(form(&file, schedule).map_err(|e| refusal(&e)));
        });
    }

    /// Make the run off the service's thread; it comes back to be driven here and shown.
    pub(super) fn start_run(
        &self,
        file: PathBuf,
        params: Vec<(String, String)>,
        reply: oneshot::Sender<Result<Started, Refusal>>,
    ) {
        // The run form's labels ride in its params (`model::labels::split_params`);
        // each is checked as `baton run --label`'s (`prepare::load_plan`).
        let (params, labels) = baton_model::labels::split_params(params);
        let spec = NewRunSpec {
            workflow: file,
            params,
            labels,
            operator: self.operator.clone(),
            ..NewRunSpec::default()
        };
        let (db, back) = (self.db.clone(), self.back_tx.clone());
        tokio::task::spawn_blocking(move || {
            let given = spec.params.clone();
            let made = load_new(spec).and_then(|loaded| {
                let mut store = Store::open(&db)?;
                store.wait_as_engine()?;
                crate::concurrency::create(&mut store, loaded, &crate::host::lease_holder(), None)
            });
            match made {
                Ok(made) => {
                    let mut message = format!(
                        "started run {} of {}",
                        made.ready.run_id, made.ready.workflow
                    );
                    if let Some(said) = made.said() {
                        message = format!("{message}; {said}");
                    }
                    let skipped = matches!(made.admitted, Some((_, Admission::Skipped { .. })));
                    let run_id = made.ready.run_id.clone();
                    // Shown and driven as any run taken over; its answer says whether
                    // its group skipped it.
                    let (taken, answer) = oneshot::channel::<Result<String, Refusal>>();
                    tokio::spawn(async move {
                        if let Ok(r) = answer.await {
                            let _ = reply.send(r.map(|message| Started {
                                message,
                                skipped,
                                run_id,
                            }));
                        }
                    });
                    let _ = back.send(Back::Started {
                        ready: Box::new(made.ready),
                        message,
                        reply: taken,
                        params: given,
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(refusal(&e)));
                }
            }
        });
    }

    /// What changed between runs `a` and `b`, read off the service's thread.
    pub(super) fn diff_runs(
        &self,
        a: String,
        b: String,
        reply: oneshot::Sender<Result<RunsDiff, Refusal>>,
    ) {
        self.read_off_thread(reply, move |store| {
            let lines = crate::diff::runs(store, &a, &b)?;
            Ok(RunsDiff { a, b, lines })
        });
    }

    /// A run this console started: kept with the params it was given (its secrets are
    /// never stored, and a detach hands them to the background engine), then driven
    /// here as any run taken over.
    pub(super) fn started(
        &mut self,
        ready: Box<Ready>,
        message: String,
        reply: oneshot::Sender<Result<String, Refusal>>,
        params: Vec<(String, String)>,
    ) {
        self.started_with.insert(ready.run_id.clone(), params);
        self.back(Back::TakenOver {
            ready,
            message: Some(message),
            reply: Reply::Resume(reply),
        });
    }
}

/// The run form of the workflow at `file`: read and loaded as `baton run` reads it (a
/// regular file, bounded), or its diagnostics. Each param keeps the workflow's default
/// and, apart, the value its `schedule` (by number) runs it with, where it sets one;
/// the form's labels are the schedule's.
pub(crate) fn form(file: &Path, schedule: Option<u32>) -> Result<RunForm, SessionError> {
    let diagnostics = |d: baton_workflow::Diagnostics| SessionError::Diagnostics(d.to_string());
    let text = baton_workflow::read_source(file).map_err(diagnostics)?;
    let plan = baton_workflow::load_str(&text, file).map_err(diagnostics)?;
    let picked = plan.schedules.iter().find(|s| Some(s.index) == schedule);
    let scheduled: &[(String, String)] = picked.map_or(&[], |s| &s.params);
    let params = plan
        .params
        .iter()
        .map(|p| FormParam {
            input: baton_workflow::input_of_spec(p),
            secret: p.secret,
            scheduled: scheduled
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, v)| v.clone()),
        })
        .collect();
    Ok(RunForm {
        file: file.to_path_buf(),
        workflow: plan.name.clone(),
        schedule,
        params,
        labels: picked.map(|s| s.labels.clone()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_holds_each_param_as_declared_and_a_bad_file_its_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("deploy.toml");
        std::fs::write(
            &good,
            "name = \"deploy\"\n[[schedule]]\ncron = \"0 0 1 1 *\"\nparams = { version = \"2.0\" }\nlabels = { team = \"infra\", kind = \"nightly\" }\n[params.version]\ntype = \"string\"\nrequired = true\npattern = '^\\d+\\.\\d+$'\ndescription = \"what to ship\"\n[params.token]\nsecret = true\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
        )
        .unwrap();
        let f = form(&good, None).unwrap();
        assert_eq!(f.workflow, "deploy");
        let names: Vec<(&str, bool)> = f
            .params
            .iter()
            .map(|p| (p.input.name.as_str(), p.secret))
            .collect();
        assert_eq!(names, [("version", false), ("token", true)]);
        let v = &f.params[0].input;
        assert_eq!(v.pattern.as_deref(), Some("^\\d+\\.\\d+$"));
        assert_eq!(v.description.as_deref(), Some("what to ship"));
        assert!(v.required);
        assert_eq!(v.default, None);
        // The schedule's form starts from the values the schedule runs with, said as
        // the schedule's, not as the workflow's default (it has none).
        let f = form(&good, Some(1)).unwrap();
        assert_eq!(f.params[0].scheduled.as_deref(), Some("2.0"));
        assert_eq!(f.params[0].input.default, None);
        // And from the labels it starts its runs with; a form of no schedule has none.
        assert_eq!(
            baton_model::labels::text(&f.labels),
            "kind=nightly team=infra"
        );
        assert!(form(&good, None).unwrap().labels.is_empty());
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "name = \"bad\"\n[[step]]\nid = \"a\"\n").unwrap();
        match form(&bad, None) {
            Err(SessionError::Diagnostics(d)) => assert!(d.contains("bad.toml:"), "{d}"),
            other => panic!("expected diagnostics, got {:?}", other.map(|f| f.workflow)),
        }
    }
}
