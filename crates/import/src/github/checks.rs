//! What GitHub refuses before a run, refused here too (exit 2 at the line): a job id
//! GitHub does not take, a step with neither `run` nor `uses` or with both. nektos/act
//! refuses the same files (its `TestPlanner` and `TestJobExecutor`).
use super::bad;
use crate::Invalid;
use crate::yaml::{Node, Value};

/// GitHub's rule for a job id: a letter or `_`, then letters, digits, `-` and `_`.
fn job_id_ok(id: &str) -> bool {
    let mut ch = id.chars();
    ch.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && ch.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Every job's id and every step's shape, as GitHub checks them.
pub(super) fn jobs(jobs: &[(String, usize, Node)]) -> Result<(), Invalid> {
    for (id, line, job) in jobs {
        if !job_id_ok(id) {
            return Err(bad(
                *line,
                format!("job id `{id}` is not one GitHub takes"),
                "a job id starts with a letter or `_` and holds only letters, digits, `-` and `_`: rename it (and the `needs` naming it)",
            ));
        }
        for (n, s) in job
            .get("steps")
            .and_then(Node::seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            step(id, n + 1, s)?;
        }
    }
    Ok(())
}

fn step(job: &str, n: usize, s: &Node) -> Result<(), Invalid> {
    let (run, uses) = match &s.v {
        Value::Map(_) => (s.get("run").is_some(), s.get("uses").is_some()),
        _ => (false, false),
    };
    match (run, uses) {
        (true, true) => Err(bad(
            s.key_line("uses").unwrap_or(s.line),
            format!("step {n} of job `{job}` has both `run` and `uses`"),
            "GitHub refuses it too: split it into two steps",
        )),
        (false, false) => Err(bad(
            s.line,
            format!("step {n} of job `{job}` has neither `run` nor `uses`"),
            "GitHub refuses it too: give the step a `run:` or a `uses:`, or remove it",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Kind, import};

    fn refused(y: &str) -> (usize, String) {
        match import(Kind::Github, "w.yml", y) {
            Ok(i) => panic!("imported:\n{}", i.toml),
            Err(e) => (e.line, e.message),
        }
    }

    /// nektos/act's pkg/model/testdata/invalid-job-name (at commit
    /// bd86152165b976e89c24093ceb039d732b5ed95f): `invalid-JOB-Name-v1.2.3-docker_hub`
    /// and `1234invalid-…` refused, `___valid-…` taken.
    #[test]
    fn job_ids_github_refuses_are_refused() {
        let (l, e) = refused(
            "on: push\njobs:\n  invalid-JOB-Name-v1.2.3-docker_hub:\n    steps: [{run: echo hi}]\n",
        );
        assert_eq!(l, 3, "{e}");
        assert!(
            e.contains("job id `invalid-JOB-Name-v1.2.3-docker_hub`"),
            "{e}"
        );
        let (l, _) = refused(
            "on: push\njobs:\n  ok: {steps: [{run: a}]}\n  1234x:\n    steps: [{run: a}]\n",
        );
        assert_eq!(l, 4);
        assert!(
            import(
                Kind::Github,
                "w.yml",
                "on: push\njobs:\n  ___v-1_X:\n    steps: [{run: a}]\n"
            )
            .is_ok()
        );
    }

    /// act's uses-and-run-in-one-step and job-nil-step.
    #[test]
    fn a_step_with_both_or_neither_of_run_and_uses_is_refused() {
        let (l, e) = refused(
            "on: push\njobs:\n  test:\n    steps:\n      - name: Test\n        run: echo\n        uses: actions/checkout@v2\n",
        );
        assert_eq!(l, 7, "{e}");
        assert!(e.contains("both `run` and `uses`"), "{e}");
        let (l, e) = refused("on: push\njobs:\n  test:\n    steps:\n    -\n    - run: exit 0\n");
        assert_eq!(l, 5, "{e}");
        assert!(e.contains("step 1 of job `test` has neither"), "{e}");
    }
}
