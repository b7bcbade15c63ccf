//! Issue 77 point 3: the newest hands on a run, with real processes. `release` runs in
//! the concurrency group `chaos-release` with a secret param and two `[secrets]` read
//! from a file and from a command (a password store's `show`); its step `deploy` runs
//! `release-child.toml`, handed the secret param in a value made from it. Child engines
//! are a signal target of their own (`Target::ChildEngine`): a `kill -9` of one alone
//! fails the parent's step while the child's `ship` runs on, which the parent's engine
//! must stop before its group goes to the next run (`retry` then drives the child on).
//! Checked: every child a parent's step took is its own, the group's stamps (the
//! child's among them) never overlap (`checks::at_most_one_active_run_per_group`), and
//! no secret value is in any file of the campaign (store rows, events, audit, logs,
//! the engines' output) nor in the environment of a step that does not name it.
use super::checks::{RunFacts, Verdict};
use super::world::{Campaign, What};
use baton::model::EventKind;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The concurrency group of `release` (and so of its children's steps).
pub(super) const RELEASE_GROUP: &str = "chaos-release";
/// The workflows' names.
pub(super) const RELEASE: &str = "release";
pub(super) const CHILD: &str = "release-child";

/// The release's files, its secrets and what came of them.
pub(super) struct Hands {
    pub release: PathBuf,
    /// The secret param every run of `release` is given (`--param token=…`).
    token: String,
    /// What the `[secrets]` file and command hold.
    file_secret: String,
    command_secret: String,
    /// The secrets' sources: they hold the values by design (left out of the scan).
    sources: PathBuf,
    /// Where `announce` and the child's `ship` write their environments.
    envs: PathBuf,
    /// Where a step that checked a value it was given (by its digest) leaves a mark.
    marks: PathBuf,
    /// Runs of `release` submitted, resumes given the param again, orphaned children
    /// cancelled at the end.
    pub submitted: usize,
    pub resumed: usize,
    pub cancelled: usize,
}

fn hex_sha(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// A step's stamps (`workflows::script`'s format) around `body`.
fn stamped(stamps: &Path, body: &str) -> String {
    format!(
        r#"f="{}/$BATON_RUN_ID.$BATON_STEP_ID.$BATON_ATTEMPT.$$"
echo "start $(date +%s%N) local" >> "$f"
trap 'echo "end $(date +%s%N) signal" >> "$f"; exit 143' TERM HUP INT
{body}
echo "end $(date +%s%N) exit" >> "$f""#,
        stamps.display()
    )
}

/// `touch MARKS/RUN.WHAT` when `$VAR`'s digest is `sha` (the value is never written).
fn mark_if(marks: &Path, var: &str, sha: &str, what: &str) -> String {
    format!(
        r#"[ "$(printf '%s' "${var}" | sha256sum | cut -c1-64)" = "{sha}" ] && touch "{}/$BATON_RUN_ID.{what}""#,
        marks.display()
    )
}

impl Hands {
    /// The workflows and the secrets' sources in `dir`, the steps stamping in `stamps`.
    pub(super) fn new(dir: &Path, stamps: &Path) -> Hands {
        let mk = |name: &str| {
            let p = dir.join(name);
            std::fs::create_dir_all(&p).expect("a directory of the campaign");
            p
        };
        let (sources, envs, marks) = (mk("secret-sources"), mk("envs"), mk("marks"));
        let fresh = |what: &str| format!("{what}-{:016x}", rand::random::<u64>());
        let h = Hands {
            release: dir.join("release.toml"),
            token: fresh("tok"),
            file_secret: fresh("file"),
            command_secret: fresh("cmd"),
            sources,
            envs,
            marks,
            submitted: 0,
            resumed: 0,
            cancelled: 0,
        };
        h.write_sources();
        std::fs::write(dir.join("release-child.toml"), h.child(stamps)).expect("the child");
        std::fs::write(&h.release, h.parent(stamps)).expect("release.toml");
        h
    }

    /// The file source, and the command source: a password store's `show`, the value
    /// on its first line and notes after (`first_line = true`).
    fn write_sources(&self) {
        let file = self.sources.join("file-token");
        std::fs::write(&file, format!("{}\n", self.file_secret)).expect("the file secret");
        let kept = self.sources.join("pass-entry");
        std::fs::write(&kept, &self.command_secret).expect("the command's entry");
        let pass = self.sources.join("fake-pass");
        std::fs::write(
            &pass,
            format!(
                "#!/bin/sh\n# pass show NAME: the secret, then notes.\nprintf '%s\\nlogin: chaos\\n' \"$(cat '{}')\"\n",
                kept.display()
            ),
        )
        .expect("the command source");
        std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o755))
            .expect("make the command source runnable");
    }

    fn parent(&self, stamps: &Path) -> String {
        let prep = stamped(
            stamps,
            &format!(
                "echo \"prep with $FILE_TOKEN and $CMD_TOKEN\"\necho \"prep says $CMD_TOKEN\" >&2\necho \"seen=$FILE_TOKEN\" >> \"$BATON_OUTPUT\"\n{}\n{}\nsleep 0.3 & wait $!",
                mark_if(
                    &self.marks,
                    "FILE_TOKEN",
                    &hex_sha(&self.file_secret),
                    "file"
                ),
                mark_if(
                    &self.marks,
                    "CMD_TOKEN",
                    &hex_sha(&self.command_secret),
                    "cmd"
                ),
            ),
        );
        let announce = stamped(
            stamps,
            &format!(
                "env > \"{}/$BATON_RUN_ID.announce.$BATON_ATTEMPT.$$\"\necho \"announced with $BATON_PARAM_TOKEN\"",
                self.envs.display()
            ),
        );
        format!(
            r#"name = "{RELEASE}"
concurrency = {{ group = "{RELEASE_GROUP}", on_conflict = "queue", max_pending = 2 }}

[params]
token = {{ secret = true, required = true }}

[secrets]
FILE_TOKEN = {{ file = "{file}" }}
CMD_TOKEN = {{ command = ["{pass}", "show", "chaos/release"], first_line = true }}

[[step]]
id = "prep"
secrets = ["FILE_TOKEN", "CMD_TOKEN"]
run = '''
{prep}
'''

[[step]]
id = "deploy"
needs = ["prep"]
workflow = "{CHILD}.toml"
params = {{ tok = "Bearer ${{{{ params.token }}}}" }}
retry = {{ attempts = 2, delay = "1s" }}

[[step]]
id = "announce"
needs = ["deploy"]
run = '''
{announce}
'''
"#,
            file = self.sources.join("file-token").display(),
            pass = self.sources.join("fake-pass").display(),
        )
    }

    fn child(&self, stamps: &Path) -> String {
        let ship = stamped(
            stamps,
            &format!(
                "env > \"{}/$BATON_RUN_ID.ship.$BATON_ATTEMPT.$$\"\n{}\necho \"shipping with $TOK\"\necho \"auth: $TOK\" >&2\necho \"receipt=sent $TOK\" >> \"$BATON_OUTPUT\"\nsleep 1.5 & wait $!",
                self.envs.display(),
                mark_if(
                    &self.marks,
                    "TOK",
                    &hex_sha(&format!("Bearer {}", self.token)),
                    "tok"
                ),
            ),
        );
        format!(
            r#"name = "{CHILD}"

[params]
tok = {{ required = true, secret = true }}

[[step]]
id = "ship"
env = {{ TOK = "${{{{ params.tok }}}}" }}
run = '''
{ship}
'''
"#
        )
    }

    /// The params a run of `workflow` is given again (`resume`, `cancel`): secret
    /// params are never stored.
    pub(super) fn params_for(&self, workflow: &str) -> Vec<String> {
        match workflow {
            RELEASE => vec!["--param".into(), format!("token={}", self.token)],
            CHILD => vec!["--param".into(), format!("tok=Bearer {}", self.token)],
            _ => Vec::new(),
        }
    }

    /// `baton run release.toml --headless --param token=…`'s arguments.
    pub(super) fn run_args(&self) -> Vec<String> {
        let mut a = vec![
            "run".into(),
            self.release.to_string_lossy().into_owned(),
            "--headless".into(),
        ];
        a.extend(self.params_for(RELEASE));
        a
    }

    /// Every value that must stay a secret.
    fn secrets(&self) -> [&str; 3] {
        [&self.token, &self.file_secret, &self.command_secret]
    }
}

