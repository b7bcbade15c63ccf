//! Issue 60 on batch jobs (a private Grid Engine cell, tests/sge/cell.sh, through the
//! generic `batch` executor) and on Slurm (tests/slurm/cluster.sh): a job's artifact is
//! read from its working directory and a reader's job is handed it in its own working
//! directory (`.baton-artifacts/SHA/FILE`), on the filesystem the nodes share with this
//! machine, removed once that job ended. Skipped, with the reason printed, where the
//! cell or the cluster cannot run.
use super::batch::sge;
use crate::helpers::*;

fn sha256_of(path: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        std::fs::read(path).expect("the file to hash"),
    ))
}

/// `definition`: an `[executors.NAME]` table left open (the test adds its `workdir`);
/// `vars`: the scheduler's environment for baton.
fn flows(definition: &str, name: &str, vars: &[(String, String)]) {
    let env = Env::new();
    let wf = env.workflow(
        "wf.toml",
        &format!(
            r#"name = "batch-artifacts"
{definition}workdir = "{}"

[[step]]
id = "train"
executor = "{name}"
run = "mkdir -p out && head -c 1048576 /dev/urandom > out/m.ckpt"
artifacts = {{ model = "out/*.ckpt" }}

[[step]]
id = "eval"
executor = "{name}"
needs = ["train"]
env = {{ MODEL = "${{{{ steps.train.artifacts.model }}}}" }}
run = 'sha256sum "$MODEL" | cut -d" " -f1 > got && echo "$MODEL" > where'
"#,
            env.path().join("jobs").display()
        ),
    );
    let out = env
        .cmd()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(["run", wf.to_str().expect("UTF-8"), "--headless"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let made = sha256_of(&env.path().join("out/m.ckpt"));
    let got = std::fs::read_to_string(env.path().join("got")).expect("eval's digest");
    assert_eq!(got.trim(), made, "eval read the file train made");
    let place = std::fs::read_to_string(env.path().join("where")).expect("eval's path");
    assert_eq!(place.trim(), format!(".baton-artifacts/{made}/m.ckpt"));
    let run = run_id_of(&text(&out.stdout));
    let a = step(&env.show(&run), "train")["artifacts"].clone();
    assert_eq!(a[0]["sha256"], made.as_str(), "{a:#}");
    // The reader's job ended: its copy is gone.
    assert!(
        !env.path().join(".baton-artifacts").exists(),
        "the handed copy is left"
    );
}

#[test]
fn a_jobs_artifact_is_handed_to_a_job_in_its_working_directory() {
    let Some(s) = sge() else { return };
    flows(&s.definition, "grid", &s.vars);
}

#[test]
fn a_slurm_jobs_artifact_is_handed_to_a_job_in_its_working_directory() {
    if !super::slurm::cluster() {
        return;
    }
    flows(
        "\n[executors.cluster]\ntype = \"slurm\"\npoll = \"1s\"\n",
        "cluster",
        &[],
    );
}