impl Campaign {
    /// At the end: a child run left interrupted once its parent ended (its engine
    /// killed with the parent's last attempt) is cancelled, given its param again.
    /// A child is never resumed by hand here: its steps would run outside its
    /// parent's group.
    pub(super) fn cancel_orphans(&mut self) {
        let runs = self.rows(&["runs", "--json"]);
        let ended: BTreeSet<&str> = runs
            .iter()
            .filter(|r| super::acts::final_state(&r["state"]))
            .filter_map(|r| r["id"].as_str())
            .collect();
        let facts = super::facts::gather(&self.env.db());
        let parent_of: BTreeMap<&str, String> = facts
            .iter()
            .filter_map(|r| Some((r.id.as_str(), started_parent(r)?.0)))
            .collect();
        let orphans: Vec<String> = runs
            .iter()
            .filter(|r| r["workflow"] == CHILD && r["state"] == "interrupted")
            .filter_map(|r| r["id"].as_str())
            .filter(|id| {
                parent_of
                    .get(id)
                    .is_some_and(|p| ended.contains(p.as_str()))
            })
            .map(String::from)
            .collect();
        for id in orphans {
            if self.kids.iter().any(|k| k.what == What::Resume(id.clone())) {
                continue;
            }
            self.hands.cancelled += 1;
            let mut args = vec![
                "cancel".to_string(),
                id.clone(),
                "--reason".into(),
                "chaos: its parent ended".into(),
            ];
            args.extend(self.hands.params_for(CHILD));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.spawn(&args, What::Resume(id));
        }
    }
}

/// The parent a run's `run_started` names: (run, step).
fn started_parent(r: &RunFacts) -> Option<(String, String)> {
    r.events.iter().find_map(|e| match &e.kind {
        EventKind::RunStarted {
            parent: Some(p), ..
        } => Some((p.run.clone(), p.step.clone())),
        _ => None,
    })
}

/// docs/workflow/child-workflows.md: "A step takes only a child its own engine made
/// for that attempt": every child a `deploy` of `release` names in its outputs
/// (`child_run`) is a run whose `run_started` names that run and step, no child is
/// taken by two parents, and every child names a parent that is a run of `release`.
pub(super) fn a_child_step_takes_only_its_own_child(runs: &[RunFacts], h: &Hands) -> Verdict {
    let mut v = Verdict::new(
        "a_child_step_takes_only_its_own_child",
        "docs/workflow/child-workflows.md: \"A step takes only a child its own engine made for that attempt\"",
    );
    let by_id: BTreeMap<&str, &RunFacts> = runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut takers: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let children: Vec<&RunFacts> = runs.iter().filter(|r| r.workflow == CHILD).collect();
    for c in &children {
        match started_parent(c) {
            None => v.broken.push(format!("child run {} names no parent", c.id)),
            Some((p, step)) => {
                let parent_ok = by_id.get(p.as_str()).is_some_and(|r| r.workflow == RELEASE);
                if !parent_ok || step != "deploy" {
                    v.broken.push(format!(
                        "child run {} names {p}/{step}, which is no `deploy` of a `release` run",
                        c.id
                    ));
                }
            }
        }
    }
    let mut taken = 0;
    for r in runs.iter().filter(|r| r.workflow == RELEASE) {
        for e in &r.events {
            let EventKind::StepFinished { step, outputs, .. } = &e.kind else {
                continue;
            };
            let Some(kid) = outputs.get("child_run").filter(|_| step == "deploy") else {
                continue;
            };
            taken += 1;
            takers.entry(kid.clone()).or_default().insert(&r.id);
            let named = by_id.get(kid.as_str()).and_then(|c| started_parent(c));
            if named
                .as_ref()
                .is_none_or(|(p, s)| *p != r.id || s != "deploy")
            {
                v.broken.push(format!(
                    "{}/deploy took run {kid} as its child, whose run_started names {named:?}",
                    r.id
                ));
            }
        }
    }
    for (kid, parents) in takers.iter().filter(|(_, p)| p.len() > 1) {
        v.broken
            .push(format!("child run {kid} was taken by {parents:?}"));
    }
    if h.submitted >= 3 && children.is_empty() {
        v.broken.push(format!(
            "{} runs of release submitted and no child run made",
            h.submitted
        ));
    }
    v.checked = format!(
        "{} child runs, {taken} ends of `deploy` naming one, {} releases submitted ({} resumed with the param, {} orphaned children cancelled)",
        children.len(),
        h.submitted,
        h.resumed,
        h.cancelled
    );
    v
}

/// Every regular file under `dir` but `skip`, with the secret each holds.
fn holding(
    dir: &Path,
    skip: &[&Path],
    needles: &[&str],
    found: &mut Vec<String>,
    files: &mut usize,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if skip.contains(&p.as_path()) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            holding(&p, skip, needles, found, files);
        } else if meta.is_file() {
            *files += 1;
            let bytes = std::fs::read(&p).unwrap_or_default();
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    found.push(format!("{} holds {n}", p.display()));
                }
            }
        }
    }
}

/// docs/workflow-format.md, "Secrets": "A value read is masked as `***` from then on,
/// in the step's log and in everything the run records […] never in the store", and
/// "A secret reaches only the steps that name it"; child-workflows.md: a secret
/// handed to a child "is a secret in the child". No file of the campaign (the
/// store's rows, events and audit, every step's log, the engines' output, the team's
/// store) holds the secret param or a `[secrets]` value, the sources themselves and
/// the steps' dumped environments aside; those environments (of `announce` and the
/// child's `ship`, which name no `[secrets]` entry) hold neither `[secrets]` value.
/// The steps' marks show the values did reach the steps that name them.
pub(super) fn no_secret_leaves_its_steps(root: &Path, h: &Hands) -> Verdict {
    let mut v = Verdict::new(
        "no_secret_leaves_its_steps",
        "docs/workflow-format.md, \"Secrets\": a value read is masked in everything the run records, never in the store, and reaches only the steps that name it",
    );
    let (mut found, mut files) = (Vec::new(), 0);
    let skip = [h.sources.as_path(), h.envs.as_path()];
    holding(root, &skip, &h.secrets(), &mut found, &mut files);
    v.broken.extend(found);
    let (mut leaked, mut envs) = (Vec::new(), 0);
    holding(
        &h.envs,
        &[],
        &[&h.file_secret, &h.command_secret],
        &mut leaked,
        &mut envs,
    );
    v.broken.extend(
        leaked
            .into_iter()
            .map(|l| format!("a step that names no `[secrets]` entry had it: {l}")),
    );
    let marks = |what: &str| {
        std::fs::read_dir(&h.marks)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(what))
                    .count()
            })
            .unwrap_or(0)
    };
    let (file, cmd, tok) = (marks(".file"), marks(".cmd"), marks(".tok"));
    v.checked = format!(
        "{files} files, {envs} steps' environments; the values reached {file} `prep`s (file), {cmd} (command), {tok} children's `ship`s (param)"
    );
    v
}

/// Whether a run of `workflow` is left to its parent (never resumed by hand).
pub(super) fn driven_by_parent(workflow: &str) -> bool {
    workflow == CHILD
}
